"""GIL stalls of the warm .bib load (issue 10): the server's load path (install_cached, the word table,
finish_install, read_bib_path) in a worker thread, as the server runs it, while the main thread wakes every
0.2 ms; a wake later than 4 ms is a stall (the worker held the GIL), printed with where the worker was before
and after it. A request on the event loop would have waited that long. Then the same load while the main
thread serves mock requests back to back (~1 ms of Python each, marked as the server marks requests:
core.priority), and the time each took, against the same requests with no load running.

Run: .venv/bin/python bench/load_stalls.py [BIB] [CACHE_DIR] [--stalls]   (default: the generated 72k .bib; a
first run makes the cache and exits, the next ones measure; --stalls: the stalls only, not the mock requests;
--cold: the stalls of a cold load, with a worker process, into a fresh cache dir)
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from paperlens.analysis import bibload
from paperlens.core import priority
from paperlens.index import semantic
from paperlens.index.bibindex import BibIndex

STALL = 0.004
SWITCH = 0.0005  # workspace.LOADING_SWITCH_INTERVAL: what the server sets while it loads


def where(fr: FrameType | None, n: int = 3) -> str:
    out: list[str] = []
    while fr is not None and len(out) < n:
        out.append(f"{fr.f_code.co_filename.rsplit('/', 1)[-1]}:{fr.f_lineno} {fr.f_code.co_name}")
        fr = fr.f_back
    return " < ".join(out)


def main() -> None:
    here = Path(__file__).resolve().parent
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bib = Path(args[0] if args else here / "corpus" / "bib-72000" / "library.bib").absolute()
    cache = Path(args[1] if len(args) > 1 else "/tmp/paperlens-load-stalls")
    semantic.use_cache_dir(cache)
    if not (cache / "bib").exists():
        cache.mkdir(parents=True, exist_ok=True)
        r = bibload.read_bib_path(bib, bib.as_uri())
        bibload.read_columns(str(bib), r.digest, str(cache), r.stat_key)
        semantic.rarity("paperlens")
        print(f"cache made in {cache}; run again to measure")
        return
    stalls(bib, cache, cold="--cold" in sys.argv)
    if "--stalls" not in sys.argv and "--cold" not in sys.argv:
        requests(bib, cache, mark=False)
        requests(bib, cache, mark=True)


def work() -> float:
    """A mock request: ~2 ms of Python on an idle machine."""
    return sum(i * 0.5 for i in range(40_000))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def requests(bib: Path, cache: Path, mark: bool) -> None:
    """mark: the requests are marked as the server marks them (the loader pauses while one is open)."""
    def one(n: int) -> float:  # from its arrival (after the client's turn, 0.3 ms) to its answer
        t0 = time.perf_counter() + 0.0003
        time.sleep(0.0003)
        if mark:
            priority.begin(n)
        work()
        if mark:
            priority.end(n)
        return (time.perf_counter() - t0) * 1000

    quiet = [one(n) for n in range(200)]
    semantic._TABLE = None  # (made again by the load, as at a start)
    idx, uri = BibIndex(), bib.as_uri()
    kept: list[bibload.Read] = []

    def load() -> None:
        hit = bibload.install_cached(bib, uri, idx, cache, True)
        semantic.rarity("paperlens")
        idx.finish_install()
        kept.append(bibload.read_bib_path(bib, uri, cache, idx, hit))

    sys.setswitchinterval(SWITCH)
    t = threading.Thread(target=load)
    t0 = time.perf_counter()
    t.start()
    during: list[float] = []
    n = 1000
    while t.is_alive():
        during.append(one(n))
        n += 1
    print(f"mock requests{' (marked)' if mark else ''}, no load: p50 {pct(quiet, 50):.2f} / p99 {pct(quiet, 99):.2f} "
          f"ms; while loading ({time.perf_counter() - t0:.2f} s, {len(during)} requests): p50 {pct(during, 50):.2f} / "
          f"p99 {pct(during, 99):.2f} / max {max(during, default=0):.2f} ms")


def stalls(bib: Path, cache: Path, cold: bool = False) -> None:
    """cold: the cold load instead (nothing cached: scan, keys, the worker process, its records taken in)."""
    idx, uri, phase = BibIndex(), bib.as_uri(), ["install_cached" if not cold else "read_bib_path"]
    kept: list[bibload.Read] = []

    def load() -> None:
        if cold:
            r = bibload.read_bib_path(bib, uri)
            kept.append(r)
            phase[0] = "index_file_in"  # (keys; the worker; load_segment and take_segment)
            bibload.index_file_in(r.file, idx, Path(tempfile.mkdtemp(prefix="load-stalls-")), r.digest,
                                  stat_key=r.stat_key)
            return
        hit = bibload.install_cached(bib, uri, idx, cache, True)
        phase[0] = "word table"
        semantic.rarity("paperlens")
        phase[0] = "finish_install"
        idx.finish_install()
        phase[0] = "read_bib_path"
        kept.append(bibload.read_bib_path(bib, uri, cache, idx, hit))  # (the server keeps it: no free here)

    sys.setswitchinterval(SWITCH)
    t = threading.Thread(target=load)
    t.start()
    stalls: list[tuple[float, float, str, str, str]] = []
    before, last = "", time.perf_counter()
    t0 = last
    while t.is_alive():
        time.sleep(0.0002)
        now = time.perf_counter()
        now_at = where(sys._current_frames().get(t.ident or 0))
        if now - last > STALL:
            stalls.append(((now - last) * 1000, now - t0, phase[0], before, now_at))
        before, last = now_at, time.perf_counter()
    big = [s[0] for s in stalls]
    print(f"load {time.perf_counter() - t0:.2f} s; stalls > {STALL * 1000:.0f} ms: {len(big)}, "
          f"> 10 ms: {sum(x > 10 for x in big)}, max {max(big, default=0):.1f} ms")
    for ms, at, ph, bef, now_at in sorted(stalls, reverse=True)[:12]:
        print(f"{ms:6.1f} ms at {at:.3f} s  {ph:14s} {bef}\n{'':38s}-> {now_at}")


if __name__ == "__main__":
    main()
