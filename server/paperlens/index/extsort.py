"""The related-paper postings of a big build in bounded memory: an external sort of their triples.

A million papers give ~36M (key phrase, paper, weight) triples. Sorted in memory, with the uint64 sort key, its
temporaries and the by-paper transpose, they cost the merging process ~2 GB on top of everything else. Here the
triples go to a scratch file as they are made (`TripleRuns.add`, a chunk of papers at a time), with a count per
term. Once the terms' order is known (their strings sorted), the term ids are cut into ranges of at most `run`
triples each; one pass over the file partitions the triples by range, and each range is sorted in memory on its
own and appended to the output: the result is the one sort of everything (`build.postings`) would give, byte for
byte, with ~30 bytes a triple of one range in flight instead of all of them. The per-paper transpose
(`doc_order`) is cut the same way, by ranges of paper ids.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from paperlens.index.store import Postings, StrArray

RUN = 1 << 22  # triples sorted in memory at a time, over all threads (~120 MB of transients)


def _threads() -> int:
    try:
        return max(1, min(2, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(2, os.cpu_count() or 1))


def _in_order(fn: Callable[[Any], Any], items: Iterable[Any], threads: int) -> Iterator[Any]:
    """fn over items on `threads` threads, results in order, at most `threads` items in flight (so that the
    ranges' transients stay those of RUN triples in all): numpy's sorts and array operations release the GIL."""
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="index-sort") as pool:
        pending: deque[Future[Any]] = deque()
        for x in items:
            if len(pending) >= threads:
                yield pending.popleft().result()
            pending.append(pool.submit(fn, x))
        while pending:
            yield pending.popleft().result()


# The strings of some term ids (ascending): a list of UTF-8 bytes, or packed as (blob, offsets).
TermStrings = Callable[[npt.NDArray[np.int64]], "list[bytes] | tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]"]
GATHER = 1 << 15  # strings copied at a time by `gather` (its index arrays take 24 bytes a byte copied)


def sorted_terms(strings: TermStrings, n_terms: int, keep: npt.NDArray[np.bool_] | None
                 ) -> tuple[StrArray, npt.NDArray[np.int64]]:
    """The kept terms sorted by their string (`strings` gives the UTF-8 strings of ascending ids, as a list or
    packed as (blob, offsets)), and each one's old id. UTF-8's byte order is the strings' code point order, so
    no decoding is needed; the sort is numpy's (`sort_packed`), not a list of millions of bytes objects."""
    cand = np.flatnonzero(keep) if keep is not None else np.arange(n_terms, dtype=np.int64)
    got = strings(cand)
    if isinstance(got, tuple):
        blob, off = got
    else:
        off = np.zeros(len(got) + 1, dtype=np.int64)
        if got:
            np.cumsum([len(x) for x in got], out=off[1:])
        blob = np.frombuffer(b"".join(got), dtype=np.uint8)
        del got
    order = sort_packed(blob, off)
    sblob, soff = gather(blob, off, order)
    return StrArray(sblob, soff), cand[order]


def gather(blob: npt.NDArray[np.uint8], off: npt.NDArray[np.int64], idx: npt.NDArray[np.int64]
           ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The packed strings idx (in that order), packed."""
    lens = off[idx + 1] - off[idx]
    out_off = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lens, out=out_off[1:])
    out = np.empty(int(out_off[-1]), dtype=np.uint8)
    for a in range(0, len(idx), GATHER):
        b = min(a + GATHER, len(idx))
        ln = lens[a:b]
        src = np.repeat(off[idx[a:b]] - out_off[a:b], ln) + np.arange(out_off[a], out_off[b])
        out[out_off[a] : out_off[b]] = blob[src]
    return out, out_off


def _word(blob: npt.NDArray[np.uint8], off: npt.NDArray[np.int64], lens: npt.NDArray[np.int64],
          sel: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.uint64]:
    """Bytes 8k..8k+7 of the strings sel as big-endian uint64s (zeros past a string's end)."""
    w = np.zeros(len(sel), dtype=np.uint64)
    start, ln = off[sel], lens[sel]
    for j in range(8):
        at = 8 * k + j
        valid = ln > at
        if not valid.any():
            break
        b = np.zeros(len(sel), dtype=np.uint64)
        b[valid] = blob[start[valid] + at]
        w |= b << np.uint64(8 * (7 - j))
    return w


SPLIT_MIN = 1 << 18  # strings from which `sort_packed` sorts two halves on two threads


def sort_packed(blob: npt.NDArray[np.uint8], off: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The order of packed byte strings as `sorted` orders bytes (stable): by 8-byte words, most significant
    first, each round only over the groups still tied. (A NUL byte would tie "a" with "a\\0": then `sorted`.)
    Many strings: cut in two by their first byte (one half's all sort before the other's), each half sorted on a
    thread of its own (numpy's sorts and gathers leave the GIL: at 1M papers ~5M key phrases, ~3M names)."""
    n = len(off) - 1
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    if not (blob != 0).all():
        return np.asarray(sorted(range(n), key=lambda i: bytes(blob[off[i] : off[i + 1]])), dtype=np.int64)
    lens = np.diff(off)
    if n < SPLIT_MIN or _threads() < 2:
        return _sort_some(blob, off, lens, np.arange(n, dtype=np.int64))
    lead = np.where(lens > 0, blob[np.minimum(off[:-1], len(blob) - 1)].astype(np.int64), -1) if len(blob) else \
        np.full(n, -1, dtype=np.int64)
    cum = np.cumsum(np.bincount(lead + 1, minlength=257))
    cut = int(np.searchsorted(cum, n // 2)) + 1  # (lead + 1) below it: the first half
    low = lead + 1 < cut
    halves = [np.flatnonzero(low), np.flatnonzero(~low)]
    del lead, low
    with ThreadPoolExecutor(2, thread_name_prefix="index-sort") as pool:
        got = list(pool.map(lambda sel: _sort_some(blob, off, lens, sel), halves))
    return np.concatenate(got)


def _sort_some(blob: npt.NDArray[np.uint8], off: npt.NDArray[np.int64], lens: npt.NDArray[np.int64],
               sel: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`sort_packed` of the strings sel (ascending): their ids in order."""
    n = len(sel)
    if n == 0:
        return sel
    w = _word(blob, off, lens, sel, 0)
    o = np.argsort(w, kind="stable")
    order, w = sel[o], w[o]
    del o
    starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
    ends = np.r_[starts[1:], n]
    del w
    k = 1
    while True:
        # Groups still tied: more than one string, and one of them goes on past the 8k bytes compared.
        size = ends - starts
        first = np.r_[0, np.cumsum(size)[:-1]]
        pos = np.repeat(starts - first, size) + np.arange(int(size.sum()))  # their places in `order`
        if not len(pos):
            break
        open_ = (size > 1) & (np.maximum.reduceat(lens[order[pos]], first) > 8 * k)
        if not open_.any():
            break
        starts, ends = starts[open_], ends[open_]
        size = ends - starts
        pos = np.repeat(starts - np.r_[0, np.cumsum(size)[:-1]], size) + np.arange(int(size.sum()))
        gid = np.repeat(np.arange(len(starts)), size)
        w = _word(blob, off, lens, order[pos], k)
        sub = np.lexsort((w, gid))  # by group, then word; stable: ties keep their order
        order[pos] = order[pos][sub]
        w = w[sub]
        brk = np.flatnonzero(np.r_[True, (w[1:] != w[:-1]) | (gid[1:] != gid[:-1])])
        starts = pos[brk]
        ends = np.r_[pos[brk[1:] - 1] + 1, pos[-1] + 1]
        del w, gid, sub
        k += 1
    return order


def _cuts(counts: npt.NDArray[np.int64], run: int) -> list[tuple[int, int]]:
    """[lo, hi) ranges of consecutive ids with at most `run` items each (an id with more is a range alone)."""
    cum = np.cumsum(counts)
    total = int(cum[-1]) if len(cum) else 0
    edges = [0]
    while edges[-1] < len(counts):
        lo = edges[-1]
        before = int(cum[lo - 1]) if lo else 0
        hi = int(np.searchsorted(cum, before + run, side="right"))
        edges.append(max(hi, lo + 1))
    if total == 0:
        return [(0, len(counts))]
    return list(zip(edges[:-1], edges[1:], strict=True))


class TripleRuns:
    """(term id, paper seq, float16 weight) triples on a scratch file, chunk by chunk, with each term's count."""

    def __init__(self, n_terms: int, run: int | None = None, scratch: IO[bytes] | None = None) -> None:
        self.f = scratch if scratch is not None else tempfile.TemporaryFile()  # noqa: SIM115 (closed in postings)
        self.run = run or RUN
        self.counts = np.zeros(n_terms, dtype=np.int64)
        self.chunks: list[tuple[int, int]] = []  # (file offset, triples)
        self.n = 0

    def add(self, t: npt.NDArray[Any], s: npt.NDArray[Any], w16: npt.NDArray[np.float16],
            counted: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None = None) -> None:
        """counted: `np.unique(t, return_counts=True)` made already (by a build's worker)."""
        pos = self.f.seek(0, 2)
        self.f.write(t.astype(np.uint32).tobytes())
        self.f.write(s.astype(np.uint32).tobytes())
        self.f.write(np.ascontiguousarray(w16, dtype=np.float16).tobytes())
        self.chunks.append((pos, len(t)))
        self.n += len(t)
        u, c = np.unique(t, return_counts=True) if counted is None else counted
        self.counts[u] += c

    def _read(self, pos: int, k: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.uint16]]:
        self.f.seek(pos)
        data = self.f.read(10 * k)
        return (np.frombuffer(data, dtype=np.uint32, count=k), np.frombuffer(data, dtype=np.uint32, count=k,
                                                                            offset=4 * k),
                np.frombuffer(data, dtype=np.uint16, count=k, offset=8 * k))

    def triples(self) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.float16]]:
        """Every triple added, in memory (for the rare build whose ids do not fit one sort key)."""
        got = [self._read(pos, k) for pos, k in self.chunks]
        return (np.concatenate([np.zeros(0, np.uint32), *(g[0] for g in got)]),
                np.concatenate([np.zeros(0, np.uint32), *(g[1] for g in got)]),
                np.concatenate([np.zeros(0, np.uint16), *(g[2] for g in got)]).view(np.float16))

    def postings(self, strings: TermStrings, rank: npt.NDArray[np.int32], keep: npt.NDArray[np.bool_] | None = None
                 ) -> tuple[Postings, npt.NDArray[np.int64], npt.NDArray[np.float16]] | None:
        """`build.postings(strings, n_terms, t, s, rank, keep, w16)` over every triple added (the kept terms,
        default the used ones; their papers by id, float16 weights), range by range; None when the packed key
        does not fit 64 bits (then the caller sorts in memory)."""
        used = self.counts > 0 if keep is None else keep
        terms, order_terms = sorted_terms(strings, len(self.counts), used)
        nt = len(order_terms)
        pid_bits = max(1, (len(rank) - 1).bit_length())
        if max(1, (nt - 1).bit_length()) + pid_bits + 16 > 64:
            return None
        shift = np.uint64(pid_bits + 16)
        new_of_old = np.full(len(self.counts), -1, dtype=np.int64 if nt >= 1 << 31 else np.int32)
        new_of_old[order_terms] = np.arange(nt)
        threads = _threads()
        cuts = _cuts(self.counts[order_terms], max(1, self.run // threads))
        del used
        # Partition: each chunk's triples by range of new term id, appended to the scratch file as pieces.
        pieces: list[list[tuple[int, int]]] = [[] for _ in cuts]
        lows = np.asarray([lo for lo, _ in cuts], dtype=np.int64)
        end = self.f.seek(0, 2)
        for pos, k in self.chunks:
            t, s, w = self._read(pos, k)
            new = new_of_old[t]
            if keep is not None:  # the triples of terms left out go
                mask = np.greater_equal(new, 0)
                if not mask.all():
                    new, s, w = new[mask], s[mask], w[mask]
                    k = len(new)
                del mask
            key = new.astype(np.uint64) << shift
            key |= rank[s].astype(np.uint64) << np.uint64(16)
            key |= w.astype(np.uint64)
            del t, s, w
            part = np.searchsorted(lows, new, side="right") - 1 if len(cuts) > 1 else np.zeros(k, dtype=np.int64)
            o = np.argsort(part, kind="stable")
            key, part = key[o], part[o]
            bounds = np.searchsorted(part, np.arange(len(cuts) + 1))
            self.f.seek(end)
            for b in np.flatnonzero(np.diff(bounds)).tolist():
                piece = key[bounds[b] : bounds[b + 1]]
                self.f.write(piece.tobytes())
                pieces[b].append((end, len(piece)))
                end += piece.nbytes
        del new_of_old
        # Each range sorted alone, appended: the whole sort, a range at a time (on two threads: the ranges are
        # cut to half the size then, for the same memory).
        pid = np.empty(self.n, dtype=np.int32)
        w16 = np.empty(self.n, dtype=np.float16)
        offsets = np.zeros(nt + 1, dtype=np.int64)
        fd = self.f.fileno()
        self.f.flush()

        def one(job: tuple[tuple[int, int], list[tuple[int, int]]]) -> tuple[npt.NDArray[Any], ...]:
            (lo, hi), ps = job
            key = np.empty(sum(k for _, k in ps), dtype=np.uint64)
            i = 0
            for pos, k in ps:
                key[i : i + k] = np.frombuffer(_pread(fd, 8 * k, pos), dtype=np.uint64)
                i += k
            key.sort()
            if len(key) > 1:  # distinct (term, paper) pairs: of equal ones (weights aside) the first is kept
                pair = key >> np.uint64(16)
                first = np.empty(len(key), dtype=bool)
                first[0] = True
                np.not_equal(pair[1:], pair[:-1], out=first[1:])
                del pair
                if not first.all():
                    key = key[first]
                del first
            low = key.view(np.uint16)[::4] if sys.byteorder == "little" else (key & np.uint64(0xFFFF)).astype(np.uint16)
            w = low.copy()
            del low
            key >>= np.uint64(16)
            counts = np.bincount((key >> np.uint64(pid_bits)).astype(np.int64) - lo, minlength=hi - lo)
            key &= np.uint64((1 << pid_bits) - 1)
            return w, key.astype(np.int32), counts

        at = 0
        for (lo, hi), (w, p, counts) in zip(cuts, _in_order(one, zip(cuts, pieces, strict=True), threads),
                                             strict=True):
            m = len(p)
            w16.view(np.uint16)[at : at + m] = w
            pid[at : at + m] = p
            offsets[lo + 1 : hi + 1] = at + np.cumsum(counts)
            at += m
            del w, p, counts
        self.f.close()
        return Postings(terms, offsets, pid[:at]), order_terms, w16[:at]


def doc_order(post: Postings, w: npt.NDArray[np.float16], n: int, run: int | None = None
              ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float16]] | None:
    """Per paper, its postings heaviest first, then by term (`build.by_doc_order`), as the `doc_term_*`
    columns: offsets by paper id, term ids, weights; a range of paper ids at a time. None when the sort key
    does not fit (then the caller sorts in memory)."""
    ids = np.asarray(post.ids)
    total = len(ids)
    pos_bits = max(1, (total - 1).bit_length())
    id_bits = max(1, int(ids.max()).bit_length()) if total else 1
    wb = w.view(np.uint16)
    if not total or pos_bits + id_bits + 16 > 64 or (wb & np.uint16(0x8000)).any():
        return None
    per_paper = np.bincount(ids, minlength=n)
    doc_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_paper, out=doc_off[1:])
    offsets = np.asarray(post.offsets)
    term_ids = np.empty(total, dtype=np.int32)
    weights = np.empty(total, dtype=np.float16)
    threads = _threads()

    def one(cut: tuple[int, int]) -> None:  # (each range fills its own slice of the output)
        lo, hi = cut
        where = np.flatnonzero((ids >= lo) & (ids < hi))
        key = (ids[where] - lo).astype(np.uint64) << np.uint64(16 + pos_bits)
        key |= (np.uint16(0xFFFF) - wb[where]).astype(np.uint64) << np.uint64(pos_bits)
        key |= where.astype(np.uint64)
        del where
        key.sort()
        key &= np.uint64((1 << pos_bits) - 1)
        at = key.view(np.int64)
        a, b = int(doc_off[lo]), int(doc_off[hi])
        term_ids[a:b] = _containing(offsets, at)  # the term whose postings hold it
        weights[a:b] = w[at]

    for _ in _in_order(one, _cuts(per_paper, max(1, (run or RUN) // threads)), threads):
        pass
    return doc_off, term_ids, weights


def _pread(fd: int, size: int, pos: int) -> bytes:
    """size bytes at pos of a file, without its position (ranges are read on several threads)."""
    data = os.pread(fd, size, pos) if size else b""
    while len(data) < size:  # (a short read: large reads may come in pieces)
        more = os.pread(fd, size - len(data), pos + len(data))
        if not more:
            raise OSError("index build: the scratch file ends early")
        data += more
    return data


def _containing(offsets: npt.NDArray[np.int64], at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`np.searchsorted(offsets, at, side="right") - 1`, looked up in ascending order: millions of binary
    searches in random order over millions of offsets miss the cache at every step (1M papers: ~2 s a range
    of 4M; sorted first, ~0.4 s)."""
    n = len(at)
    bits = max(1, (n - 1).bit_length())
    top = int(at.max()) if n else 0
    if n == 0 or max(1, top.bit_length()) + bits > 64:
        o = np.argsort(at)
        out = np.empty(n, dtype=np.int64)
        out[o] = np.searchsorted(offsets, at[o], side="right") - 1
        return out
    key = (at.astype(np.uint64) << np.uint64(bits)) | np.arange(n, dtype=np.uint64)
    key.sort()
    out = np.empty(n, dtype=np.int64)
    out[(key & np.uint64((1 << bits) - 1)).astype(np.int64)] = \
        np.searchsorted(offsets, (key >> np.uint64(bits)).astype(np.int64), side="right") - 1
    return out
