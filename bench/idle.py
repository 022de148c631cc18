"""Requests after the server sat idle: `bench/idle.py CACHE_DIR [SECONDS] [SIZE]`.

Starts the server on a built index (CACHE_DIR, as `run.py --reuse-cache` leaves it), opens the benchmark's two
documents, warms up (10 hovers, 10 completions), waits SECONDS (default 150) without a request, then times 30
hovers on mentions it has not hovered yet and 29 completions. On a machine whose kernel pages out file pages
left unused (this VM: DAMON `pageout` after ~60 s), what the first requests then read comes from the disk.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402
from gen_corpus import ensure_corpus  # noqa: E402


def main() -> None:
    cache = Path(sys.argv[1]).resolve()
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 150.0
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    corpus = ensure_corpus(n)
    wl = bench.make_workload(json.loads((corpus / "truth.json").read_text()))
    ws = Path(tempfile.mkdtemp(prefix="paperlens-idle-"))
    opts = {"feeds": [str(corpus / "daily_papers.json")], "cacheDir": str(cache), "offline": True}
    c = bench.Client(bench.server_cmd(), ws, ws / "server.log")
    try:
        bench.initialize(c, ws, opts)
        uri, muri = (ws / "cites.tex").as_uri(), (ws / "mentions.md").as_uri()
        bench.did_open(c, uri, "latex", wl.cites_text)
        bench.did_open(c, muri, "markdown", wl.mentions_text)

        def hover(i: int) -> float:
            line, s, e = wl.mention_points[i]
            return c.request("textDocument/hover", {"textDocument": {"uri": muri},
                                                    "position": bench.pos(line, (s + e) // 2)})[1] * 1e3

        def complete(i: int) -> float:
            _, line, col = wl.cite_points[i]
            return c.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                         "position": bench.pos(line, col)})[1] * 1e3

        for i in range(10):
            hover(i)
            complete(20 * i)
        time.sleep(idle)
        hovers = [hover(i) for i in range(10, 40)]
        comps = [complete(i) for i in range(1, 200, 7)]
        for name, xs in (("hovers", hovers), ("completions", comps)):
            print(f"after {idle:.0f} s idle, {len(xs)} {name}: p50 {bench.pct(xs, 50):.1f} ms, max {max(xs):.1f} ms; "
                  f"the first five {', '.join(f'{x:.1f}' for x in xs[:5])} ms")
        print(f"server RSS: {c.rss_split_mb()}")
    finally:
        c.close()
        shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    main()
