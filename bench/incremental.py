"""Incremental refresh through the wire (issue 13): new papers and new upvotes into a built index.

    .venv/bin/python bench/incremental.py --size 100000 [--new 100 --updates 1000] [--from-cache DIR]

`--from-cache DIR`: start from a cache directory holding the index already built for this corpus (e.g. the one
`bench/run.py --reuse-cache DIR` built), hard-linked into a temp directory (segments are never written in place,
so DIR is not changed): session A then starts warm instead of building.

The synthetic corpus of `--size` papers is a local feed file; a loopback server plays the HF API (the live feed)
and GitHub (every repo answers 404 at once). Session A builds the index cold and runs a first refresh that brings
`--updates` papers from the live feed. Session B starts warm, then runs the measured refresh: the feed now has
`--new` new papers and the same `--updates` papers with new upvotes. Reported: the refresh's round trip, the
server's split of it (fetching feeds and repos / until the index answers), whether the index grew by a segment,
the first completion / hover / cite action on a new paper and a hover showing new upvotes after the response, and
the extra peak memory of session B during the refresh (VmHWM after minus VmHWM before, "before" once the
server's start-up loads are over: `settled`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_corpus import ensure_corpus  # noqa: E402
from run import Client, did_open, initialize, pos, server_cmd  # noqa: E402


def _item(i: int, kind: str, upvotes: int) -> dict[str, Any]:
    name = f"{kind}{i}Former"
    return {"paper": {"id": f"2612.{i:05d}" if kind == "Incr" else f"2611.{i:05d}",
                      "title": f"{name}: Incremental Segments for Paper Search, Variant {i}",
                      "summary": f"We propose {name}, a method that adds new documents to a search index as small "
                                 f"immutable segments and merges them in the background (variant {i}).",
                      "authors": [{"name": f"Ada Segment{i}"}, {"name": "Grace Merge"}],
                      "publishedAt": "2026-11-28T00:00:00.000Z", "upvotes": upvotes}}


class Feed:
    """The loopback HF API and GitHub: one daily_papers page with whatever `items` holds now."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                if u.path == "/api/daily_papers":
                    body = json.dumps(feed.items if q.get("p", "0") == "0" else []).encode()
                    self.send_response(200)
                else:
                    body = b'{"message": "Not Found"}'
                    self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def rss(c: Client, field: str) -> float:
    for line in Path(f"/proc/{c.proc.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settled(c: Client, quiet: float = 2.0, limit: float = 60.0) -> float:
    """Seconds until the server's start-up work in the background (the related-papers word table, the index
    files read into the file cache, the first related queries) is over: its RSS has not moved by 1 MB for
    `quiet` seconds. The refresh's extra peak is measured from there, not from a start still loading."""
    t0 = time.perf_counter()
    last, since = rss(c, "VmRSS"), time.perf_counter()
    while time.perf_counter() - t0 < limit:
        time.sleep(0.25)
        now = rss(c, "VmRSS")
        if abs(now - last) >= 1.0:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= quiet:
            break
    return time.perf_counter() - t0


def refresh(c: Client) -> tuple[dict[str, Any], float]:
    res, dt_ = c.request("workspace/executeCommand", {"command": "paperlens.refresh", "arguments": []}, timeout=7200)
    return res, dt_


def run(n: int, new: int, updates: int, from_cache: Path | None = None) -> str:
    corpus = ensure_corpus(n)
    feed = Feed()
    url = f"{feed.base}/api/daily_papers?limit={new + updates + 10}"
    # Beside a --from-cache directory: the same filesystem, for hard links.
    tmp = Path(tempfile.mkdtemp(prefix=f"paperlens-incr-{n}-", dir=from_cache.resolve().parent if from_cache else None))
    try:
        ws, cache = tmp / "ws", tmp / "cache"
        ws.mkdir()
        if from_cache is not None:
            shutil.copytree(from_cache, cache, copy_function=os.link)
        opts = {"feeds": [str(corpus / "daily_papers.json"), url], "cacheDir": str(cache), "offline": False,
                "hfBaseUrl": feed.base, "githubBaseUrl": feed.base, "githubTokenEnv": "PAPERLENS_BENCH_NO_TOKEN",
                "hfTokenEnv": "PAPERLENS_BENCH_NO_TOKEN"}
        feed.items = [_item(i, "Seed", 10) for i in range(updates)]
        print(f"[{n:,}] session A: cold build, first refresh ({updates} papers) ...", file=sys.stderr, flush=True)
        a = Client(server_cmd(), ws, ws / "server-a.log")
        try:
            t_init = initialize(a, ws, opts)

            def built(m: dict[str, Any]) -> bool:  # a large feed's index is built in a child process
                prm = m.get("params") or {}
                return (m.get("method") == "paperlens/status" and prm.get("state") == "idle"
                        and prm.get("papers", 0) >= n)
            t_built = a.wait_note(built, timeout=7200) - a.t_spawn
            res_a, t_a = refresh(a)
        finally:
            a.close()
        feed.items = [_item(i, "Seed", 10 + 7 * i + 1) for i in range(updates)] + \
            [_item(i, "Incr", 5) for i in range(new)]
        shutil.rmtree(cache / "http", ignore_errors=True)  # the feed's cached answer would still be fresh
        print(f"[{n:,}] session B: warm start, measured refresh ({new} new, {updates} new upvotes) ...",
              file=sys.stderr, flush=True)
        b = Client(server_cmd(), ws, ws / "server-b.log")
        try:
            t_warm = initialize(b, ws, opts)
            probe = new - 1
            text = f"We compare against Incr{probe}Former and Seed{updates - 1}Former here.\n"
            uri = (ws / "probe.md").as_uri()
            did_open(b, uri, "markdown", text)
            cite = "Prior work~\\cite{" + f"segment{probe}" + "} shows it.\n"
            turi = (ws / "probe.tex").as_uri()
            did_open(b, turi, "latex", cite)
            col_new = text.index("Incr") + 3
            col_seed = text.index("Seed") + 3
            before, _ = b.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos(0, col_new)})
            t_settle = settled(b)
            hwm0, rss0 = rss(b, "VmHWM"), rss(b, "VmRSS")
            split0 = rss(b, "RssAnon"), rss(b, "RssFile")
            res_b, t_b = refresh(b)
            hwm1, rss1 = rss(b, "VmHWM"), rss(b, "VmRSS")
            split1 = rss(b, "RssAnon"), rss(b, "RssFile")
            hov, t_hov = b.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos(0, col_new)})
            comp, t_comp = b.request("textDocument/completion", {"textDocument": {"uri": turi},
                                                                 "position": pos(0, cite.index("}"))})
            acts, t_act = b.request("textDocument/codeAction", {
                "textDocument": {"uri": uri}, "range": {"start": pos(0, col_new), "end": pos(0, col_new)},
                "context": {"diagnostics": []}})
            seed, t_seed = b.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                            "position": pos(0, col_seed)})
        finally:
            b.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        feed.httpd.shutdown()
    name = f"Incr{probe}Former"
    new_up = str(10 + 7 * (updates - 1) + 1)
    ok_hover = before is None and hov is not None and name in json.dumps(hov)
    ok_comp = name in json.dumps(comp)
    ok_cite = any(a.get("title", "").startswith(f"Cite {name}") for a in acts or [])
    ok_up = seed is not None and new_up in json.dumps(seed)
    after_fetch = t_b - float(res_b.get("fetchSeconds", 0))
    rows = [
        ("papers in the index before / after", f"{n + updates + 54:,} / {res_b.get('papers', 0):,}"),
        ("session A: initialize / index built (start →) / first refresh",
         f"{t_init:.1f} s / {t_built:.1f} s / {t_a:.1f} s "
                                                                f"(incremental: {res_a.get('incremental')})"),
        ("session B: warm initialize", f"{t_warm * 1000:.0f} ms"),
        ("session B: its start-up loads over (RSS steady for 2 s) after", f"{t_settle:.1f} s"),
        ("measured refresh: round trip", f"{t_b:.2f} s"),
        ("  of which fetching feeds and repos (server)", f"{res_b.get('fetchSeconds')} s"),
        ("  of which index update (server)", f"{res_b.get('indexSeconds')} s (incremental: "
                                             f"{res_b.get('incremental')})"),
        ("  data fetched → new papers answer (round trip − fetch)", f"{after_fetch:.2f} s"),
        (f"then: hover on {name} (card)", f"{t_hov * 1000:.1f} ms, {'ok' if ok_hover else 'MISSING'}"),
        (f"then: completion \\cite{{segment{probe}", f"{t_comp * 1000:.1f} ms, {'ok' if ok_comp else 'MISSING'}"),
        (f"then: code actions (Cite {name})", f"{t_act * 1000:.1f} ms, {'ok' if ok_cite else 'MISSING'}"),
        (f"then: hover shows new upvotes ({new_up})", f"{t_seed * 1000:.1f} ms, {'ok' if ok_up else 'MISSING'}"),
        ("session B peak RSS before → after refresh (VmHWM)", f"{hwm0:.0f} → {hwm1:.0f} MB "
                                                              f"(extra peak {max(0.0, hwm1 - hwm0):.0f} MB)"),
        ("session B RSS before → after refresh", f"{rss0:.0f} → {rss1:.0f} MB"),
        ("  own memory (RssAnon) / index pages read (RssFile, memory-mapped)",
         f"{split0[0]:.0f} / {split0[1]:.0f} → {split1[0]:.0f} / {split1[1]:.0f} MB"),
    ]
    head = (f"## Incremental refresh, {n:,} papers + {new} new, {updates} upvote updates — "
            f"{time.strftime('%Y-%m-%d %H:%M')}\n\n`.venv/bin/python bench/incremental.py --size {n}`\n\n"
            + (f"(session A started from the index in `{from_cache}`)\n\n" if from_cache else "")
            + "| metric | value |\n|---|---|\n")
    return head + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--new", type=int, default=100)
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--from-cache", type=Path, default=None, metavar="DIR")
    args = ap.parse_args()
    md = run(args.size, args.new, args.updates, args.from_cache)
    out = HERE / "results" / f"{time.strftime('%Y-%m-%d')}-incremental-{args.size}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(md)
    print(md)


if __name__ == "__main__":
    main()
