"""Key-phrase terms numbered by a 64-bit hash: what keeps a parallel build's memory off the vocabulary.

A million papers bring ~9M distinct key phrases; numbering them in a dict of strings in the merging process
cost ~1 GB (a string, a dict slot and an int per term) and grew with the vocabulary. Here each worker hashes its
chunk's phrases (`term_hashes`, vectorised), and the merging process keeps per distinct term only its hash, its
document frequency and where it was first seen (20 bytes, in sorted numpy arrays), while every chunk's bags and
vocabulary go to a scratch file. A term's id is its rank in first-seen order (chunk, then place in the chunk):
the very numbering a paper-by-paper build gives, so the related-paper tables come out identical. Strings are
read back at the end only for the terms the index keeps, from the chunk where each was first seen.

A collision (two phrases, one hash) would merge their counts; at 9M terms its odds are ~2e-6 per build, and one
within a chunk is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

U64 = npt.NDArray[np.uint64]
_P = np.uint64(0x100000001B3)  # FNV prime: odd, so powers of it mod 2^64 never vanish
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64's finaliser


def term_hashes(blob: bytes, off: npt.NDArray[np.int64]) -> U64:
    """A 64-bit hash of each packed UTF-8 string blob[off[i]:off[i+1]]: a polynomial over its bytes mod 2^64,
    mixed with its length and finalised (splitmix64) so that similar strings spread; numpy, no Python loop."""
    n = len(off) - 1
    b = np.frombuffer(blob, dtype=np.uint8).astype(np.uint64)
    lens = np.diff(off)
    with np.errstate(over="ignore"):
        if len(b):
            pw = np.cumprod(np.full(int(lens.max()), _P, dtype=np.uint64))  # P^1 .. P^maxlen (wrapping)
            ends = np.repeat(off[1:], lens)
            terms = (b + np.uint64(1)) * pw[ends - 1 - np.arange(len(b))]  # byte i of a string times P^(from end)
            cs = np.zeros(len(b) + 1, dtype=np.uint64)
            np.cumsum(terms, out=cs[1:])
            h = cs[off[1:]] - cs[off[:-1]]
        else:
            h = np.zeros(n, dtype=np.uint64)
        h ^= lens.astype(np.uint64) * _M1
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return h


def _arr(f: IO[bytes], dtype: Any, count: int) -> npt.NDArray[Any]:
    return np.frombuffer(f.read(np.dtype(dtype).itemsize * count), dtype=dtype)


class HashedTerms:
    """The key-phrase bags of a parallel build, chunk by chunk, with their terms counted by hash."""

    def __init__(self, scratch: IO[bytes], merge_at: int = 1 << 20) -> None:
        """merge_at: terms of new chunks held apart before they are merged into the table (at least)."""
        self.f = scratch
        self.merge_at = merge_at
        self.chunks: list[tuple[int, int, int, int, int]] = []  # file offset, terms, blob bytes, papers, entries
        # Distinct terms so far, sorted by hash: document frequency and first sighting (chunk << 32 | place).
        self.h = np.zeros(0, dtype=np.uint64)
        self.df = np.zeros(0, dtype=np.int64)
        self.first = np.zeros(0, dtype=np.uint64)
        self._pending: list[tuple[U64, npt.NDArray[np.int64], U64]] = []
        self._pending_n = 0
        self.n_terms = 0
        self._by_id: npt.NDArray[np.int64] | None = None  # position in `h` -> id (first-seen rank)

    def add_chunk(self, hashes: U64, blob: bytes, off: npt.NDArray[np.int64], tids: npt.NDArray[np.uint32],
                  weights: npt.NDArray[np.float32], lens: npt.NDArray[np.uint32]) -> None:
        """One chunk: its vocabulary (first-seen order) as hashes and packed strings, and its papers' bags as
        local term ids, weights and per-paper lengths."""
        c = len(self.chunks)
        pos = self.f.seek(0, 2)
        for a in (hashes, off, lens, tids, weights):
            self.f.write(np.ascontiguousarray(a).tobytes())
        self.f.write(blob)
        self.chunks.append((pos, len(hashes), len(blob), len(lens), len(tids)))
        # A bag holds a term once, so a term's count of papers in the chunk is its count of bag entries.
        df = np.bincount(tids, minlength=len(hashes)).astype(np.int64)
        first = (np.uint64(c) << np.uint64(32)) | np.arange(len(hashes), dtype=np.uint64)
        self._pending.append((hashes, df, first))
        self._pending_n += len(hashes)
        if self._pending_n >= max(len(self.h), self.merge_at):  # merged when as large as the table: amortised n log n
            self._consolidate()

    def _consolidate(self) -> None:
        if not self._pending:
            return
        h = np.concatenate([self.h, *(p[0] for p in self._pending)])
        o = np.argsort(h, kind="stable")
        h = h[o]
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]]) if len(h) else np.zeros(0, dtype=np.int64)
        df = np.concatenate([self.df, *(p[1] for p in self._pending)])[o]
        first = np.concatenate([self.first, *(p[2] for p in self._pending)])[o]
        del o
        self.h = h[starts]
        self.df = np.add.reduceat(df, starts) if len(starts) else df
        self.first = np.minimum.reduceat(first, starts) if len(starts) else first
        self._pending, self._pending_n = [], 0

    def close(self) -> None:
        """After the last chunk: number the terms in first-seen order."""
        self._consolidate()
        self.n_terms = len(self.h)
        order = np.argsort(self.first)
        self._by_id = np.empty(self.n_terms, dtype=np.int64)
        self._by_id[order] = np.arange(self.n_terms)
        self.df = self.df[order]  # by id from here on
        self.first = self.first[order]

    def bag_chunks(self) -> Iterator[tuple[npt.NDArray[Any], ...]]:
        """The bags again as (term ids, weights, paper seq), a chunk at a time, ids as `close` numbered them."""
        assert self._by_id is not None
        seq0 = 0
        for pos, nv, _, npap, ne in self.chunks:
            self.f.seek(pos)
            hashes = _arr(self.f, np.uint64, nv)
            _arr(self.f, np.int64, nv + 1)
            lens = _arr(self.f, np.uint32, npap)
            tids = _arr(self.f, np.uint32, ne)
            w = _arr(self.f, np.float32, ne)
            gid = self._by_id[np.searchsorted(self.h, hashes)].astype(np.uint32)
            yield gid[tids], w, np.repeat(np.arange(seq0, seq0 + npap, dtype=np.int32), lens)
            seq0 += npap

    def strings(self, ids: npt.NDArray[np.int64]) -> list[str]:
        """The terms with these ids (ascending), read from the chunks where each was first seen."""
        out: list[str] = []
        first = self.first[ids]
        chunk_of = (first >> np.uint64(32)).astype(np.int64)
        place = (first & np.uint64(0xFFFFFFFF)).astype(np.int64)
        bounds = np.flatnonzero(np.r_[True, chunk_of[1:] != chunk_of[:-1], True]) if len(ids) else [0]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            pos, nv, nblob, npap, ne = self.chunks[int(chunk_of[a])]
            self.f.seek(pos + 8 * nv)
            off = _arr(self.f, np.int64, nv + 1)
            self.f.seek(pos + 8 * nv + 8 * (nv + 1) + 4 * npap + 8 * ne)
            blob = self.f.read(nblob)
            for k in place[a:b].tolist():
                out.append(blob[off[k] : off[k + 1]].decode("utf-8"))
        return out
