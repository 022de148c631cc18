"""Random unit vectors for every paper of a bench corpus, written where the server keeps the vectors the encoder
made (`<cache>/vectors-mpnet.npz`): a stand-in for embedding thousands of papers (~1-2 h at 1-2 papers/s), to time
related papers through the wire at the size where the index still has vectors (dense.DENSE_MAX, 10,000; the
corpus plus the 54 shipped papers must stay under it).

    .venv/bin/python bench/fake_vectors.py --size 9000 --cache /tmp/dense-9000
    .venv/bin/python bench/run.py --sizes 9000 --reuse-cache /tmp/dense-9000 --tag dense
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from gen_corpus import ensure_corpus  # noqa: E402

from paperlens.index import dense  # noqa: E402
from paperlens.sources.feedfile import read_feed_file  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=9000)
    ap.add_argument("--cache", type=Path, required=True)
    args = ap.parse_args()
    papers, _ = read_feed_file(ensure_corpus(args.size) / "daily_papers.json")
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((len(papers), dense.DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    keys = [dense.text_key(dense.text_of(p.title, p.abstract)) for p in papers]
    dense.write_vectors(args.cache / dense.FILE, dict(zip(keys, vecs.astype(np.float16), strict=True)))
    print(f"{len(keys)} vectors in {args.cache / dense.FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
