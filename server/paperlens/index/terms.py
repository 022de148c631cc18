"""Terms numbered by a 64-bit hash: what keeps a parallel build's memory off its vocabularies.

A million papers bring ~9M distinct key phrases, ~3M names and ~1M words. Numbering them in dicts of strings
in the merging process cost gigabytes (a string, a dict slot and an int per term, and the arenas that each
chunk's unpickled strings left pinned), and grew with the vocabulary. Here each worker hashes its chunk's terms
(`term_hashes`, vectorised), and the merging process keeps per distinct term only its hash, where it was first
seen and what is aggregated over the chunks (a count, flags): 20-odd bytes in sorted numpy arrays. Every chunk's
vocabulary (packed strings) and postings go to a scratch file. A term's id is its rank in first-seen order
(chunk, then place in the chunk): the very numbering a paper-by-paper build gives, so the tables come out
identical (tests/unit/test_parallel.py). Strings are read back at the end only for the terms the index keeps,
from the chunk where each was first seen.

A collision (two terms, one hash) would merge them; at 9M terms its odds are ~2e-6 per build, and one within a
chunk is logged by the worker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

U64 = npt.NDArray[np.uint64]
_P = np.uint64(0x100000001B3)  # FNV prime: odd, so powers of it mod 2^64 never vanish
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64's finaliser


HASH_BLOCK = 1 << 20  # bytes hashed at a time: ~40 bytes of numpy temporaries a byte


def term_hashes(blob: bytes, off: npt.NDArray[np.int64]) -> U64:
    """A 64-bit hash of each packed UTF-8 string blob[off[i]:off[i+1]]: a polynomial over its bytes mod 2^64,
    mixed with its length and finalised (splitmix64) so that similar strings spread; numpy, no Python loop.
    The strings are taken HASH_BLOCK bytes at a time, so that the temporaries stay small (a build worker
    hashes its chunk's ~3 MB of words; the merging process a million arXiv ids)."""
    n = len(off) - 1
    data = np.frombuffer(blob, dtype=np.uint8)
    off = np.asarray(off, dtype=np.int64)
    lens = np.diff(off)
    h = np.zeros(n, dtype=np.uint64)
    i = 0
    while i < n:
        j = min(max(int(np.searchsorted(off, off[i] + HASH_BLOCK, side="right")) - 1, i + 1), n)
        a, b = int(off[i]), int(off[j])
        if b > a:
            h[i:j] = _poly(data[a:b], off[i : j + 1] - a)
        i = j
    with np.errstate(over="ignore"):
        h ^= lens.astype(np.uint64) * _M1
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return h


def _poly(data: npt.NDArray[np.uint8], off: npt.NDArray[np.int64]) -> U64:
    """Each string's polynomial: sum of (byte + 1) * P^(its place from the string's end)."""
    b = data.astype(np.uint64)
    lens = np.diff(off)
    with np.errstate(over="ignore"):
        pw = np.cumprod(np.full(int(lens.max()), _P, dtype=np.uint64))  # P^1 .. P^maxlen (wrapping)
        ends = np.repeat(off[1:], lens)
        terms = (b + np.uint64(1)) * pw[ends - 1 - np.arange(len(b))]  # byte i of a string times P^(from end)
        del b, ends
        cs = np.zeros(len(terms) + 1, dtype=np.uint64)
        np.cumsum(terms, out=cs[1:])
        return cs[off[1:]] - cs[off[:-1]]


def pack(strings: Any) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Strings as one UTF-8 blob and offsets: joined by NUL and encoded at once (a third of the time of a bytes
    object per string), unless a string holds a NUL itself."""
    strings = strings if isinstance(strings, list) else list(strings)
    data = "\0".join(strings).encode("utf-8")
    raw = np.frombuffer(data, dtype=np.uint8)
    nul = np.flatnonzero(raw == 0)
    if len(nul) == max(len(strings) - 1, 0):
        off = np.zeros(len(strings) + 1, dtype=np.int64)
        if strings:
            off[1:-1] = nul - np.arange(len(nul))
            off[-1] = len(data) - len(nul)
        return (raw[raw != 0].tobytes() if len(nul) else data), off
    enc = [s.encode("utf-8") for s in strings]
    off = np.zeros(len(enc) + 1, dtype=np.int64)
    if enc:
        np.cumsum([len(e) for e in enc], out=off[1:])
    return b"".join(enc), off


class Vocab:
    """One vocabulary of a parallel build, chunk by chunk: per distinct term its hash, first sighting and the
    columns `reduce` names (each aggregated over the chunks by its ufunc: np.add, np.maximum, ...); per chunk,
    on the scratch file, its terms' strings and whatever arrays the caller stores with them."""

    def __init__(self, scratch: IO[bytes], reduce: dict[str, np.ufunc] | None = None, merge_at: int = 1 << 21) -> None:
        """merge_at: terms of new chunks held apart before they are merged into the table (at least)."""
        self.f = scratch
        self.reduce = reduce or {}
        self.merge_at = merge_at
        self.chunks: list[dict[str, tuple[int, np.dtype[Any], int]]] = []  # name -> (file offset, dtype, count)
        # Distinct terms so far, sorted by hash: first sighting (chunk << 32 | place) and the reduced columns.
        self.h = np.zeros(0, dtype=np.uint64)
        self.first = np.zeros(0, dtype=np.uint64)
        self.cols: dict[str, npt.NDArray[Any]] = {}
        self._pending: list[dict[str, npt.NDArray[Any]]] = []
        self._pending_n = 0
        self.n_terms = 0
        self._by_id: npt.NDArray[np.int64] | None = None  # position in `h` -> id (first-seen rank)
        self.merge_s, self.merges = 0.0, 0  # time in _consolidate, and how many (logged by the build)

    def add_chunk(self, hashes: U64, blob: bytes, off: npt.NDArray[np.int64], cols: dict[str, npt.NDArray[Any]],
                  stored: dict[str, npt.NDArray[Any]]) -> int:
        """One chunk's vocabulary in first-seen order (hashes, packed strings, a value per term for each reduced
        column) and the arrays to keep with it (read back by `read`). Returns the chunk's number."""
        c = len(self.chunks)
        rec: dict[str, tuple[int, np.dtype[Any], int]] = {}
        pos = self.f.seek(0, 2)
        for name, a in {"hashes": hashes, "off": off, "blob": np.frombuffer(blob, dtype=np.uint8), **stored}.items():
            a = np.ascontiguousarray(a)
            rec[name] = (pos, a.dtype, len(a))
            self.f.write(a.tobytes())
            pos += a.nbytes
        self.f.flush()  # (read by pread, from any thread: see `read`)
        self.chunks.append(rec)
        first = (np.uint64(c) << np.uint64(32)) | np.arange(len(hashes), dtype=np.uint64)
        self._pending.append({"h": hashes, "first": first, **cols})
        self._pending_n += len(hashes)
        if self._pending_n >= self.merge_at:
            self._consolidate()
        return c

    def read(self, c: int, name: str) -> npt.NDArray[Any]:
        """An array stored with chunk c. By pread, without the file's position: the key phrases' bags are read
        on a thread of their own while the names and words, on the same scratch file, are read and written."""
        pos, dtype, count = self.chunks[c][name]
        size = dtype.itemsize * count
        data = os.pread(self.f.fileno(), size, pos) if size else b""
        while len(data) < size:  # (a short read: large reads may come in pieces)
            more = os.pread(self.f.fileno(), size - len(data), pos + len(data))
            if not more:
                raise OSError(f"index build: the scratch file ends before chunk {c}'s {name}")
            data += more
        return np.frombuffer(data, dtype=dtype)

    def _consolidate(self) -> None:
        """The pending chunks' terms sorted and reduced into one run, then merged into the table: found terms
        updated in place, new ones inserted in order. Memory: the table twice at most, never the pending terms'
        whole concatenation with the table and its argsort."""
        if not self._pending:
            return
        t0 = time.perf_counter()
        try:
            self._merge_pending()
        finally:
            self.merge_s += time.perf_counter() - t0
            self.merges += 1

    def _merge_pending(self) -> None:
        h = np.concatenate([p["h"] for p in self._pending])
        o = np.argsort(h, kind="stable")
        h = h[o]
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        run = {"first": np.minimum.reduceat(np.concatenate([p["first"] for p in self._pending])[o], starts)}
        for name, fn in self.reduce.items():
            run[name] = fn.reduceat(np.concatenate([p[name] for p in self._pending])[o], starts)
        h = h[starts]
        self._pending, self._pending_n = [], 0
        if not len(self.h):
            self.h, self.first = h, run["first"]
            self.cols = {name: run[name] for name in self.reduce}
            return
        pos = np.searchsorted(self.h, h)
        hit = self.h[np.minimum(pos, len(self.h) - 1)] == h
        at = pos[hit]
        self.first[at] = np.minimum(self.first[at], run["first"][hit])
        for name, fn in self.reduce.items():
            self.cols[name][at] = fn(self.cols[name][at], run[name][hit])
        miss = ~hit
        where = pos[miss]
        self.h = np.insert(self.h, where, h[miss])
        self.first = np.insert(self.first, where, run["first"][miss])
        for name in self.reduce:
            self.cols[name] = np.insert(self.cols[name], where, run[name][miss])

    def close(self) -> None:
        """After the last chunk: number the terms in first-seen order (the columns are by id from here on)."""
        self._consolidate()
        self.n_terms = len(self.h)
        order = np.argsort(self.first)
        self._by_id = np.empty(self.n_terms, dtype=np.int64)
        self._by_id[order] = np.arange(self.n_terms)
        self.first = self.first[order]
        for name in self.reduce:
            self.cols[name] = self.cols[name][order] if name in self.cols else np.zeros(0, dtype=np.int64)

    def release(self) -> None:
        """After the last `ids` and columns read: the hash table and the columns go (at 1M papers ~0.2 GB for the
        key phrases), what `packed` and `strings` read (where each term was first seen) stays."""
        self.h = np.zeros(0, dtype=np.uint64)
        self._by_id = None
        self.cols = {}

    def ids(self, c: int) -> npt.NDArray[np.uint32]:
        """Chunk c's terms (its first-seen order) as ids."""
        assert self._by_id is not None
        hashes = self.read(c, "hashes")
        # Looked up in sorted order: the binary searches then walk the table (millions of hashes) in one
        # direction and hit the cache (1M papers: ~4x less time than in the chunk's order).
        o = np.argsort(hashes)
        out = np.empty(len(hashes), dtype=np.uint32)
        out[o] = self._by_id[np.searchsorted(self.h, hashes[o])]
        return out

    def utf8(self, ids: npt.NDArray[np.int64], blob: str = "blob", off: str = "off") -> list[bytes]:
        """The terms with these ids (ascending), UTF-8, read from the chunks where each was first seen (`blob`,
        `off`: another packed string per term stored with the chunks, e.g. a display form)."""
        out: list[bytes] = []
        for c, places in self._by_chunk(ids):
            o = self.read(c, off).tolist()
            data = self.read(c, blob).tobytes()
            out.extend(data[o[k] : o[k + 1]] for k in places.tolist())
        return out

    def _by_chunk(self, ids: npt.NDArray[np.int64]) -> Iterator[tuple[int, npt.NDArray[np.int64]]]:
        """(chunk, places in it) for runs of ids first seen in the same chunk, in the order of ids."""
        if not len(ids):
            return
        first = self.first[ids]
        chunk_of = (first >> np.uint64(32)).astype(np.int64)
        place = (first & np.uint64(0xFFFFFFFF)).astype(np.int64)
        bounds = np.flatnonzero(np.r_[True, chunk_of[1:] != chunk_of[:-1], True])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            yield int(chunk_of[a]), place[a:b]

    def packed(self, ids: npt.NDArray[np.int64], blob: str = "blob", off: str = "off"
               ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """`utf8` packed as one blob and offsets: no bytes object per term (millions of key phrases)."""
        from paperlens.index.extsort import gather

        blobs, lens = [np.zeros(0, dtype=np.uint8)], [np.zeros(0, dtype=np.int64)]
        for c, places in self._by_chunk(ids):
            got, got_off = gather(self.read(c, blob), self.read(c, off), places)
            blobs.append(got)
            lens.append(np.diff(got_off))
        ln = np.concatenate(lens)
        out_off = np.zeros(len(ln) + 1, dtype=np.int64)
        np.cumsum(ln, out=out_off[1:])
        return np.concatenate(blobs), out_off

    def strings(self, ids: npt.NDArray[np.int64], blob: str = "blob", off: str = "off") -> list[str]:
        """`utf8`, decoded."""
        return [x.decode("utf-8") for x in self.utf8(ids, blob, off)]

    def pairs(self, t: str = "t", s: str = "s") -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
        """The (term id, paper seq) pairs stored with the chunks (local term ids renumbered), in chunk order."""
        ts, ss = [np.zeros(0, dtype=np.uint32)], [np.zeros(0, dtype=np.uint32)]
        for c in range(len(self.chunks)):
            ts.append(self.ids(c)[self.read(c, t)])
            ss.append(self.read(c, s).astype(np.uint32))
        return np.concatenate(ts), np.concatenate(ss)


class HashedTerms(Vocab):
    """The key-phrase bags of a parallel build, chunk by chunk, with their terms' document frequencies."""

    def __init__(self, scratch: IO[bytes], merge_at: int = 1 << 21) -> None:
        super().__init__(scratch, {"df": np.add}, merge_at)
        self._seq0: list[int] = [0]

    def add_chunk(self, hashes: U64, blob: bytes, off: npt.NDArray[np.int64],  # type: ignore[override]
                  tids: npt.NDArray[np.uint32], weights: npt.NDArray[np.float32],
                  lens: npt.NDArray[np.uint32]) -> int:
        """One chunk: its vocabulary (first-seen order) as hashes and packed strings, and its papers' bags as
        local term ids, weights and per-paper lengths."""
        # A bag holds a term once, so a term's count of papers in the chunk is its count of bag entries.
        df = np.bincount(tids, minlength=len(hashes)).astype(np.int64)
        self._seq0.append(self._seq0[-1] + len(lens))
        return super().add_chunk(hashes, blob, off, {"df": df}, {"tids": tids, "w": weights, "lens": lens})

    @property
    def df(self) -> npt.NDArray[np.int64]:
        return self.cols["df"]

    def bag_chunks(self) -> Iterator[tuple[npt.NDArray[Any], ...]]:
        """The bags again as (term ids, weights, paper seq), a chunk at a time, ids as `close` numbered them."""
        for part in self.bag_parts():
            yield bag_arrays(*part)

    def bag_parts(self) -> Iterator[tuple[Any, ...]]:
        """The bags a chunk at a time as stored (`bag_arrays` makes them `bag_chunks`): the chunk's terms' ids
        (as `close` numbered them), its bags' local term ids, weights and lengths, and its first paper's seq. A
        few bytes an entry fewer than `bag_chunks`, and no gather over every entry here (parallel.Workers)."""
        for c in range(len(self.chunks)):
            yield self.ids(c), self.read(c, "tids"), self.read(c, "w"), self.read(c, "lens"), self._seq0[c]


def bag_arrays(ids: npt.NDArray[np.uint32], tids: npt.NDArray[np.uint32], w: npt.NDArray[np.float32],
               lens: npt.NDArray[np.uint32], seq0: int) -> tuple[npt.NDArray[Any], ...]:
    """A chunk's bags (`HashedTerms.bag_parts`) as (term ids, weights, paper seq)."""
    return ids[tids], w, np.repeat(np.arange(seq0, seq0 + len(lens), dtype=np.int32), lens)
