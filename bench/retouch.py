"""What touching memory again costs on this machine after it sat unused: `bench/retouch.py [MB]`.

A request reads scattered pages of the index's memory-mapped columns (a hover: ~60 pages). Whether those reads
cost 0.1 µs or 100 µs a page does not depend on PaperLens but on how the host treats memory that sat unused for a
while, busy CPU or not. On the VM of 2026-11-30 (2 cores): this script's pages, after a 2 s wait, 5.8 µs a page
of the file mapping and 29 µs of anonymous memory (0.08 / 0.11 µs with no wait); random strings of a 1M index's
keys column (two pages each), after 0.5 s, 54-71 µs a string (0.35 µs with no wait). This prints, per wait, the
µs a page for 2,000 random pages of a file mapping (a temp file of MB megabytes, default 256, in the page cache)
and of anonymous memory of the same size, each touched just before the wait; run it to read a bench's tail.
"""

from __future__ import annotations

import mmap
import os
import random
import sys
import tempfile
import time

PAGE = 4096
N = 2000


def _touch(buf: mmap.mmap | bytearray, pages: list[int]) -> float:
    """µs a page to read one byte of each page."""
    t = time.perf_counter()
    s = 0
    for p in pages:
        s += buf[p * PAGE]
    return (time.perf_counter() - t) / len(pages) * 1e6 + s * 0


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main() -> None:
    mb = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    size = mb << 20
    with tempfile.TemporaryFile() as f:
        chunk = os.urandom(1 << 20)
        for _ in range(mb):
            f.write(chunk)
        f.flush()
        mapped = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
        anon = bytearray(size)
        for i in range(0, size, PAGE):  # every anonymous page made once (not a first-touch fault below)
            anon[i] = 1
        pages = random.Random(1).sample(range(size // PAGE), N)
        print(f"µs a page, {N} random pages of {mb} MB: first touch after the wait / again at once")
        print("wait                 file mapping        anonymous")
        for label, wait in [("none", lambda: None), ("sleep 0.1 s", lambda: time.sleep(0.1)),
                            ("sleep 0.5 s", lambda: time.sleep(0.5)), ("sleep 2 s", lambda: time.sleep(2)),
                            ("busy 0.5 s", lambda: _busy(0.5)), ("busy 2 s", lambda: _busy(2))]:
            row = []
            for buf in (mapped, anon):
                _touch(buf, pages)
                _touch(buf, pages)
                wait()
                row.append(f"{_touch(buf, pages):7.2f} / {_touch(buf, pages):5.2f}")
            print(f"{label:<20} {row[0]:<19} {row[1]}")
        mapped.close()


if __name__ == "__main__":
    main()
