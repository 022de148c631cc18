"""Large edits against the server over stdio (issue 11 #13), timed by a separate client process.

1. Replace All of 10k occurrences in a ~719 kB LaTeX document (one didChange with 10k changes, last first, as
   VS Code sends them), then a hover on that document: its latency from the didChange.
2. A 20 MB didOpen of another document, then a hover on a small document: the hover's latency against a
   baseline hover, measured from the didOpen.
3. A 5 MB single-line Markdown document: didOpen, then a hover on it.

Run: .venv/bin/python bench/edit_stress.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.raw_lsp import RawServer  # noqa: E402


def cpu(pid: int) -> float:
    """Seconds of CPU the process has used (all threads): what the server did, whatever the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


LINE = "Dense residual models such as DRCT keep the foo features; the foo term is {}.\n"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="paperlens-edit-stress-"))
    srv = RawServer()
    srv.initialize(tmp, tmp / "cache")
    small_uri = (tmp / "small.tex").as_uri()
    srv.open(small_uri, "DRCT keeps the features.\n")
    _, warm = srv.hover(small_uri, 0, 1)
    base = min(srv.hover(small_uri, 0, 1)[1] for _ in range(20))

    # 1. Replace All
    lines = [LINE.format(i) for i in range(9000)]
    text = "".join(lines)
    while len(text) < 719_000:
        text += LINE.format(len(text))
    lines = text.splitlines(keepends=True)
    big_uri = (tmp / "big.tex").as_uri()
    srv.open(big_uri, text)
    srv.hover(big_uri, 0, 31)
    changes = []
    for ln, line in enumerate(lines):
        col = 0
        while (col := line.find("foo", col)) >= 0:
            changes.append({"range": {"start": {"line": ln, "character": col},
                                      "end": {"line": ln, "character": col + 3}}, "text": "bar"})
            col += 3
    changes = changes[:10000][::-1]
    pid = srv.proc.pid
    c0 = cpu(pid)
    t0 = time.perf_counter()
    srv.notify("textDocument/didChange", {"textDocument": {"uri": big_uri, "version": 2}, "contentChanges": changes})
    r, _ = srv.hover(big_uri, 5000, 31)
    replace_all = time.perf_counter() - t0
    replace_cpu = cpu(pid) - c0
    assert r.get("result"), r

    # 2. 20 MB didOpen, then a hover elsewhere
    huge = (LINE.format("x") * (20_000_000 // len(LINE)))
    time.sleep(1)  # let the Replace All's diagnostics finish
    c0 = cpu(pid)
    t0 = time.perf_counter()
    srv.open((tmp / "huge.tex").as_uri(), huge)
    r, hover_after_open = srv.hover(small_uri, 0, 1)  # its own latency: from the moment it is sent
    after_open = time.perf_counter() - t0
    open_cpu = cpu(pid) - c0
    assert r.get("result"), r

    # 3. 5 MB single-line Markdown
    one_line = "DRCT and the foo method, " * (5_000_000 // 25)
    md_uri = (tmp / "one-line.md").as_uri()
    t0 = time.perf_counter()
    srv.open(md_uri, one_line, "markdown")
    r, _ = srv.hover(md_uri, 0, 1)
    single_line = time.perf_counter() - t0
    assert r.get("result"), r

    code = srv.close()
    print(f"document {len(text) / 1000:.0f} kB, {len(changes)} changes in one didChange")
    print(f"hover on a small document: first {warm * 1000:.1f} ms, best of 20 {base * 1000:.1f} ms")
    print(f"Replace All (10k changes) -> next hover answered: {replace_all * 1000:.0f} ms "
          f"(server CPU meanwhile {replace_cpu * 1000:.0f} ms)")
    print(f"20 MB didOpen -> hover on another document: {hover_after_open * 1000:.0f} ms from sending it (baseline "
          f"{base * 1000:.1f} ms); {after_open * 1000:.0f} ms from the start of the didOpen's 20 MB write; "
          f"server CPU {open_cpu * 1000:.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"5 MB single-line Markdown didOpen -> hover on it answered: {single_line * 1000:.0f} ms")
    print(f"server exit code {code}")


if __name__ == "__main__":
    main()
