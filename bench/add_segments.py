"""An index with as many segments as a refresh may leave before a merge (issue 13: "a steady tail with any
number of segments up to the merge threshold").

    .venv/bin/python bench/add_segments.py SRC DST [--segments 6 --papers 100]
    .venv/bin/python bench/run.py --sizes 1000000 --reuse-cache DST --tag segments

SRC is a cache directory holding a built index (e.g. the one `bench/run.py --reuse-cache SRC` built); DST gets a
hard-linked copy of it (segments are never written in place, so SRC is not changed) to which `--segments` small
segments of `--papers` new papers each are added, as refreshes add them, with no merge. The bench then answers
every request through all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

from paperlens.core.model import Paper
from paperlens.index import segments


def papers(seg: int, n: int) -> list[Paper]:
    out = []
    for i in range(n):
        name = f"Seg{seg}Incr{i}Former"
        out.append(Paper(
            title=f"{name}: Incremental Segments for Paper Search, Variant {seg}.{i}",
            abstract=f"We propose {name}, a method that adds new documents to a search index as small immutable "
                     f"segments and merges them in the background (variant {seg}.{i}).",
            authors=(f"Ada Segment{seg}x{i}", "Grace Merge"), date=dt.date(2026, 11, 28), upvotes=5,
            arxiv_id=f"2612.{seg:01d}{i:04d}", source="bench:add_segments"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--segments", type=int, default=segments.MERGE_AT)
    ap.add_argument("--papers", type=int, default=100)
    args = ap.parse_args()
    if args.dst.exists():
        sys.exit(f"{args.dst} exists: give a new directory")
    shutil.copytree(args.src, args.dst, copy_function=os.link)
    ipaths = [d for d in args.dst.glob("index-*") if d.is_dir() and ".tmp" not in d.name]
    if len(ipaths) != 1:
        sys.exit(f"{args.dst}: expected one index directory, found {len(ipaths)}")
    ipath = ipaths[0]
    m = segments.read_manifest(ipath)
    if m is None:
        sys.exit(f"{ipath}: no manifest")
    for k in range(args.segments):
        t = time.perf_counter()
        segments.add(ipath, segments.Delta(papers=papers(k, args.papers)), m.sources)
        print(f"segment {k + 1}: {args.papers} papers in {time.perf_counter() - t:.2f} s", file=sys.stderr)
    m = segments.read_manifest(ipath)
    assert m is not None
    print(f"{ipath}: {len(m.segments)} segments: {', '.join(m.segments)}")


if __name__ == "__main__":
    main()
