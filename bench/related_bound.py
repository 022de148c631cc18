"""The worst case of one related request at a million papers, in-process: Index.related_terms (the scoring the
editor runs) over 36 phrases whose posting lists all run past REL_TERM_CAP, with ids spread over 1M papers.

    .venv/bin/python bench/related_bound.py            # shipped REL_BUDGET
    .venv/bin/python bench/related_bound.py --budget 72000   # no overall budget (36 x 2,000)
    .venv/bin/python bench/related_bound.py --dense --papers 10000 --df 1000   # the largest index with vectors

Synthetic posting lists: what a real 1M index gives a paper whose 36 phrases are all common (the bound);
building a real 1M index takes ~10 min and is the wire benchmark's job (bench/run.py --sizes 1000000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from paperlens.index import core  # noqa: E402
from paperlens.index.core import Index  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=int, default=1_000_000)
    ap.add_argument("--terms", type=int, default=36)
    ap.add_argument("--df", type=int, default=15_000, help="papers per phrase (REL_DF_CAP is 20,000)")
    ap.add_argument("--budget", type=int, default=core.REL_BUDGET)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--dense", action="store_true",
                    help="every paper with a dense vector (an index of at most dense.DENSE_MAX papers): the "
                         "brute-force cosine of every paper (float32, as Index.dense_sims) and their scoring")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    lists = [np.sort(rng.choice(args.papers, args.df, replace=False)).astype(np.int32) for _ in range(args.terms)]
    offsets = np.zeros(args.terms + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    ids = np.concatenate(lists)
    rel = SimpleNamespace(offsets=offsets, ids=ids, df=lambda i: int(offsets[i + 1] - offsets[i]))
    stub = SimpleNamespace(rel=rel, rel_w=rng.random(len(ids)).astype(np.float16))
    core.REL_BUDGET = args.budget
    query = [(j, float(w)) for j, w in enumerate(sorted(rng.random(args.terms), reverse=True))]
    vecs = None
    if args.dense:
        from paperlens.index.dense import DIM

        vecs = rng.standard_normal((args.papers, DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        stub.n = args.papers
    times = []
    for r in range(args.requests):
        t = time.perf_counter()
        sims = vecs @ vecs[r % args.papers] if vecs is not None else None
        Index.related_terms(stub, query, 6, -1, sims)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    print(f"{args.papers:,} papers{' with vectors' if args.dense else ''}, {args.terms} phrases x {args.df:,} "
          f"papers, budget {args.budget:,}: "
          f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
