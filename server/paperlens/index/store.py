"""Compact columns: strings packed in one UTF-8 blob, posting lists in CSR arrays. Memory-mapped on load."""

from __future__ import annotations

import bisect
import os
import weakref
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
IdArray = npt.NDArray[np.int32]


def load_mapped(path: Path) -> npt.NDArray[Any]:
    """A saved array, memory-mapped (read from the page cache as it is used), as a plain ndarray: indexing an
    np.memmap goes through its Python-level __getitem__ and __array_finalize__ (~1-2 us a lookup; a hover made
    ~100 of them)."""
    return np.asarray(np.load(path, mmap_mode="r"))


PREFETCH_MAX = 2 << 30  # bytes of index columns read into the file cache at start (at 1M papers: 1.2 GB)


def prefetch_budget() -> int:
    """PREFETCH_MAX, or a quarter of the memory the system has available when that is less."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return min(PREFETCH_MAX, int(line.split()[1]) * 1024 // 4)
    except (OSError, ValueError, IndexError):
        pass
    return PREFETCH_MAX // 4


def prefetch(paths: Iterable[Path], budget: int) -> int:
    """Read files once, in order, until `budget` bytes, so that the kernel's file cache holds them: a column's
    first look-ups then find their pages in memory instead of waiting for the disk (a hover's related-papers
    line touches ~30 posting lists spread over 140 MB files at 1M papers: 50-800 ms cold). Read into one small
    buffer, not mapped: the pages count in the system's cache, not in this process's memory. Bytes read."""
    buf = memoryview(bytearray(1 << 20))
    done = 0
    for p in paths:
        try:
            with p.open("rb", buffering=0) as f:
                while done < budget:
                    n = f.readinto(buf[: budget - done])  # (releases the GIL)
                    if not n:
                        break
                    done += n
        except OSError:  # (a segment merged away meanwhile: nothing to warm)
            continue
        if done >= budget:
            break
    return done


PREAD_MIN = 32 << 20  # columns smaller than this are sliced through the map: few pages, and no system call


class FileSlices:
    """Slices of a saved 1-D column read with pread, not through its memory map. Random look-ups into a large
    column map the pages around each one into the process (on this kernel the whole cached folio, up to
    megabytes): 100 hovers at 1M papers mapped ~500 MB of the related-paper postings, which counts in the
    server's RSS. Read this way the pages stay in the kernel's file cache only. A column not backed by a file
    (an index built in memory), or below PREAD_MIN bytes, is sliced as is: each pread lets other threads take
    the interpreter (a .bib loading), and a hover would wait for it to come back ~100 times."""

    __slots__ = ("_a", "_fd", "_off", "_item", "__weakref__")

    def __init__(self, a: npt.NDArray[Any]) -> None:
        self._a, self._fd, self._off, self._item = a, -1, 0, a.dtype.itemsize
        if a.nbytes < PREAD_MIN:
            return
        m: Any = a
        while m is not None and not isinstance(m, np.memmap):
            m = getattr(m, "base", None)
        if m is not None and a.ndim == 1 and a.flags.c_contiguous and m.filename \
                and a.ctypes.data == m.ctypes.data:
            try:
                self._fd = os.open(m.filename, os.O_RDONLY)
            except OSError:
                return
            self._off = int(m.offset)
            weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return len(self._a)

    def __getitem__(self, s: slice) -> npt.NDArray[Any]:
        lo, hi, _ = s.indices(len(self._a))
        if self._fd < 0 or hi <= lo:
            return self._a[lo:hi]
        raw = os.pread(self._fd, (hi - lo) * self._item, self._off + lo * self._item)
        return np.frombuffer(raw, dtype=self._a.dtype)


class StrArray(Sequence[str]):
    """An immutable list of strings stored as one UTF-8 blob plus offsets (no per-string objects)."""

    __slots__ = ("_blob", "_off", "_mb", "_mo")

    def __init__(self, blob: npt.NDArray[np.uint8], offsets: IntArray) -> None:
        self._blob = blob
        self._off = offsets
        # Plain buffer views: indexing them gives Python ints / zero-copy slices, ~10x cheaper than numpy scalars.
        self._mb = memoryview(np.ascontiguousarray(blob)).cast("B")  # type: ignore[arg-type]
        self._mo = memoryview(np.ascontiguousarray(offsets, dtype=np.int64)).cast("B").cast("q")  # type: ignore[arg-type]

    @classmethod
    def build(cls, items: Iterable[str]) -> StrArray:
        enc = [s.encode("utf-8") for s in items]
        off = np.zeros(len(enc) + 1, dtype=np.int64)
        if enc:
            np.cumsum([len(b) for b in enc], out=off[1:])
        blob = np.frombuffer(b"".join(enc), dtype=np.uint8) if enc else np.zeros(0, dtype=np.uint8)
        return cls(blob, off)

    def __len__(self) -> int:
        return len(self._mo) - 1

    def packed(self) -> tuple[npt.NDArray[np.uint8], IntArray]:
        """The UTF-8 blob and the offsets (for numpy over all the strings at once)."""
        return self._blob, self._off

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            if step != 1:
                return [self[j] for j in range(lo, hi, step)]
            return self.range(lo, hi)
        mo = self._mo
        if i < 0:
            i += len(mo) - 1
        return str(self._mb[mo[i] : mo[i + 1]], "utf-8")

    def range(self, lo: int, hi: int) -> list[str]:
        """Strings lo..hi-1, decoded in one pass when the region is ASCII."""
        if hi <= lo:
            return []
        mo = self._mo
        base, end = mo[lo], mo[hi]
        region = bytes(self._mb[base:end])
        if not region.isascii():
            return [str(self._mb[mo[j] : mo[j + 1]], "utf-8") for j in range(lo, hi)]
        text = region.decode("ascii")
        offs = [o - base for o in mo[lo : hi + 1]]
        return [text[a:b] for a, b in zip(offs, offs[1:], strict=False)]

    def save(self, path: Path, name: str) -> None:
        np.save(path / f"{name}.blob.npy", self._blob)
        np.save(path / f"{name}.off.npy", self._off)

    @classmethod
    def load(cls, path: Path, name: str) -> StrArray:
        return cls(load_mapped(path / f"{name}.blob.npy"), load_mapped(path / f"{name}.off.npy"))


class Postings:
    """A sorted vocabulary mapping each term to a sorted array of paper ids (CSR layout)."""

    __slots__ = ("terms", "offsets", "ids", "_found", "_found_all")

    FOUND_MAX = 1 << 16  # terms remembered by find (then forgotten all at once)
    SMALL = 1 << 14  # vocabularies up to this many terms are remembered whole

    def __init__(self, terms: StrArray, offsets: IntArray, ids: IdArray) -> None:
        self.terms = terms
        self.offsets = offsets
        self.ids = ids
        self._found: dict[str, int] = {}  # find's answers (the vocabulary never changes)
        self._found_all = False  # _found holds the whole vocabulary

    @classmethod
    def build(cls, pairs: dict[str, set[int]] | dict[str, list[int]]) -> Postings:
        terms = sorted(pairs)
        lists = [sorted(set(pairs[t])) for t in terms]
        off = np.zeros(len(terms) + 1, dtype=np.int64)
        if lists:
            np.cumsum([len(x) for x in lists], out=off[1:])
        ids = np.fromiter((i for lst in lists for i in lst), dtype=np.int32, count=int(off[-1]))
        return cls(StrArray.build(terms), off, ids)

    def find(self, term: str) -> int:
        """Index of the term in the vocabulary, or -1. Remembered: a hover's related-papers line looks up ~120
        key phrases, most of them looked up before (a bisect decodes ~17 strings: ~2 ms a hover)."""
        got = self._found.get(term)
        if got is not None:
            return got
        if not self._found and len(self.terms) <= self.SMALL:
            # A small vocabulary (a refresh's segment) is remembered whole, at its first look-up: a hover asks
            # each segment for ~30 phrases, most of them absent, ~10 us a bisect.
            self._found.update((t, i) for i, t in enumerate(self.terms.range(0, len(self.terms))))
            self._found_all = True
        if self._found_all:
            return self._found.get(term, -1)
        i = bisect.bisect_left(self.terms, term)
        got = i if i < len(self.terms) and self.terms[i] == term else -1
        if len(self._found) >= self.FOUND_MAX:
            self._found.clear()
        self._found[term] = got
        return got

    def get(self, term: str) -> IdArray:
        i = self.find(term)
        return self.at(i) if i >= 0 else np.zeros(0, dtype=np.int32)

    def at(self, i: int) -> IdArray:
        return self.ids[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """[lo, hi) of the terms that start with prefix."""
        lo = bisect.bisect_left(self.terms, prefix)
        hi = bisect.bisect_left(self.terms, prefix + "\U0010ffff", lo)
        return lo, hi

    def df(self, i: int) -> int:
        return int(self.offsets[i + 1] - self.offsets[i])

    def save(self, path: Path, name: str) -> None:
        self.terms.save(path, f"{name}.terms")
        np.save(path / f"{name}.off.npy", self.offsets)
        np.save(path / f"{name}.ids.npy", self.ids)

    @classmethod
    def load(cls, path: Path, name: str) -> Postings:
        return cls(
            StrArray.load(path, f"{name}.terms"),
            load_mapped(path / f"{name}.off.npy"),
            load_mapped(path / f"{name}.ids.npy"),
        )


class Bloom:
    """A set-membership prefilter over strings: no false negatives, rare false positives, 2 bytes a name."""

    __slots__ = ("bits", "mask")

    def __init__(self, bits: bytearray) -> None:
        self.bits = bits
        self.mask = len(bits) * 8 - 1

    @classmethod
    def build(cls, items: Iterable[str], count: int) -> Bloom:
        size = 1 << max(16, (max(count, 1) * 16 - 1).bit_length())  # ~16 bits an item: ~0.5% false positives
        if isinstance(items, StrArray):
            blob, off = items.packed()
        else:
            enc = [s.encode("utf-8") for s in items]
            off = np.zeros(len(enc) + 1, dtype=np.int64)
            if enc:
                np.cumsum([len(e) for e in enc], out=off[1:])
            blob = np.frombuffer(b"".join(enc), dtype=np.uint8)
        return cls(bloom_bits(np.asarray(blob, dtype=np.uint8), np.asarray(off, dtype=np.int64), size))

    def _idx(self, s: str) -> tuple[int, int, int]:
        data = s.encode("utf-8")
        h1 = zlib.crc32(data)
        h2 = zlib.crc32(data, 0x9E3779B9) | 1
        m = self.mask
        return h1 & m, (h1 + h2) & m, (h1 + 2 * h2) & m

    def add(self, s: str) -> None:
        for i in self._idx(s):
            self.bits[i >> 3] |= 1 << (i & 7)

    def __contains__(self, s: str) -> bool:
        bits = self.bits
        for i in self._idx(s):
            if not bits[i >> 3] & (1 << (i & 7)):
                return False
        return True

    def save(self, path: Path, name: str) -> None:
        (path / f"{name}.bloom").write_bytes(bytes(self.bits))

    @classmethod
    def load(cls, path: Path, name: str) -> Bloom:
        return cls(bytearray((path / f"{name}.bloom").read_bytes()))


def _crc_table() -> npt.NDArray[np.uint32]:
    """CRC-32's (zlib's) table: each byte's remainder under the reflected polynomial 0xEDB88320."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return np.array(table, dtype=np.uint32)


_CRC_TABLE = _crc_table()
_SEED2 = 0x9E3779B9


def _crc32s(blob: npt.NDArray[np.uint8], off: IntArray, start: int) -> npt.NDArray[np.uint32]:
    """`zlib.crc32(s, start)` of every packed string at once: the byte-at-a-time table CRC, one byte position of
    all the strings per step (a million names: a Python call each took seconds)."""
    n = len(off) - 1
    lens = np.diff(off)
    crc = np.full(n, ~np.uint32(start), dtype=np.uint32)
    live = np.flatnonzero(lens > 0)
    j = 0
    while len(live):
        c = crc[live]
        crc[live] = _CRC_TABLE[(c ^ blob[off[live] + j]) & np.uint32(0xFF)] ^ (c >> np.uint32(8))
        j += 1
        live = live[lens[live] > j]
    return ~crc


def bloom_bits(blob: npt.NDArray[np.uint8], off: IntArray, size: int) -> bytearray:
    """The bits `Bloom.add` sets for each packed string, in a filter of `size` bits."""
    m = np.uint64(size - 1)
    h1 = _crc32s(blob, off, 0).astype(np.uint64)
    h2 = (_crc32s(blob, off, _SEED2) | np.uint32(1)).astype(np.uint64)
    bits = np.zeros(size, dtype=bool)
    for k in range(3):
        bits[(h1 + np.uint64(k) * h2) & m] = True
    return bytearray(np.packbits(bits, bitorder="little").tobytes())
