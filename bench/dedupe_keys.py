"""45k papers sharing one base key (same first author, year, first title word): index build time (issue 11 #11).

Run: .venv/bin/python bench/dedupe_keys.py [N]"""
import datetime as dt
import sys
import time

from paperlens.core.model import Library, Paper
from paperlens.index.core import Index

n = int(sys.argv[1]) if len(sys.argv) > 1 else 45000
papers = [Paper(title=f"Deep learning variant {i} for task {i % 97}", authors=("John Smith",),
                date=dt.date(2024, 1, 1), abstract=f"We study variant {i}.") for i in range(n)]
t = time.perf_counter()
ix = Index.build(Library(papers=papers))
print(f"{n} papers sharing base key smith2024deep: Index.build {time.perf_counter() - t:.1f} s; keys unique:",
      len(set(ix.keys[i] for i in range(ix.n))) == ix.n)
