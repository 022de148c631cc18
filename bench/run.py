"""Wire-level benchmark: a separate client process drives `python -m paperlens serve` over stdio.

    .venv/bin/python bench/run.py --sizes 10000[,100000,1000000] [--peer]

Measures start to first answer (cold and warm), completion / hover / related-action latency, re-scan after an
edit, the null-request floor, peak RSS, build throughput and on-disk sizes; with --peer, bibli-ls on the same
papers as a .bib. Writes bench/results/<date>-<size>.md and prints the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from gen_corpus import ensure_corpus  # noqa: E402

RELATED_KIND = "refactor.rewrite.paperlens.related"
DEBOUNCE = 0.2  # the server's diagnostics debounce, subtracted from edit -> diagnostics
GOALS: dict[int, dict[str, float]] = {
    10_000: {"completion_p99": 5, "first_completion": 0.3, "hover_p99": 2, "related_p99": 10, "warm_start": 0.3,
             "rss_mb": 120},
    100_000: {"completion_p99": 10, "hover_p99": 3, "related_p99": 20, "warm_start": 0.5, "rss_mb": 250},
    1_000_000: {"completion_p99": 20, "hover_p99": 5, "related_p99": 50, "warm_start": 2, "rss_mb": 1024},
}


# ------------------------------------------------------------------ a tiny JSON-RPC client


class Client:
    """LSP over a child's stdio; a reader thread stamps each message with its arrival time."""

    def __init__(self, cmd: list[str], cwd: Path, log: Path, tree: bool = True) -> None:
        self._log = log.open("wb")
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._id = 0
        self._pending: dict[int, queue.Queue[tuple[float, dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self.notes: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        # The index may be built in worker processes: their memory counts too (summed over the process tree).
        # `tree` False: not sampled (a walk over /proc every 0.25 s holds this process's GIL in Python for a few
        # ms, and a response read meanwhile is stamped late: a client-side delay in the latency figures).
        self.tree_peak_kb = 0
        if tree:
            threading.Thread(target=self._sample_tree, daemon=True).start()

    def _sample_tree(self) -> None:
        while self.proc.poll() is None:
            self.tree_peak_kb = max(self.tree_peak_kb, tree_rss_kb(self.proc.pid))
            time.sleep(0.25)

    def _write(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = -1
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                k, _, v = line.partition(b":")
                if k.lower() == b"content-length":
                    length = int(v)
            body = out.read(length)
            now = time.perf_counter()
            msg = json.loads(body)
            if "id" in msg and "method" in msg:  # a request from the server: answer it plainly
                result: Any = [None] * len(msg.get("params", {}).get("items", [])) \
                    if msg["method"] == "workspace/configuration" else None
                self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif "id" in msg:
                with self._lock:
                    q = self._pending.pop(msg["id"], None)
                if q is not None:
                    q.put((now, msg))
            else:
                self.notes.put((now, msg))

    def request(self, method: str, params: Any, timeout: float = 7200) -> tuple[Any, float]:
        """Result and round trip in seconds."""
        with self._lock:
            self._id += 1
            rid = self._id
            q: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
            self._pending[rid] = q
        t0 = time.perf_counter()
        self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        t1, msg = q.get(timeout=timeout)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg.get("result"), t1 - t0

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_note(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 120) -> float:
        """Arrival time of the first notification matching pred."""
        end = time.perf_counter() + timeout
        while True:
            t, msg = self.notes.get(timeout=max(0.01, end - time.perf_counter()))
            if pred(msg):
                return t

    def drain(self) -> None:
        while True:
            try:
                self.notes.get_nowait()
            except queue.Empty:
                return

    def rss_peak_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def rss_split_mb(self) -> dict[str, float]:
        """RssAnon / RssFile now: the server's own memory apart from the index pages it has memory-mapped and
        read (file-backed: the kernel drops them under pressure and reads them again)."""
        out: dict[str, float] = {}
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                k, _, v = line.partition(":")
                if k in ("RssAnon", "RssFile", "RssShmem"):
                    out[k] = int(v.split()[0]) / 1024
        except OSError:
            pass
        return out

    def wait_idle(self, quiet: float = 0.15, timeout: float = 60) -> float:
        """Seconds from spawn until the process has started (imports done) and waits for input: its CPU time
        stops growing. Lets `initialize` be timed as a request, apart from process start."""
        def cpu() -> tuple[int, bool]:
            """(CPU time in clock ticks, every thread asleep): a process waiting for a core is not idle."""
            total, asleep = 0, True
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                f = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(f[11]) + int(f[12])  # utime + stime
                asleep = asleep and f[0] == "S"
            return total, asleep
        try:
            last, since = cpu()[0], time.perf_counter()
            while time.perf_counter() - self.t_spawn < timeout:
                time.sleep(0.01)
                now, asleep = cpu()
                if now != last or not asleep:
                    last, since = now, time.perf_counter()
                elif time.perf_counter() - since >= quiet:
                    return since - self.t_spawn
        except (OSError, IndexError, ValueError):
            pass
        return float("nan")

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def tree_rss_kb(root: int) -> int:
    """VmRSS summed over a process and its descendants (Linux /proc; 0 elsewhere)."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def initialize(c: Client, root: Path, options: dict[str, Any] | None) -> float:
    caps = {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                             "completion": {"completionItem": {"snippetSupport": False}}},
            "general": {"positionEncodings": ["utf-16"]}}
    _, dt_ = c.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "rootPath": str(root),
                                      "capabilities": caps, "initializationOptions": options,
                                      "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}]})
    c.notify("initialized", {})
    return dt_


def did_open(c: Client, uri: str, lang: str, text: str, version: int = 1) -> None:
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": lang, "version": version,
                                                       "text": text}})


def pos(line: int, ch: int) -> dict[str, int]:
    return {"line": line, "character": ch}


# ------------------------------------------------------------------ workload


@dataclass
class Workload:
    """Documents and the positions to query in them, derived from the corpus' truth sample."""

    cites_text: str = ""
    cite_points: list[tuple[str, int, int]] = field(default_factory=list)  # (class, line, col)
    md_cites_text: str = ""
    md_cite_points: list[tuple[str, int, int]] = field(default_factory=list)
    mentions_text: str = ""
    mention_points: list[tuple[int, int, int]] = field(default_factory=list)  # (line, start, end)
    blank_line: int = 0
    peer_keys: list[str] = field(default_factory=list)


def _typo(rng: random.Random, s: str) -> str:
    i = rng.randrange(1, len(s) - 1)
    op = rng.randrange(3)
    if op == 0:
        return s[:i] + s[i + 1:]
    if op == 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + rng.choice("aeioustrn") + s[i + 1:]


def make_workload(truth: list[dict[str, Any]], seed: int = 7) -> Workload:
    rng = random.Random(seed)
    methods = [t["method"] for t in truth if t["method"] and len(t["method"]) >= 5]
    titles = [t["title"] for t in truth]
    lasts = [a.split()[-1] for t in truth for a in t["authors"]]
    keys = [t["bib_key"] for t in truth]
    prefixes: list[tuple[str, str]] = [("empty", "")] * 20
    for _ in range(60):
        src = rng.choice([rng.choice(keys), rng.choice(methods).lower(), rng.choice(lasts).lower()])
        prefixes.append(("short", src[: rng.randint(1, 3)]))
    for _ in range(40):
        prefixes.append(("typo", _typo(rng, rng.choice(methods))))
    for _ in range(40):
        ws = [w.strip(":").lower() for w in rng.choice(titles).split() if len(w.strip(":")) >= 4 and w.isascii()]
        w = rng.choice(ws) if ws else "learning"
        prefixes.append(("title", w if rng.random() < 0.6 else w[: max(3, len(w) - 3)]))
    for _ in range(40):
        ln = rng.choice(lasts)
        prefixes.append(("author", ln if rng.random() < 0.5 else ln[: max(3, len(ln) - 2)].lower()))
    w = Workload()
    lines: list[str] = []
    md: list[str] = []
    for cls, p in prefixes:
        head = "Prior work on this question~\\cite{"
        w.cite_points.append((cls, len(lines), len(head) + len(p)))
        lines += [head + p + "} shows the effect.", ""]
        mhead = "Prior work on this question [@"
        w.md_cite_points.append((cls, len(md), len(mhead) + len(p)))
        md += [mhead + p + "] shows the effect.", ""]
    w.cites_text = "\n".join(lines)
    w.md_cites_text = "\n".join(md)
    ml: list[str] = []
    for m in rng.sample(methods, min(100, len(methods))):
        head = "We compare against "
        w.mention_points.append((len(ml), len(head), len(head) + len(m)))
        ml += [head + m + " on the standard benchmark.", ""]
    w.blank_line = len(ml) - 1
    ml.append("")
    w.mentions_text = "\n".join(ml)
    w.peer_keys = keys[:200]
    return w


def big_doc(truth: list[dict[str, Any]], size: int, seed: int = 11) -> str:
    """A LaTeX document of about `size` bytes: prose with method mentions and citations."""
    rng = random.Random(seed)
    methods = [t["method"] for t in truth if t["method"]]
    keys = [t["bib_key"] for t in truth]
    filler = ("the results suggest that a careful choice of the objective matters more than scale and that "
              "training for longer helps only when the data is diverse enough to support it").split()
    out: list[str] = []
    n = 0
    while n < size:
        words = rng.sample(filler, 12)
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words)), rng.choice(methods))
        if rng.random() < 0.3:
            words.append(f"\\cite{{{rng.choice(keys)}}}")
        line = " ".join(words) + "."
        out.append(line)
        n += len(line) + 1
        if rng.random() < 0.2:
            out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------ measuring


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def ms(x: float) -> str:
    return "n/a" if x != x else (f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s")


def server_cmd() -> list[str]:
    return [sys.executable, "-m", "paperlens", "serve"]


def import_floor() -> float:
    """Best of 3: a fresh interpreter importing pygls' server (and with it lsprotocol's ~1000 attrs classes)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pygls.lsp.server"], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def cpu_speed(samples: int = 40) -> float:
    """Median seconds of a fixed pure-Python loop, each run 5 ms apart: how fast this machine runs Python right
    now. On a shared host the same loop takes ~0.45 ms when it is quiet and up to ~0.85 ms when it is not, and
    every latency and build time here moves with it; each report gives it, to read its figures by."""
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        x = 0
        for i in range(20_000):
            x += i
        times.append(time.perf_counter() - t0)
        time.sleep(0.005)
    return sorted(times)[len(times) // 2]


def settle(before: float, limit: float) -> tuple[float, float]:
    """Wait (up to `limit` seconds) until the machine runs Python within 15% of its speed `before` the run:
    after a cold build's minutes on both cores this shared host slows the machine to ~55% for a few minutes,
    and a warm session then measures the host, not the server. (seconds waited, speed at the end)"""
    t0 = time.perf_counter()
    now = cpu_speed()
    while now > 1.15 * before and time.perf_counter() - t0 < limit:
        time.sleep(15)
        now = cpu_speed()
    return time.perf_counter() - t0, now


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def session(corpus: Path, cache: Path, ws: Path, wl: Workload, *, full: bool, uncited: bool = False,
            papers: int = 0) -> dict[str, Any]:
    """One server process: start to first completion, then (when full) every latency measurement.
    Cold (not full): the index of a large feed is built in a child process, so the session waits for the status
    that says the server answers from it (`papers` of them) before it asks for the first completion."""
    r: dict[str, Any] = {}
    opts = {"feeds": [str(corpus / "daily_papers.json")], "cacheDir": str(cache), "offline": True,
            "diagnostics": {"uncitedMention": "hint" if uncited else "off"}}
    c = Client(server_cmd(), ws, ws / f"server-{'full' if full else 'cold'}.log")
    try:
        r["initialize"] = initialize(c, ws, opts)
        if not full:
            def built(m: dict[str, Any]) -> bool:
                p = m.get("params") or {}
                return (m.get("method") == "paperlens/status" and p.get("state") == "idle"
                        and p.get("papers", 0) >= papers)
            r["built"] = c.wait_note(built, timeout=7200) - c.t_spawn
        uri = (ws / "cites.tex").as_uri()
        did_open(c, uri, "latex", wl.cites_text)
        _, line, col = wl.cite_points[0]
        res, _ = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(line, col)})
        r["first_completion"] = time.perf_counter() - c.t_spawn
        r["first_items"] = len(res["items"]) if res else 0
        if not full:
            r["rss_mb"] = c.rss_peak_mb()
            r["tree_mb"] = c.tree_peak_kb / 1024
            return r
        muri = (ws / "mentions.md").as_uri()
        did_open(c, muri, "markdown", wl.mentions_text)
        # warm-up: every request kind a few times
        for _cls, line, col in wl.cite_points[::20]:
            c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(line, col)})
        for line, s, e in wl.mention_points[:10]:
            c.request("textDocument/hover", {"textDocument": {"uri": muri}, "position": pos(line, (s + e) // 2)})
            c.request("textDocument/codeAction", {"textDocument": {"uri": muri},
                                                  "range": {"start": pos(line, s), "end": pos(line, s)},
                                                  "context": {"diagnostics": []}})
        floor = []
        for _ in range(200):
            _, d = c.request("textDocument/hover", {"textDocument": {"uri": muri}, "position": pos(wl.blank_line, 0)})
            floor.append(d)
        r["floor"] = floor
        comp: dict[str, list[float]] = {}
        items = 0
        for cls, line, col in wl.cite_points:
            res, d = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(line, col)})
            comp.setdefault(cls, []).append(d)
            items += bool(res and res["items"])
        r["completion"] = comp
        r["completion_nonempty"] = items / len(wl.cite_points)
        hov, rel, hits, nrel = [], [], 0, 0
        for line, s, e in wl.mention_points:
            res, d = c.request("textDocument/hover", {"textDocument": {"uri": muri},
                                                      "position": pos(line, (s + e) // 2)})
            hov.append(d)
            hits += res is not None
        for line, s, _e in wl.mention_points:
            res, d = c.request("textDocument/codeAction", {"textDocument": {"uri": muri},
                                                         "range": {"start": pos(line, s), "end": pos(line, s)},
                                                         "context": {"diagnostics": []}})
            rel.append(d)
            nrel += sum(1 for a in res or [] if a.get("kind") == RELATED_KIND)
        r["hover"], r["hover_hits"] = hov, hits / max(1, len(wl.mention_points))
        r["related"], r["related_per"] = rel, nrel / max(1, len(wl.mention_points))
        r["rss_mb"] = c.rss_peak_mb()
        r["rss_split"] = c.rss_split_mb()
        return r
    finally:
        c.close()


def rescan_session(corpus: Path, cache: Path, ws: Path, truth: list[dict[str, Any]]) -> dict[str, Any]:
    """Edit a 100 KB and a 1 MB LaTeX document; time edit -> diagnostics and edit -> documentLink."""
    r: dict[str, Any] = {}
    opts = {"feeds": [str(corpus / "daily_papers.json")], "cacheDir": str(cache), "offline": True,
            "diagnostics": {"uncitedMention": "hint"}}
    c = Client(server_cmd(), ws, ws / "server-rescan.log")
    try:
        initialize(c, ws, opts)
        for label, size in (("100KB", 100_000), ("1MB", 1_000_000)):
            text = big_doc(truth, size)
            lines = text.split("\n")
            uri = (ws / f"big-{label}.tex").as_uri()
            c.drain()
            t0 = time.perf_counter()
            did_open(c, uri, "latex", text)
            t1 = c.wait_note(lambda m, u=uri: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == u)
            r[f"open_{label}"] = t1 - t0
            c.request("textDocument/documentLink", {"textDocument": {"uri": uri}})
            diag, link = [], []
            rng = random.Random(3)
            for v in range(2, 12):
                ln = rng.randrange(len(lines))
                edit = {"range": {"start": pos(ln, 0), "end": pos(ln, 0)}, "text": "Moreover "}
                c.drain()
                t0 = time.perf_counter()
                c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                                    "contentChanges": [edit]})
                _, d = c.request("textDocument/documentLink", {"textDocument": {"uri": uri}})
                link.append(d)
                t1 = c.wait_note(lambda m, u=uri, vv=v: m.get("method") == "textDocument/publishDiagnostics"
                                 and m["params"]["uri"] == u and m["params"].get("version") == vv)
                diag.append(max(0.0, t1 - t0 - DEBOUNCE))
            r[f"diag_{label}"], r[f"link_{label}"] = diag, link
        r["rss_mb"] = c.rss_peak_mb()
        return r
    finally:
        c.close()


# ------------------------------------------------------------------ the peer: bibli-ls


def peer_python() -> Path | None:
    """A Python 3.12 venv with bibli-ls 0.1.7.2 (made with pyenv's 3.12 on first use), or None."""
    venv = HERE / ".peer-venv"
    py = venv / "bin" / "python"
    if (venv / "bin" / "bibli_ls").exists():
        return py
    cands = sorted((Path.home() / ".pyenv" / "versions").glob("3.12*/bin/python3.12"))
    base = str(cands[-1]) if cands else shutil.which("python3.12")  # the pyenv build, not its shim
    if base is None:
        print("peer: no Python 3.12 (bibli-ls needs >= 3.12)", file=sys.stderr)
        return None
    if subprocess.run([base, "-m", "venv", str(venv)]).returncode != 0:
        print(f"peer: {base} -m venv failed", file=sys.stderr)
        return None
    res = subprocess.run([str(py), "-m", "pip", "install", "-q", "bibli-ls==0.1.7.2"], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"peer: pip install bibli-ls failed: {res.stderr[-2000:]}", file=sys.stderr)
        return None
    return py


def peer_session(corpus: Path, ws: Path, wl: Workload, samples: int) -> dict[str, Any]:
    """bibli-ls on refs.bib: `.bibli.toml` at the root names the .bib; completion is triggered by `@`."""
    py = peer_python()
    if py is None:
        return {"error": "bibli-ls could not be installed (see stderr)"}
    ws.mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus / "refs.bib", ws / "refs.bib")
    (ws / ".bibli.toml").write_text('[backends.bench]\nbackend_type = "bibfile"\nbibfiles = ["refs.bib"]\n\n'
                                    '[cite]\ntrigger = "@"\n')
    r: dict[str, Any] = {}
    c = Client([str(py.parent / "bibli_ls")], ws, ws / "bibli.log")
    try:
        r["initialize"] = initialize(c, ws, None)
        uri = (ws / "cites.md").as_uri()
        did_open(c, uri, "markdown", wl.md_cites_text)
        pts = [(line, col) for _, line, col in wl.md_cite_points if col > len("Prior work on this question [@")]
        line, col = pts[0]
        res, _ = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(line, col)})
        r["first_completion"] = time.perf_counter() - c.t_spawn
        r["first_items"] = len(res["items"]) if res else 0
        for line, col in pts[:3]:
            c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(line, col)})
        comp = []
        for line, col in pts[:samples]:
            _, d = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(line, col)})
            comp.append(d)
        r["completion"] = comp
        # hover on a known key
        keys_doc = "\n".join(f"See [@{k}] here." for k in wl.peer_keys)
        kuri = (ws / "keys.md").as_uri()
        did_open(c, kuri, "markdown", keys_doc)
        hov, hits = [], 0
        for i in range(min(samples, len(wl.peer_keys))):
            res, d = c.request("textDocument/hover", {"textDocument": {"uri": kuri}, "position": pos(i, 8)})
            hov.append(d)
            hits += res is not None
        r["hover"], r["hover_hits"] = hov, hits / max(1, len(hov))
        r["rss_mb"] = c.rss_peak_mb()
        return r
    finally:
        c.close()


def peer_bib_session(bib: Path, ws: Path, keys: list[tuple[str, str]], samples: int) -> dict[str, Any]:
    """bibli-ls on the .bib scenario's file: time from start to the first completion that lists a key, then
    completion and hover latency (its completions are not filtered by prefix: every entry, every time)."""
    py = peer_python()
    if py is None:
        return {"error": "bibli-ls could not be installed (see stderr)"}
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "library.bib").symlink_to(bib)
    (ws / ".bibli.toml").write_text('[backends.bench]\nbackend_type = "bibfile"\nbibfiles = ["library.bib"]\n\n'
                                    '[cite]\ntrigger = "@"\n')
    rng = random.Random(5)
    sample = rng.sample(keys, min(samples, len(keys)))
    doc = "Prior work [@\n" + "\n".join(f"See [@{k}] here." for k, _ in sample) + "\n"
    r: dict[str, Any] = {}
    c = Client([str(py.parent / "bibli_ls")], ws, ws / "bibli.log")
    try:
        r["initialize"] = initialize(c, ws, None)
        uri = (ws / "cites.md").as_uri()
        did_open(c, uri, "markdown", doc)
        items = 0

        def listed() -> bool:
            nonlocal items
            res, _ = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(0, 13)})
            items = len(res["items"]) if isinstance(res, dict) else len(res or [])
            return items > 0

        _until(listed, timeout=900)
        r["first_completion"] = time.perf_counter() - c.t_spawn
        r["first_items"] = items
        comp, hov, hits = [], [], 0
        for _ in range(samples):
            _, d = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos(0, 13)})
            comp.append(d)
        for i in range(len(sample)):
            res, d = c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos(1 + i, 8)})
            hov.append(d)
            hits += res is not None
        r["completion"], r["hover"], r["hover_hits"] = comp, hov, hits / max(1, len(hov))
        r["rss_mb"] = c.rss_peak_mb()
        return r
    finally:
        c.close()


# ------------------------------------------------------------------ report


def status(value: float, goal: float | None) -> str:
    if goal is None or value != value:
        return ""
    return "met" if value <= goal else "**missed**"


def report(n: int, corpus: Path, cold: dict[str, Any] | None, warm: dict[str, Any], rescan: dict[str, Any],
           sizes: dict[str, Any], gen_meta: dict[str, Any], peer: dict[str, Any] | None) -> str:
    g = GOALS.get(n, {})
    comp_all = [x for xs in warm["completion"].values() for x in xs]
    floor_p50 = pct(warm["floor"], 50)
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value: str, goal: str = "", st: str = "") -> None:
        rows.append((name, value, goal, st))

    if cold:
        row("cold (no cache): initialize answered (from the snapshot; the build runs in a child process)",
            ms(cold["initialize"]))
        row("  start → the feed's index built and swapped in (status: N papers)", ms(cold["built"]))
        row("  start → first completion from it", ms(cold["first_completion"]))
    else:
        row("cold build", "not run: the index was reused (`--reuse-cache`)")
    row("start → first completion, warm (persisted index)", ms(warm["first_completion"]),
        f"≤ {g['first_completion']} s" if "first_completion" in g else "",
        status(warm["first_completion"], g.get("first_completion")))
    row("  floor: a fresh Python importing pygls + lsprotocol", ms(sizes["import_floor"] / 1e6))
    if "speed_us" in sizes:
        row("machine speed: a fixed Python loop before the run / the warm session / after it (`cpu_speed`; "
            "~450 µs when the host is quiet)", " / ".join(f"{x} µs" for x in sizes["speed_us"]))
    if sizes.get("settle_s") is not None:
        row("  waited before the warm session for that speed to come back within 15% (`--settle`)",
            f"{sizes['settle_s']} s")
    row("  warm initialize (load index)", ms(warm["initialize"]), f"≤ {g['warm_start']} s" if "warm_start" in g else "",
        status(warm["initialize"], g.get("warm_start")))
    cp99 = pct(comp_all, 99)
    row("completion p50 / p99 (200 prefixes)", f"{ms(pct(comp_all, 50))} / {ms(cp99)}",
        f"p99 ≤ {g['completion_p99']:g} ms" if "completion_p99" in g else "",
        status(cp99 * 1000, g.get("completion_p99")))
    for cls, xs in warm["completion"].items():
        row(f"  {cls} ({len(xs)})", f"{ms(pct(xs, 50))} / {ms(pct(xs, 99))}")
    row("  completions with items", f"{warm['completion_nonempty'] * 100:.0f}%")
    if n == 100_000:
        row("  completion p99 / null floor p50", f"{cp99 / floor_p50:.1f}×", "≤ 3×", status(cp99 / floor_p50, 3))
    hp99 = pct(warm["hover"], 99)
    row("hover p50 / p99 (mentions)", f"{ms(pct(warm['hover'], 50))} / {ms(hp99)}",
        f"p99 ≤ {g['hover_p99']:g} ms" if "hover_p99" in g else "", status(hp99 * 1000, g.get("hover_p99")))
    row("  hovers with a card", f"{warm['hover_hits'] * 100:.0f}%")
    slow = sorted(range(len(warm["hover"])), key=lambda i: warm["hover"][i])[-3:][::-1]
    row("  slowest hovers (mention number: ms)", ", ".join(f"{i}: {ms(warm['hover'][i])}" for i in slow))
    rp99 = pct(warm["related"], 99)
    row("code actions incl. related p50 / p99", f"{ms(pct(warm['related'], 50))} / {ms(rp99)}",
        f"p99 ≤ {g['related_p99']:g} ms" if "related_p99" in g else "", status(rp99 * 1000, g.get("related_p99")))
    row("  related papers per action list", f"{warm['related_per']:.1f}")
    row("null request floor p50 / p99", f"{ms(floor_p50)} / {ms(pct(warm['floor'], 99))}")
    for label in ("100KB", "1MB"):
        row(f"re-scan {label} after an edit: → diagnostics p50 / p99 (debounce excluded)",
            f"{ms(pct(rescan[f'diag_{label}'], 50))} / {ms(pct(rescan[f'diag_{label}'], 99))}")
        row("  → documentLink p50 / p99", f"{ms(pct(rescan[f'link_{label}'], 50))} / "
            f"{ms(pct(rescan[f'link_{label}'], 99))}")
        row(f"  open {label} → first diagnostics", ms(rescan[f"open_{label}"]))
    rss = max(warm["rss_mb"], rescan["rss_mb"])
    row("peak RSS, warm session (VmHWM)", f"{rss:.0f} MB", f"≤ {g['rss_mb']:g} MB" if "rss_mb" in g else "",
        status(rss, g.get("rss_mb")))
    if sp := warm.get("rss_split"):
        row("  RSS after the requests: own memory (RssAnon) / index pages read (RssFile, memory-mapped)",
            f"{sp.get('RssAnon', 0):.0f} MB / {sp.get('RssFile', 0):.0f} MB")
    if cold:
        row("peak RSS of the server's process during the cold build (VmHWM)", f"{cold['rss_mb']:.0f} MB")
        row("  server + build process + its workers (summed RSS, sampled every 0.25 s)", f"{cold['tree_mb']:.0f} MB")
        row("index build throughput (start → built)", f"{n / cold['built']:,.0f} papers/s")
    row("feed JSON / .bib on disk", f"{sizes['json'] / 1e6:.0f} MB / {sizes['bib'] / 1e6:.0f} MB")
    row("index on disk / whole cache dir", f"{sizes['index'] / 1e6:.0f} MB / {sizes['cache'] / 1e6:.0f} MB")
    row("corpus generation", f"{gen_meta.get('seconds', '?')} s")
    if peer is not None:
        if "error" in peer:
            row("bibli-ls 0.1.7.2", peer["error"])
        else:
            pc = peer["completion"]
            row("bibli-ls: start → first completion", ms(peer["first_completion"]))
            row(f"bibli-ls: completion p50 / p99 ({len(pc)} requests, {peer['first_items']:,} items each)",
                f"{ms(pct(pc, 50))} / {ms(pct(pc, 99))}")
            row(f"bibli-ls: hover p50 / p99 ({len(peer['hover'])} keys, {peer['hover_hits'] * 100:.0f}% with a card)",
                f"{ms(pct(peer['hover'], 50))} / {ms(pct(peer['hover'], 99))}")
            row("bibli-ls: peak RSS", f"{peer['rss_mb']:.0f} MB")
            ratio = pct(pc, 50) / pct(comp_all, 50)
            row("completion p50: bibli-ls / PaperLens", f"{ratio:.0f}×", "≥ 50×" if n == 10_000 else "",
                ("met" if ratio >= 50 else "**missed**") if n == 10_000 else "")
    head = (f"## {n:,} papers — {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}\n\n"
            f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}. Corpus: `{corpus.relative_to(ROOT)}` "
            f"(seed {gen_meta.get('seed')}). Latencies are client-side round trips over stdio.\n\n"
            "| metric | value | goal | status |\n|---|---|---|---|\n")
    return head + "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows) + "\n"


def run_size(n: int, peer: bool, peer_samples: int, reuse: Path | None = None, tag: str = "",
             settle_s: float = 0) -> str:
    """reuse: a cache directory kept between runs; when it holds an index already, the cold build is skipped
    and the warm session opens that index (three tail runs after one build)."""
    corpus = ensure_corpus(n)
    gen_meta = json.loads((corpus / "meta.json").read_text())
    truth = json.loads((corpus / "truth.json").read_text())
    wl = make_workload(truth)
    tmp = Path(tempfile.mkdtemp(prefix=f"paperlens-bench-{n}-"))
    try:
        cache, ws = (reuse.resolve() if reuse else tmp / "cache"), tmp / "ws"
        ws.mkdir()
        floor_s = import_floor()
        speed = [cpu_speed()]
        cold: dict[str, Any] | None = None
        if reuse and any(d.is_dir() and ".tmp" not in d.name for d in cache.glob("index-*")):
            print(f"[{n:,}] reusing the index in {cache}", file=sys.stderr, flush=True)
        else:
            print(f"[{n:,}] cold start ...", file=sys.stderr, flush=True)
            cold = session(corpus, cache, ws, wl, full=False, papers=n)
        waited = 0.0
        if settle_s > 0:
            print(f"[{n:,}] waiting for the machine's speed to come back ...", file=sys.stderr, flush=True)
            waited, now = settle(speed[0], settle_s)
            speed.append(now)
        else:
            speed.append(cpu_speed())
        print(f"[{n:,}] warm session ...", file=sys.stderr, flush=True)
        warm = session(corpus, cache, ws, wl, full=True)
        speed.append(cpu_speed())
        print(f"[{n:,}] re-scan ...", file=sys.stderr, flush=True)
        rescan = rescan_session(corpus, cache, ws, truth)
        idx = [d for d in cache.glob("index-*") if d.is_dir()]
        sizes = {"json": du(corpus / "daily_papers.json"), "bib": du(corpus / "refs.bib"),
                 "index": sum(du(d) for d in idx), "cache": du(cache), "import_floor": int(floor_s * 1e6),
                 "speed_us": [int(x * 1e6) for x in speed], "settle_s": int(waited) if settle_s > 0 else None}
        pr = None
        if peer:
            print(f"[{n:,}] peer bibli-ls ...", file=sys.stderr, flush=True)
            pr = peer_session(corpus, tmp / "peer", wl, peer_samples)
        md = report(n, corpus, cold, warm, rescan, sizes, gen_meta, pr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = HERE / "results" / f"{dt.date.today().isoformat()}-{n}{'-' + tag if tag else ''}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(md)
    return md


# ------------------------------------------------------------------ a researcher's own .bib (cryptobib scale)


HOVERS_DURING, HOVERS_AFTER = 200, 300  # hovers on distinct keys of the .bib scenario, while / after loading


def _bib_keys(text: str) -> list[tuple[str, str]]:
    """(key, first title word) of each entry of a generated .bib."""
    out = []
    for m in re.finditer(r'^@InProceedings\{([^,]+),\n(?:.*\n)*?  title = +"([^"]*)"', text, re.M):
        words = [w for w in re.findall(r"[A-Za-z]{5,}", m.group(2))]
        out.append((m.group(1), words[0].lower() if words else ""))
    return out


def _until(fn: Callable[[], bool], timeout: float = 600) -> float:
    """Seconds until fn() holds (polled)."""
    t0 = time.perf_counter()
    while not fn():
        if time.perf_counter() - t0 > timeout:
            return float("nan")
        time.sleep(0.02)
    return time.perf_counter() - t0


def bib_session(bib: Path, cache: Path, ws: Path, keys: list[tuple[str, str]], *, edit: bool) -> dict[str, Any]:
    """The .bib in the workspace: initialize, time until its keys hover and complete, latency while and after it
    loads, peak RSS; with `edit`, the .bib opened and one entry's title changed."""
    rng = random.Random(5)
    sample = rng.sample(keys, 200)  # completion prefixes
    # Hovers on distinct keys, each cited on its own line: HOVERS_DURING while the records are read, then
    # HOVERS_AFTER others (so that a p99 is not simply the slowest of a few samples).
    hover_keys = [k for k, _ in random.Random(6).sample(keys, HOVERS_DURING + HOVERS_AFTER)]
    last_key = keys[-1][0]
    tex = "\\documentclass{article}\n" + "".join(f"See \\cite{{{k}}}.\n" for k in hover_keys) + \
        f"Last \\cite{{{last_key}}}.\nNow \\cite{{\n"
    (ws / "paper.tex").write_text(tex, encoding="utf-8")
    cite_line = tex.count("\n") - 1
    c = Client(server_cmd(), ws, ws / "server.log", tree=False)  # (peak RSS: the server's own VmHWM)
    out: dict[str, Any] = {}
    try:
        out["process_start"] = c.wait_idle()  # imports: before any request, so initialize is timed alone
        out["initialize"] = initialize(c, ws, {"cacheDir": str(cache), "offline": True})
        t_init = time.perf_counter()

        def wait_saved() -> None:  # every record read: they are in the cache (a worker process saves them)
            _until(lambda: any((cache / "bib").glob("stat-*.txt")), timeout=600)
            out["loaded"] = time.perf_counter() - t_init

        saved = threading.Thread(target=wait_saved, daemon=True)
        saved.start()
        u = (ws / "paper.tex").as_uri()
        did_open(c, u, "latex", tex)

        def hover_ok() -> bool:
            res, _ = c.request("textDocument/hover", {"textDocument": {"uri": u},
                                                      "position": pos(cite_line - 1, 12)})
            return bool(res) and last_key in json.dumps(res)

        def hover_on(n: int) -> float:  # the n-th hover key (on line 1 + n)
            res, dt_ = c.request("textDocument/hover", {"textDocument": {"uri": u}, "position": pos(1 + n, 12)})
            assert res and hover_keys[n] in json.dumps(res), f"no card for {hover_keys[n]}"
            return dt_

        def complete(prefix: str) -> tuple[list[str], float]:
            text = "Now \\cite{" + prefix
            c.notify("textDocument/didChange", {"textDocument": {"uri": u, "version": 2},
                                                "contentChanges": [{"range": {"start": pos(cite_line, 0),
                                                                              "end": pos(cite_line, 99)},
                                                                    "text": text}]})
            res, dt_ = c.request("textDocument/completion", {"textDocument": {"uri": u},
                                                              "position": pos(cite_line, len(text))})
            return [it["label"] for it in (res or {}).get("items", [])], dt_

        _until(hover_ok)
        out["hover_ready"] = time.perf_counter() - t_init  # from initialize's answer
        _until(lambda: last_key in complete(last_key[:-1])[0])
        out["completion_ready"] = time.perf_counter() - t_init
        c.drain()  # (the status sent at initialized: the next one says the .bib files are read)
        during: list[float] = []
        during_hover: list[float] = []
        hovers: list[float] = []
        t_phase = time.perf_counter()
        i = 0
        while time.perf_counter() - t_phase < 8 and i < 400:  # while the records are still being read
            k, w = sample[i % len(sample)]
            during.append(complete(k[: rng.randint(2, len(k))] if i % 2 else w[:4])[1])
            if i % 2 and len(during_hover) < HOVERS_DURING:  # a hover after every other completion
                during_hover.append(hover_on(len(during_hover)))
            i += 1
        out["during"], out["during_hover"] = during, during_hover
        saved.join(600)  # "after loading" is after it, and after the server has taken the records in
        c.wait_note(lambda m: m.get("method") == "paperlens/status", timeout=600)
        time.sleep(1)
        after: list[float] = []
        for k, w in sample:
            after.append(complete(k[: rng.randint(2, len(k))])[1])
            after.append(complete(w[:4])[1])
            after.append(complete("")[1])
        for n in range(HOVERS_DURING, HOVERS_DURING + HOVERS_AFTER):
            hovers.append(hover_on(n))
        out["after"], out["hover"] = after, hovers
        out["rss_load_mb"] = c.rss_peak_mb()  # the load path's peak, before the editor opens the .bib
        if edit:
            text = bib.read_text(encoding="utf-8")
            bu = (ws / bib.name).as_uri()
            did_open(c, bu, "bibtex", text)
            time.sleep(2)
            k0 = keys[len(keys) // 2][0]
            at = text.index("{" + k0 + ",")
            tline = text.count("\n", 0, text.index("\n  title =", at) + 1)  # the title line (authors may span lines)
            old = text.split("\n")[tline]
            new = '  title =        "Zyxwvutsrq secure protocol",'
            t0 = time.perf_counter()
            c.notify("textDocument/didChange", {"textDocument": {"uri": bu, "version": 2},
                                                "contentChanges": [{"range": {"start": pos(tline, 0),
                                                                              "end": pos(tline, len(old))},
                                                                    "text": new}]})
            _until(lambda: k0 in complete("zyxwvutsr")[0], timeout=300)
            out["edit_visible"] = time.perf_counter() - t0
        out["rss_mb"] = c.rss_peak_mb()
    finally:
        c.close()
    return out


def run_bib(n: int, peer: bool = False, samples: int = 50, tag: str = "") -> str:
    from gen_bib import ensure_bib

    print(f"[.bib {n:,}] generating ...", file=sys.stderr, flush=True)
    bib = ensure_bib(n)
    keys = _bib_keys(bib.read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix=f"paperlens-bib-{n}-"))
    try:
        cache, ws = tmp / "cache", tmp / "ws"
        ws.mkdir()
        # The feed index is built once first (an empty workspace), so that "cold" is about the .bib alone.
        empty = tmp / "empty"
        empty.mkdir()
        c = Client(server_cmd(), empty, empty / "server.log")
        initialize(c, empty, {"cacheDir": str(cache), "offline": True})
        c.close()
        c = Client(server_cmd(), empty, empty / "server.log")
        c.wait_idle()
        floor = initialize(c, empty, {"cacheDir": str(cache), "offline": True})
        c.close()
        (ws / "library.bib").symlink_to(bib)
        print(f"[.bib {n:,}] cold ...", file=sys.stderr, flush=True)
        load = [os.getloadavg()[0]]  # a shared 2-core machine: the figures mean little without it
        cold = bib_session(bib, cache, ws, keys, edit=False)
        load.append(os.getloadavg()[0])
        print(f"[.bib {n:,}] warm + edit ...", file=sys.stderr, flush=True)
        warm = bib_session(bib, cache, ws, keys, edit=True)
        load.append(os.getloadavg()[0])
        other: dict[str, Any] | None = None
        if peer:
            print(f"[.bib {n:,}] peer bibli-ls ...", file=sys.stderr, flush=True)
            other = peer_bib_session(bib, tmp / "peer", keys, samples)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = bib.stat().st_size
    lines = [f"# .bib scenario: {n:,} entries ({size / 1e6:.0f} MB, cryptobib's real @string macros), "
             f"{dt.date.today().isoformat()}", "",
             "`.venv/bin/python bench/run.py --bib " + str(n) + "` (LSP over stdio, client-side round trips)", "",
             "| measure | cold (no cache) | warm (parsed .bib cached) | goal |", "|---|---|---|---|"]

    def row(name: str, a: str, b: str, goal: str) -> None:
        lines.append(f"| {name} | {a} | {b} | {goal} |")

    row("process start → waiting for input (imports; before any request)", ms(cold["process_start"]),
        ms(warm["process_start"]), "")
    row("initialize request round trip (the goal is about the request)", ms(cold["initialize"]),
        ms(warm["initialize"]), "≤ 300 ms")
    row("initialize request, same server, workspace without .bib", ms(floor), ms(floor), "")
    row("hover on the last key works after", ms(cold["hover_ready"]), ms(warm["hover_ready"]), "≤ 3 s / ≤ 0.3 s")
    row("completion of a key works after", ms(cold["completion_ready"]), ms(warm["completion_ready"]),
        "≤ 3 s / ≤ 0.3 s")
    row("every record read (title words search; in the cache) after", ms(cold.get("loaded", float("nan"))),
        ms(warm.get("loaded", float("nan"))), "")
    def lat(name: str, key: str, goal: str) -> None:  # p50 / p99 / max, and how many requests
        def one(xs: list[float]) -> str:
            return f"{ms(pct(xs, 50))} / {ms(pct(xs, 99))} / {ms(max(xs, default=float('nan')))} ({len(xs)})"
        row(f"{name} p50 / p99 / max (requests)", one(cold[key]), one(warm[key]), goal)

    lat("completion while loading", "during", "p99 ≤ 10 ms")
    lat("hover while loading (a key not hovered before)", "during_hover", "p99 ≤ 5 ms")
    lat("completion after loading", "after", "p99 ≤ 10 ms")
    lat("hover after loading (a key not hovered before)", "hover", "p99 ≤ 5 ms")
    row("edit in the open .bib → next completion shows it", "", ms(warm.get("edit_visible", float("nan"))),
        "≤ 100 ms")
    row("peak RSS while loading and serving (before the .bib is opened in the editor)",
        f"{cold['rss_load_mb']:.0f} MB", f"{warm['rss_load_mb']:.0f} MB", "≤ 500 MB")
    row("peak RSS after the .bib is opened in the editor and edited", "", f"{warm['rss_mb']:.0f} MB", "")
    row("load average (1 min) before / after", f"{load[0]:.1f} / {load[1]:.1f}", f"{load[1]:.1f} / {load[2]:.1f}",
        "(2 cores)")
    if other is not None:
        lines += ["", "bibli-ls 0.1.7.2 on the same file (`--peer`; it has no cache, so one column):", "",
                  "| measure | bibli-ls |", "|---|---|"]
        if "error" in other:
            lines.append(f"| bibli-ls | {other['error']} |")
        else:
            pc, ph = other["completion"], other["hover"]
            lines += [f"| start → first completion listing the keys | {ms(other['first_completion'])} |",
                      f"| completion p50 / p99 ({len(pc)} requests, {other['first_items']:,} items each) | "
                      f"{ms(pct(pc, 50))} / {ms(pct(pc, 99))} |",
                      f"| hover p50 / p99 ({len(ph)} keys, {other['hover_hits'] * 100:.0f}% with a card) | "
                      f"{ms(pct(ph, 50))} / {ms(pct(ph, 99))} |",
                      f"| peak RSS | {other['rss_mb']:.0f} MB |"]
    md = "\n".join(lines) + "\n"
    out = HERE / "results" / f"{dt.date.today().isoformat()}-bib-{n}{'-' + tag if tag else ''}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(md)
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000", help="comma-separated paper counts (10000,100000,1000000)")
    ap.add_argument("--bib", default="", help="comma-separated .bib entry counts (10000,72000): the .bib scenario "
                    "only")
    ap.add_argument("--peer", action="store_true", help="also measure bibli-ls 0.1.7.2 on the same papers (.bib)")
    ap.add_argument("--tag", default="", help="suffix of the results file name (both scenarios)")
    ap.add_argument("--peer-samples", type=int, default=50, help="peer completion / hover requests")
    ap.add_argument("--reuse-cache", type=Path, default=None, metavar="DIR",
                    help="keep the cache (the built index) in DIR; when DIR holds an index already, skip the cold "
                         "build and measure the warm session on it (one size per DIR)")
    ap.add_argument("--settle", type=float, default=0, metavar="SECONDS",
                    help="before the warm session, wait up to SECONDS for the machine to run Python within 15%% of "
                         "its speed before the run (a shared host slows it for minutes after a cold build)")
    args = ap.parse_args()
    if args.reuse_cache and "," in args.sizes:
        ap.error("--reuse-cache takes one size")
    if args.bib:
        for s in args.bib.split(","):
            print(run_bib(int(s), args.peer, args.peer_samples, args.tag), flush=True)
        return
    for s in args.sizes.split(","):
        t0 = time.perf_counter()
        md = run_size(int(s), args.peer, args.peer_samples, args.reuse_cache, args.tag, args.settle)
        print(md)
        print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
