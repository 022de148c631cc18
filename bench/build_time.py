"""A cold index build timed in-process: `bench/build_time.py 100000 [--keep] [--phases]`.

Runs `open_index` on `bench/corpus/<n>` with an empty cache dir and prints wall time, CPU seconds (this process
plus every child it waited for: the build's workers), papers/s and the peak RSS summed over the process tree
(sampled every 0.2 s), also the peak of this process alone. The load average at the start and the end says how
busy the machine was. --phases: the build's steps logged as they end, with their wall and CPU time (the
merging process's; `index/build.py: phase`).
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import tree_rss_kb  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    if "--phases" in sys.argv:
        logging.basicConfig(format="%(relativeCreated)8.0f ms %(message)s")
        logging.getLogger("paperlens.index").setLevel(logging.INFO)
    from paperlens.core.config import parse_settings
    from paperlens.library.pipeline import open_index

    corpus = HERE / "corpus" / str(n)
    cache = Path(tempfile.mkdtemp(prefix=f"paperlens-build-{n}-"))
    settings, _ = parse_settings({"feeds": [str(corpus / "daily_papers.json")], "cacheDir": str(cache),
                                  "offline": True})
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(os.getpid()))
            done.wait(0.2)

    load0 = os.getloadavg()[0]
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    r0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    loaded = open_index(settings)
    wall = time.perf_counter() - t0
    done.set()
    t.join()
    r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_self = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    cpu_kids = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
    papers = loaded.index.n
    print(f"{n} papers: wall {wall:.1f} s, CPU {cpu_self + cpu_kids:.1f} s (this process {cpu_self:.1f}, "
          f"children {cpu_kids:.1f}), {papers / wall:.0f} papers/s, peak {peak[0] / 1024:.0f} MB summed over the "
          f"process tree (this process {r1.ru_maxrss / 1024:.0f} MB, largest child {c1.ru_maxrss / 1024:.0f} MB), "
          f"load {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    if "--keep" in sys.argv:
        print(cache)
    else:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
