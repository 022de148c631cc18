"""Building an index from a stream of papers, with memory bounded by the compact columns, not by the papers.

Papers go by once: their records (abstracts included) are written to a file straight away, their strings packed
into byte arrays, and every (term, paper) pair into flat integer arrays. Posting lists are made at the end by
sorting those arrays with numpy. Content vectors need document frequencies first, so a second pass re-reads the
records file.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import datetime as dt
import io
import json
import logging
import math
import os
import sys
import tempfile
import time
from array import array
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from paperlens.core.model import PAPER_FIELDS, Paper, Repo
from paperlens.core.text import name_prefixes, norm_name, words
from paperlens.index.aliases import CODE, method_name, paper_aliases
from paperlens.index.columns import Columns
from paperlens.index.dense import DENSE_MAX, DIM, text_of
from paperlens.index.dense import column as dense_column
from paperlens.index.extsort import TermStrings, TripleRuns, doc_order, gather, sort_packed, sorted_terms
from paperlens.index.keys import base_key, dedupe_key_list
from paperlens.index.semantic import key_phrase_bags, key_phrase_bags_packed, key_phrases, telling
from paperlens.index.store import Bloom, Postings, StrArray
from paperlens.index.terms import HashedTerms, Vocab, bag_arrays, pack, term_hashes
from paperlens.index.typo import packed_signatures

log = logging.getLogger(__name__)

F_COMMON, F_CODE_ONLY = 1, 2
REL_TERMS = 32  # key phrases kept per paper for related-paper search (among those other papers share)
REL_OWN = 4  # and of its own phrases, which no other paper has
BAG_BATCH = 2048  # papers whose key phrases a worker extracts at once (key_phrase_bags): a chunk (~40 MB)
_MIN_ORD = 693596  # date(1900, 1, 1).toordinal()


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return None


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Log a step of a build with its wall time and this process's CPU time (all its threads), at INFO
    ($PAPERLENS_LOG=info in a background build): where a big build's minutes go, without a profiler."""
    if not log.isEnabledFor(logging.INFO):
        yield
        return
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        log.info("index build: %s: %.2f s wall, %.2f CPU-s; RSS %s", name, time.perf_counter() - t0,
                 time.process_time() - c0, _rss())


def _rss() -> str:
    """This process's resident memory now and at its peak (Linux), for the build's log."""
    try:
        with open("/proc/self/status") as f:
            got = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
    except OSError:
        return "?"
    return f"{int(got['VmRSS'].split()[0]) // 1024} MB (peak {int(got['VmHWM'].split()[0]) // 1024} MB)"


def return_freed_memory() -> None:
    """Hand memory that was freed back to the system. glibc keeps freed heap memory for reuse, and the merge's
    numpy temporaries and unpickled chunks leave it fragmented: without this the merging process's RSS grew
    with every chunk (a third of it free memory at 20k papers)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def freed_blocks_kept(top: int = 32 << 20) -> None:
    """Freed blocks under `top` bytes kept in the heap for reuse (neither mapped alone nor trimmed): a process
    that makes arrays of the same few sizes over and over (a build worker: chunks of papers, then of bags) takes
    them from its heap again instead of from fresh pages that the kernel faults in and zeroes (that was a third of
    a ranking worker's CPU time: 0.47 of 1.4 s system time at 100k papers; its RSS stays ~75 MB)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, top)  # M_MMAP_THRESHOLD (a fixed one: no more growing with the blocks freed)
        libc.mallopt(-1, 4 * top)  # M_TRIM_THRESHOLD


def big_blocks_mapped() -> None:
    """Blocks of 1 MB and more (numpy arrays, pickled chunks) mapped and unmapped on their own, so that they
    go back to the system when freed; glibc's default threshold grows with the blocks freed, up to 32 MB, and
    then keeps them in the heap."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD


def one_heap_for_threads() -> None:
    """One malloc arena for every thread besides the main one: glibc gives each new thread a heap of its own (up
    to 8 a core), and memory a worker thread frees stays in its heap. Under the GIL the threads seldom allocate at
    once: a refresh at 1M (its scan and its four repo-fetching threads) held ~65 MB more with the default."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-8, 2)  # M_ARENA_MAX


# Each paper's top terms on a scratch file, the terms' idf and their strings (`IndexBuilder._related_terms`).
RelatedTerms = tuple[TripleRuns, npt.NDArray[np.float64], TermStrings]


class TopTermsPool(Protocol):
    """Processes that run `top_terms` on chunks of bags (parallel.Workers)."""

    def top_terms(self, idf: npt.NDArray[np.float64], df: npt.NDArray[np.int64],
                  parts: Iterable[tuple[Any, ...]]) -> Iterator[tuple[npt.NDArray[Any], ...]]: ...

    def close(self) -> None: ...


class Strings:
    """Append-only packed strings (UTF-8 blob + offsets)."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.off = array("q", [0])

    def add(self, s: str) -> None:
        self.blob += s.encode("utf-8")
        self.off.append(len(self.blob))

    def get(self, i: int) -> str:
        return self.blob[self.off[i] : self.off[i + 1]].decode("utf-8")

    def permuted(self, order: npt.NDArray[np.int64]) -> StrArray:
        """The strings in a new order, as a StrArray, without decoding them."""
        blob, off = gather(np.frombuffer(self.blob, dtype=np.uint8), np.frombuffer(self.off, dtype=np.int64),
                           np.asarray(order, dtype=np.int64))
        return StrArray(blob, off)


class Pairs:
    """(term, paper) pairs with a term dictionary."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.t = array("I")
        self.s = array("I")

    def term(self, term: str) -> int:
        j = self.ids.get(term)
        if j is None:
            j = self.ids[term] = len(self.ids)
        return j

    def add(self, term: str, seq: int) -> None:
        self.t.append(self.term(term))
        self.s.append(seq)

    def postings(
        self, rank: npt.NDArray[np.int32], keep: npt.NDArray[np.bool_] | None = None, weights: array | None = None
    ) -> tuple[Postings, npt.NDArray[np.int64], npt.NDArray[np.float32] | None]:
        """CSR posting lists over paper ids (`rank[seq]`), terms sorted; also each kept term's old id."""
        vocab = list(self.ids)
        return postings(lambda ids: [vocab[j].encode("utf-8") for j in ids.tolist()], len(vocab),
                        np.frombuffer(self.t, np.uint32), np.frombuffer(self.s, np.uint32), rank, keep,
                        np.frombuffer(weights, dtype=np.float32) if weights is not None else None)


def postings(strings: TermStrings, n_terms: int, t: npt.NDArray[np.uint32],
             s: npt.NDArray[np.uint32], rank: npt.NDArray[np.int32], keep: npt.NDArray[np.bool_] | None = None,
             w: npt.NDArray[Any] | None = None) -> tuple[Postings, npt.NDArray[np.int64], npt.NDArray[Any] | None]:
    """CSR posting lists from (term id, paper seq) pairs: terms sorted by their string (only the kept ones;
    `strings` gives the UTF-8 strings of ascending ids), paper ids `rank[seq]` sorted and distinct per term (the
    first pair's weight wins); also each kept term's old id and the weights in posting order.

    Memory: one uint64 key a pair, sorted in place (the int64 copies this took before cost a million papers'
    build ~3 GB). Float16 weights of distinct pairs ride in the key's low bits when they fit, so that no
    argsort (8 bytes a pair more) is needed."""
    terms, order_terms = sorted_terms(strings, n_terms, keep)
    nt = len(order_terms)
    new_of_old = np.full(n_terms, -1, dtype=np.int64)
    new_of_old[order_terms] = np.arange(nt)
    key = new_of_old[t]
    del new_of_old
    if keep is not None:
        mask = key >= 0
        if not mask.all():  # (the related terms kept are exactly those of the pairs: nothing to drop)
            key, s = key[mask], s[mask]
            if w is not None:
                w = w[mask]
        del mask
    key = key.view(np.uint64)  # no negative ids left
    pid_bits = max(1, (len(rank) - 1).bit_length())
    packed = w is not None and w.dtype == np.float16 and max(1, (nt - 1).bit_length()) + pid_bits + 16 <= 64
    shift = np.uint64(pid_bits + 16 if packed else 32)
    key <<= shift
    if packed:
        assert w is not None
        key |= rank[s].astype(np.uint64) << np.uint64(16)
        key |= w.view(np.uint16).astype(np.uint64)
    else:
        key |= rank[s].astype(np.uint64)
    if w is not None and not packed:
        o = np.argsort(key, kind="stable")  # stable: of equal pairs, the first one's weight is kept
        key, w = key[o], w[o]
        del o
    else:
        key.sort()
    if len(key):
        pair = key >> np.uint64(16) if packed else key
        first = np.empty(len(key), dtype=bool)
        first[0] = True
        np.not_equal(pair[1:], pair[:-1], out=first[1:])  # (packed: equal pairs differ by weight only; one kept)
        del pair
        if not first.all():
            key = key[first]
            if w is not None and not packed:
                w = w[first]
        del first
    offsets = np.searchsorted(key, np.arange(nt + 1, dtype=np.uint64) << shift).astype(np.int64)
    if packed:
        low = key.view(np.uint16)[::4] if sys.byteorder == "little" else (key & np.uint64(0xFFFF)).astype(np.uint16)
        w = low.copy().view(np.float16)  # the low 16 bits (on a little-endian machine: a view, no uint64 temporary)
        del low
        key >>= np.uint64(16)
    key &= np.uint64((1 << (int(shift) - (16 if packed else 0))) - 1)
    pid = key.astype(np.int32)
    return Postings(terms, offsets, pid), order_terms, w


def by_doc_order(ids: npt.NDArray[np.int32], w: npt.NDArray[np.float16]) -> npt.NDArray[np.int64]:
    """The postings' order by paper id, heaviest weight first, then by term (their order in the postings):
    `np.lexsort((-w, ids))`, as one uint64 key sorted in place when it fits (non-negative float16 weights
    order as their bits do)."""
    n = len(ids)
    pos_bits = max(1, (n - 1).bit_length())
    id_bits = max(1, int(ids.max()).bit_length()) if n else 1
    if n and pos_bits + id_bits + 16 <= 64 and not (w.view(np.uint16) & np.uint16(0x8000)).any():
        key = ids.astype(np.uint64) << np.uint64(16 + pos_bits)
        key |= (np.uint16(0xFFFF) - w.view(np.uint16)).astype(np.uint64) << np.uint64(pos_bits)
        key |= np.arange(n, dtype=np.uint64)
        key.sort()
        key &= np.uint64((1 << pos_bits) - 1)
        return key.view(np.int64)
    return np.lexsort((-w.astype(np.float32), ids))


# Paper's fields and their JSON keys ('"title": '), in order; what Paper.to_json leaves out (title aside).
_FIELD_KEYS = tuple((name, encode_basestring(name) + ": ") for name in PAPER_FIELDS)
_EMPTY = (None, "", (), 0, False)
# The bytes a JSON string holds as they are (json.dumps, ensure_ascii=False, escapes '"', '\\' and controls).
_JSON_PLAIN = bytes(c for c in range(32, 128) if c not in b'"\\')


def _json_str(s: str) -> str:
    """json.dumps(s, ensure_ascii=False): a long ASCII text that needs no escape (an abstract, most often)
    without json's character-by-character escaping loop (~4 µs an abstract): its bytes less the plain ones
    (translate, ~1 µs) tell."""
    if len(s) > 64 and s.isascii() and not s.encode().translate(None, _JSON_PLAIN):
        return '"' + s + '"'
    return encode_basestring(s)


def record(p: Paper, aliases: list[str]) -> bytes:
    """A paper's line in the records file: the bytes of `json.dumps({"paper": p.to_json(), "aliases": aliases},
    ensure_ascii=False)` and a newline, put together field by field (a cold build writes a million of them:
    no dict, no json encoder's walk of it; ~2x faster). A value but a string, an int, a date or a tuple of
    strings goes through json.dumps."""
    parts: list[str] = []
    for name, key in _FIELD_KEYS:
        v = getattr(p, name)
        if not v and v in _EMPTY and name != "title":
            continue
        cls = v.__class__
        if cls is str:
            parts.append(key + _json_str(v))
        elif cls is int:
            parts.append(key + int.__repr__(v))
        elif cls is tuple:
            try:  # (encode_basestring: a TypeError for anything but a string)
                parts.append(key + "[" + ", ".join(map(encode_basestring, v)) + "]")
            except TypeError:
                parts.append(key + json.dumps(list(v), ensure_ascii=False))
        elif isinstance(v, dt.date):
            parts.append(key + '"' + v.isoformat() + '"')
        else:
            parts.append(key + json.dumps(v, ensure_ascii=False))
    return ('{"paper": {' + ", ".join(parts) + '}, "aliases": [' + ", ".join(map(encode_basestring, aliases))
            + "]}\n").encode()


class IndexBuilder:
    """Feed papers with `add`, then `finish` into the index's columns and tables."""

    def __init__(self, repos: dict[str, Repo], records: BinaryIO | None = None, *,
                 taken: Container[str] = frozenset(), ref: Columns | None = None, defer_terms: bool = False) -> None:
        """taken, ref: for a segment added to a built index (see segments.py): the keys the index has given
        already (a new paper never takes one), and the index whose document frequencies weigh this segment's
        key phrases too (so that 100 new papers are not scored by their own statistics alone).
        defer_terms (a worker's chunk, parallel.py): words and key phrases are kept as lists of strings and
        numbered once, by `numbered_terms`, instead of a dictionary look-up per term in Python as they come."""
        self.defer: tuple[list[str], array[int], list[tuple[str, str, tuple[str, ...]]]] | None = \
            ([], array("I"), []) if defer_terms else None
        self.repos = repos
        self.taken = taken
        self.ref = ref
        self.rec = records if records is not None else io.BytesIO()
        self.n = 0
        self.rec_start = array("q")
        self.rec_end = array("q")
        self.titles, self.methods, self.authors = Strings(), Strings(), Strings()
        self.repo_names, self.arxiv, self.base_keys = Strings(), Strings(), Strings()
        self.user_key = array("b")
        self.year = array("h")
        self.upvotes = array("i")
        self.date_ord = array("i")
        self.names = Pairs()
        self.name_display: list[str] = []
        self.name_common = bytearray()
        self.name_code_only = bytearray()
        self.prefixes: set[str] = set()
        self.words = Pairs()
        # Key-phrase bags, kept on disk as (term id, weight) runs so the second pass needs no re-tokenising.
        self.content = Pairs()
        self.bag_len = array("I")
        self.bags = tempfile.TemporaryFile() if records is not None else io.BytesIO()
        # A parallel build (parallel.py) numbers key phrases, names and words by hash instead (terms.py).
        self.hashed: HashedTerms | None = None
        self.hnames: Vocab | None = None
        self.hwords: Vocab | None = None
        # Dense vectors (dense.py): looked up or embedded at finish, for a small index only.
        self.texts: list[str] | None = []
        # A parallel build's worker processes, kept for the related-paper step of `finish` (parallel.py).
        self.workers: TopTermsPool | None = None

    def _name(self, norm: str, seq: int, display: str, common: bool, code: bool) -> None:
        if not norm:
            return
        j = self.names.term(norm)
        if j == len(self.name_display):
            self.name_display.append(display)
            self.name_common.append(0)
            self.name_code_only.append(1)
        if common:
            self.name_common[j] = 1
        if not code:
            self.name_code_only[j] = 0
        self.names.t.append(j)
        self.names.s.append(seq)

    def add(self, p: Paper, key: str | None = None) -> None:
        """key: the paper's citation key when it has one already (a paper moved into a merged segment)."""
        seq = self.n
        self.n += 1
        repo = self.repos.get(p.repo.lower()) if p.repo else None
        als = paper_aliases(p, repo)
        method = method_name(p, als)
        data = record(p, [a.display for a in als])
        start = self.rec.tell()
        self.rec.write(data)
        self.rec_start.append(start)
        self.rec_end.append(start + len(data))
        self.titles.add(p.title)
        self.methods.add(method or "")
        self.authors.add(_authors_short(p))
        self.repo_names.add(repo.full_name if repo else (p.repo or ""))
        self.arxiv.add(p.arxiv_id or "")
        title_words = words(p.title)
        self.base_keys.add(key or p.bib_key or base_key(p, method, title_words))
        self.user_key.append(1 if key or p.bib_key else 0)
        self.year.append(p.year or 0)
        self.upvotes.append(max(p.upvotes, 0))
        self.date_ord.append(p.date.toordinal() if p.date else _MIN_ORD)
        for a in als:
            self._name(a.norm, seq, a.display, a.common, a.kind == CODE)
            if a.norm:
                self.prefixes.update(name_prefixes(a.display))
        if p.arxiv_id:
            self._name(norm_name(p.arxiv_id), seq, p.arxiv_id, False, False)
        toks = set(title_words)
        if p.authors or p.organization:  # (their words in one go: no word goes across the spaces put between)
            toks.update(words(" ".join(p.authors) + " " + p.organization if p.organization else " ".join(p.authors)))
        if p.year:
            toks.add(str(p.year))
        if p.arxiv_id:
            toks.add(p.arxiv_id)
        if self.defer is not None:  # (a worker's chunk: see numbered_terms)
            word_terms, word_lens, texts = self.defer
            word_terms.extend(toks)
            word_lens.append(len(toks))
            texts.append((p.title, p.abstract, p.ai_keywords))
        else:
            ids = self.words.ids  # Pairs.add inlined: ~200 terms a paper, a million papers
            self.words.t.extend([ids.setdefault(t, len(ids)) for t in toks])
            self.words.s.extend([seq] * len(toks))
            bag = key_phrases(p.title, p.abstract, p.ai_keywords)
            ids = self.content.ids
            self.bags.write(array("I", [ids.setdefault(t, len(ids)) for t in bag]).tobytes())
            self.bags.write(array("f", bag.values()).tobytes())
            self.bag_len.append(len(bag))
        if self.texts is not None:
            if len(self.texts) < DENSE_MAX:
                self.texts.append(text_of(p.title, p.abstract))
            else:
                self.texts = None

    def numbered_terms(self) -> tuple[tuple[bytes, npt.NDArray[np.int64]], npt.NDArray[np.uint32],
                                      npt.NDArray[np.float32]]:
        """A deferred builder's words and key phrases numbered in first-seen order, as `add` numbers them paper
        by paper (the words into `words`), with C-level iteration only; the key phrases of the whole chunk at
        once (semantic.key_phrase_bags): their vocabulary (packed, terms.pack), and every paper's bag in turn as
        term ids and weights (lengths in `bag_len`)."""
        assert self.defer is not None
        word_terms, word_lens, texts = self.defer
        self.defer = None
        self.words.ids = _first_seen(word_terms)
        self.words.t = array("I", map(self.words.ids.__getitem__, word_terms))
        self.words.s = array("I", np.repeat(np.arange(self.n, dtype=np.uint32), np.frombuffer(word_lens, np.uint32))
                             .tobytes())
        del word_terms
        if len(texts) <= BAG_BATCH:  # (a worker's chunk: one batch, numbered as it is already)
            blob, off, tids, weights, lens = key_phrase_bags_packed(texts)
            self.bag_len.frombytes(lens.tobytes())
            return (blob, off), tids, weights
        # A few hundred papers at a time: their tokens are all in memory at once (~250 a paper).
        ids: dict[str, int] = {}
        parts: list[tuple[npt.NDArray[np.uint32], npt.NDArray[np.float32]]] = []
        for lo in range(0, len(texts), BAG_BATCH):
            vocab, tids, weights, lens = key_phrase_bags(texts[lo : lo + BAG_BATCH])
            remap = np.asarray([ids.setdefault(t, len(ids)) for t in vocab], dtype=np.uint32)
            parts.append((remap[tids] if len(tids) else tids, weights))
            self.bag_len.frombytes(lens.tobytes())
        return (pack(list(ids)), np.concatenate([np.zeros(0, np.uint32), *(t for t, _ in parts)]),
                np.concatenate([np.zeros(0, np.float32), *(w for _, w in parts)]))

    def _bag_chunks(self, step: int = 2000) -> Iterator[tuple[npt.NDArray[Any], ...]]:
        """The saved bags as (term ids, counts, paper seq) arrays, `step` papers at a time."""
        lens = np.frombuffer(self.bag_len, dtype=np.uint32)
        self.bags.seek(0)
        for lo in range(0, self.n, step):
            ln = lens[lo : lo + step]
            tids, cnts = [np.zeros(0, dtype=np.uint32)], [np.zeros(0, dtype=np.float32)]
            for k in ln.tolist():
                tids.append(np.frombuffer(self.bags.read(4 * k), dtype=np.uint32))
                cnts.append(np.frombuffer(self.bags.read(4 * k), dtype=np.float32))
            yield np.concatenate(tids), np.concatenate(cnts), np.repeat(np.arange(lo, lo + len(ln), dtype=np.int32), ln)

    def _related_terms(self) -> RelatedTerms:
        """Content vectors from the saved bags (one pass for document frequencies, one for the weights, a chunk
        of papers at a time): each paper's top terms, as triples on a scratch file (`TripleRuns`), the terms'
        idf and their strings. On the build's workers when it has them (a parallel build), else on a thread per
        core. Reads only the bags and the key phrases' table: `finish` runs it beside the other tables."""
        n = self.n
        hashed = self.hashed
        if hashed is not None:  # a parallel build: terms numbered by hash, counted while merging (terms.py)
            assert self.ref is None
            with phase("related: key phrases numbered"):
                hashed.close()
            v, df = hashed.n_terms, hashed.df
            bag_chunks = hashed.bag_chunks
            strings: TermStrings = hashed.packed
        else:
            vocab = list(self.content.ids)
            v = len(vocab)
            df = np.zeros(v, dtype=np.int64)
            for tids, _, _ in self._bag_chunks():
                df += np.bincount(tids, minlength=v)
            bag_chunks = self._bag_chunks

            def vocab_strings(ids: npt.NDArray[np.int64]) -> list[bytes]:
                return [vocab[j].encode("utf-8") for j in ids.tolist()]
            strings = vocab_strings
        n_all = n
        if self.ref is not None and self.ref.n:
            df += _ref_df(self.ref, self.content.ids)
            n_all += self.ref.n
        idf = np.log((n_all + 1) / (df + 1)) + 1.0
        # Each paper's top terms, chunk by chunk, to a scratch file (extsort.py: sorted there a range of terms at a
        # time); the weights are stored as float16, so they are rounded to it here (the same values either way).
        runs = TripleRuns(v)
        with phase("related: top terms"):
            try:
                tops = self.workers.top_terms(idf, df, hashed.bag_parts()) \
                    if self.workers is not None and hashed is not None else \
                    _threaded(lambda c: _counted(*top_terms(c[0], c[1], c[2], idf, df)), bag_chunks())
                for t_, s_, w16, u_, c_ in tops:
                    runs.add(t_, s_, w16, (u_, c_))
            finally:
                self.close_workers()
        if hashed is not None:
            hashed.release()
            del df
        return runs, idf, strings

    def close_workers(self) -> None:
        """The build's worker processes (parallel.py) end; their memory goes back before the final sorts."""
        if self.workers is not None:
            self.workers.close()
            self.workers = None

    def _related(self, rank: npt.NDArray[np.int32], started: Future[list[RelatedTerms]] | None = None
                 ) -> dict[str, Any]:
        """The related-paper columns (`rel*`, `doc_term*`): the top terms' posting lists, and per paper its terms;
        started: `_related_terms` running already (its result in a list, taken out of it here so that the future
        does not keep the triples' counts and the key phrases' table alive to the end)."""
        n = self.n
        runs, idf, strings = started.result().pop() if started is not None else self._related_terms()
        v = len(runs.counts)
        with phase("related: postings"):
            got = runs.postings(strings, rank)
        if got is None:  # (term and paper ids too many for one 64-bit key: sorted in memory)
            rel_t, rel_s, rel_w16 = runs.triples()
            got = postings(strings, v, rel_t, rel_s, rank, runs.counts > 0, rel_w16)  # type: ignore[assignment]
            del rel_t, rel_s, rel_w16
        assert got is not None
        post, kept, w_sorted = got
        del runs, got, strings
        self.hashed = None  # (its strings are read: the key phrases' table goes)
        rel_idf = idf[kept].astype(np.float32)
        del idf, kept
        return_freed_memory()
        rel_w = w_sorted if w_sorted is not None else np.zeros(0, dtype=np.float16)
        # Per paper, its terms (CSR by id): the transpose of the postings.
        with phase("related: per paper"):
            cols = doc_order(post, rel_w, n)
        if cols is None:
            term_of = np.repeat(np.arange(len(post.terms), dtype=np.int32), np.diff(post.offsets))
            by_doc = by_doc_order(np.asarray(post.ids), rel_w)
            doc_term_off = np.zeros(n + 1, dtype=np.int64)
            if n:
                np.cumsum(np.bincount(np.asarray(post.ids), minlength=n), out=doc_term_off[1:])
            cols = doc_term_off, term_of[by_doc], rel_w[by_doc]
        return {"rel": post, "rel_idf": rel_idf,
                "rel_telling": _telling(post.terms),
                "rel_w": rel_w, "doc_term_off": cols[0], "doc_term_ids": cols[1], "doc_term_w": cols[2]}

    def _hashed_names(self, keys_by_seq: list[str], rank: npt.NDArray[np.int32]
                      ) -> tuple[Postings, StrArray, npt.NDArray[np.uint8]]:
        """The names of a parallel build (terms.py): the keys are named last, as one more chunk, as `_name` does
        in a build paper by paper; then the tables `finish` makes from `names`, `name_display` and the flags."""
        hn = self.hnames
        assert hn is not None
        local: dict[str, int] = {}
        t, s, disp = array("I"), array("I"), list[str]()
        for i, k in enumerate(keys_by_seq):
            norm = norm_name(k)
            if norm:
                j = local.setdefault(norm, len(local))
                if j == len(disp):
                    disp.append(k)
                t.append(j)
                s.append(i)
        blob, off = pack(local)
        dblob, doff = pack(disp)
        del local, disp
        zero = np.zeros(len(off) - 1, dtype=np.uint8)
        hn.add_chunk(term_hashes(blob, off), blob, off, {"common": zero, "code": zero},
                     {"t": np.frombuffer(t, dtype=np.uint32), "s": np.frombuffer(s, dtype=np.uint32),
                      "dblob": np.frombuffer(dblob, dtype=np.uint8), "doff": doff})
        hn.close()
        # The (name, paper) pairs (~20M at 1M papers) sorted on disk by ranges, as the words' (`_word_postings`).
        runs = TripleRuns(hn.n_terms)
        for c in range(len(hn.chunks)):
            tc = hn.ids(c)[hn.read(c, "t")]
            runs.add(tc, hn.read(c, "s"), np.zeros(len(tc), dtype=np.float16))
        # A code identifier that several repos share (a class `Transformer`) points to no paper.
        code_only = hn.cols["code"].astype(bool)
        keep = ~(code_only & (runs.counts > 3))
        got = runs.postings(hn.packed, rank, keep)
        if got is not None:
            post, kept = got[0], got[1]
        else:  # (ids too many for one sort key: in memory)
            post, kept, _ = postings(hn.packed, hn.n_terms, *hn.pairs(), rank, keep)
        del runs, got
        # The kept names' displays, packed (millions of names: no Python string each).
        asc = np.sort(kept)
        dblob_asc, doff_asc = hn.packed(asc, "dblob", "doff")
        display = StrArray(*gather(dblob_asc, doff_asc, np.searchsorted(asc, kept)))
        del dblob_asc, doff_asc
        common = hn.cols["common"].astype(np.uint8)
        flags = ((common[kept] * F_COMMON) | (code_only[kept].astype(np.uint8) * F_CODE_ONLY)).astype(np.uint8)
        return post, display, flags

    def add_all(self, papers: Iterable[Paper]) -> None:
        for p in papers:
            self.add(p)

    def finish(self) -> Columns:
        """The columns and tables (ids in prior order: upvotes, then recency)."""
        # A parallel build ranks each paper's key phrases (the longest step) on its workers, while this thread
        # makes the other tables: nothing of what that reads (the bags and the key phrases' table) changes here.
        helper = ThreadPoolExecutor(1, thread_name_prefix="index-related") if self.hashed is not None else None
        try:
            started = helper.submit(lambda: [self._related_terms()]) if helper is not None else None
            return self._finish(started)
        finally:
            if helper is not None:
                helper.shutdown()
            self.close_workers()

    def _finish(self, started: Future[list[RelatedTerms]] | None) -> Columns:
        n = self.n
        up = np.frombuffer(self.upvotes, dtype=np.int32).astype(np.float64)
        dord = np.frombuffer(self.date_ord, dtype=np.int32).astype(np.int64)
        seqs = np.arange(n, dtype=np.int64)
        with phase("keys"):
            order = np.lexsort((seqs, -dord, -np.log1p(up))) if n else seqs
            rank = np.empty(n, dtype=np.int32)
            rank[order] = np.arange(n, dtype=np.int32)
            # Keys: assigned in a stable, identity-based order, so that a refresh does not renumber them.
            stable = identity_order(np.frombuffer(self.date_ord, dtype=np.int32), self.arxiv, self.titles).tolist()
            user_key = np.frombuffer(self.user_key, dtype=np.int8)[stable].tolist()
            keys_stable = dedupe_key_list([self.base_keys.get(i) for i in stable], user_key, self.taken)
            keys_by_seq = [""] * n
            for i, k in zip(stable, keys_stable, strict=True):
                keys_by_seq[i] = k
            del stable, keys_stable, user_key
            keys = [keys_by_seq[i] for i in order.tolist()]
            del up, dord, seqs
            big = self.hashed is not None  # a big build: what each step is done with goes as it is done
            if big:
                self.base_keys, self.user_key = Strings(), array("b")
        if self.hnames is not None and self.hwords is not None:
            hw = self.hwords

            def words_of() -> Postings:
                with phase("words"):
                    hw.close()
                    return _word_postings(hw, rank)

            # The words on a thread beside the names (mostly numpy sorts, which leave the GIL; the names' start is
            # Python): they share only `rank` and the scratch file, which both read by pread.
            with ThreadPoolExecutor(1, thread_name_prefix="index-words") as beside:
                words_pending = beside.submit(words_of)
                with phase("names"):
                    names, name_display, name_flags = self._hashed_names(keys_by_seq, rank)
                    del keys_by_seq
                    self.hnames = None
                words_post = words_pending.result()
            del hw, words_pending
            self.hwords = None
            return_freed_memory()
        else:
            for i, k in enumerate(keys_by_seq):
                self._name(norm_name(k), i, k, False, False)
            del keys_by_seq
            # Names: a code identifier that several repos share (a class `Transformer`) points to no paper.
            tarr = np.frombuffer(self.names.t, dtype=np.uint32)
            df_names = np.bincount(tarr, minlength=len(self.name_display)) if len(tarr) else np.zeros(0, np.int64)
            code_only = np.frombuffer(bytes(self.name_code_only), dtype=np.uint8).astype(bool)
            keep = ~(code_only & (df_names > 3))
            names, kept, _ = self.names.postings(rank, keep)
            common = np.frombuffer(bytes(self.name_common), dtype=np.uint8)
            name_display = StrArray.build(self.name_display[j] for j in kept.tolist())
            name_flags = ((common[kept] * F_COMMON) | (code_only[kept].astype(np.uint8) * F_CODE_ONLY)).astype(np.uint8)
            words_post, _, _ = self.words.postings(rank)
        with phase("typo buckets"):
            typo_tables: dict[str, Any] = {}
            for tag, post in (("name", names), ("word", words_post)):
                fz_terms, typo_tables[f"{tag}_fz_spans"] = length_buckets(post)
                typo_tables[f"{tag}_fz_terms"] = fz_terms
                typo_tables[f"{tag}_fz_sigs"] = packed_signatures(*fz_terms.packed())
        if isinstance(self.rec, io.BytesIO):
            records: bytes | Path = self.rec.getvalue()
        else:
            self.rec.flush()
            records = Path(self.rec.name)  # type: ignore[attr-defined]
        with phase("per-paper columns"):
            keys_arr = StrArray.build(keys)
            per_paper: dict[str, Any] = {
                "keys": keys_arr,
                "titles": self.titles.permuted(order),
                "methods": self.methods.permuted(order),
                "authors": self.authors.permuted(order),
                "repo_names": self.repo_names.permuted(order),
                "arxiv": self.arxiv.permuted(order),
                "year": np.frombuffer(self.year, dtype=np.int16)[order].copy(),
                "upvotes": np.frombuffer(self.upvotes, dtype=np.int32)[order].copy(),
                "rec_span": np.stack([np.frombuffer(self.rec_start, dtype=np.int64)[order],
                                      np.frombuffer(self.rec_end, dtype=np.int64)[order]], axis=1) if n else
                np.zeros((0, 2), dtype=np.int64),
                # The keys' sorted order: their UTF-8 bytes sorted in numpy (code point order, as str sorts;
                # 1M keys: ~0.7 s, an object array's argsort ~2.6 s).
                "key_order": sort_packed(*keys_arr.packed()).astype(np.int32) if n else np.zeros(0, np.int32),
            }
            del keys, keys_arr
            if big:
                self.titles, self.methods, self.authors = Strings(), Strings(), Strings()
                self.repo_names, self.arxiv = Strings(), Strings()
                self.rec_start, self.rec_end = array("q"), array("q")
                return_freed_memory()
        def lookups_of() -> dict[str, Any]:
            with phase("blooms, prefix tops"):
                return {
                    "bloom_names": Bloom.build(names.terms, len(names.terms)),
                    "bloom_prefixes": Bloom.build(self.prefixes, len(self.prefixes)),
                    "name_tops": prefix_tops(names),
                    "word_tops": prefix_tops(words_post),
                }

        # A big build makes these beside the related postings (numpy sorts that leave the interpreter free), so
        # that the second core does not wait; they read only the names, words and prefixes, done by now.
        side = ThreadPoolExecutor(1, thread_name_prefix="index-lookups") if big else None
        try:
            pending = side.submit(lookups_of) if side is not None else None
            with phase("related"):
                related = self._related(rank, started)
            lookups = pending.result() if pending is not None else lookups_of()
        finally:
            if side is not None:
                side.shutdown()
        if big:
            self.prefixes = set()
        return Columns(
            n=n,
            **per_paper,
            names=names,
            name_display=name_display,
            name_flags=name_flags,
            words=words_post,
            **lookups,
            **typo_tables,
            **related,
            dense=dense_column([self.texts[i] for i in order.tolist()]) if self.texts is not None and
            len(self.texts) == n else np.zeros((0, DIM), np.float16),
            records=records,
            repos=self.repos,
        )


TOP_K = 256  # best papers kept per short prefix
TOP_MIN = 1024  # prefixes with fewer postings are answered from the posting lists directly


def identity_order(date_ord: npt.NDArray[np.int32], arxiv: Strings, titles: Strings) -> npt.NDArray[np.int64]:
    """The papers by (date, arXiv id, title), stable: `sorted(range(n), key=lambda i: (date, arxiv, title))` in
    numpy, without a tuple and two strings a paper; titles are compared only among papers tied on both."""
    n = len(date_ord)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    off = np.frombuffer(arxiv.off, dtype=np.int64)
    by_id = sort_packed(np.frombuffer(arxiv.blob, dtype=np.uint8), off)
    # Equal ids (papers without one, mostly) share a rank: adjacent ones with equal hashes, checked.
    h = term_hashes(bytes(arxiv.blob), off)
    same = np.zeros(n, dtype=bool)
    for x in np.flatnonzero(h[by_id[1:]] == h[by_id[:-1]]).tolist():
        same[x + 1] = arxiv.get(int(by_id[x])) == arxiv.get(int(by_id[x + 1]))
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[by_id] = np.cumsum(~same)
    order = np.lexsort((id_rank, date_ord))  # stable: ties stay in paper order
    tied = np.r_[False, (date_ord[order[1:]] == date_ord[order[:-1]]) & (id_rank[order[1:]] == id_rank[order[:-1]])]
    if tied.any():
        starts = np.flatnonzero(tied[1:] & ~tied[:-1])  # each run of ties starts one before its first True
        ends = np.flatnonzero(tied[:-1] & ~tied[1:]) + 1
        if tied[-1]:
            ends = np.r_[ends, n]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            order[a:b] = sorted(order[a:b].tolist(), key=titles.get)
    return order


def _word_postings(hw: Vocab, rank: npt.NDArray[np.int32]) -> Postings:
    """The words' postings of a parallel build: its (word, paper) pairs (~19M at 1M papers) sorted on disk by
    ranges as the related-paper triples are (extsort.py; no weight: zeros in its place), chunk by chunk from the
    scratch file; in memory (`postings`) when the ids do not fit one sort key."""
    runs = TripleRuns(hw.n_terms)
    for c in range(len(hw.chunks)):
        t = hw.ids(c)[hw.read(c, "t")]
        runs.add(t, hw.read(c, "s"), np.zeros(len(t), dtype=np.float16))
    got = runs.postings(hw.packed, rank)
    if got is None or len(got[1]) != hw.n_terms:  # (every word has a paper; `postings` keeps all terms)
        return postings(hw.packed, hw.n_terms, *hw.pairs(), rank)[0]
    return got[0]


def _first_seen(terms: list[str]) -> dict[str, int]:
    """Each distinct term's rank in first-seen order (dict.fromkeys keeps the first sighting's place)."""
    return dict(zip(dict.fromkeys(terms), range(len(terms)), strict=False))


def prefix_tops(post: Postings, k: int = TOP_K, min_postings: int = TOP_MIN) -> Postings:
    """For each 1-3 character prefix with many postings, its k best (smallest) paper ids: the top of a trie's
    short nodes, so a one-letter completion does not sort millions of postings."""
    terms = list(post.terms)
    tops: dict[str, list[int]] = {}
    n = len(terms)
    for length in (1, 2, 3):
        i = 0
        while i < n:
            p = terms[i][:length]
            j = bisect.bisect_left(terms, p + "\U0010ffff", i)
            if len(p) == length:
                a, b = int(post.offsets[i]), int(post.offsets[j])
                if b - a > min_postings:
                    ids = np.asarray(post.ids[a:b])
                    mask = np.zeros(int(ids.max()) + 1, dtype=bool)
                    mask[ids] = True
                    tops[p] = np.flatnonzero(mask)[:k].tolist()
            i = j if len(p) == length else i + 1
    return Postings.build(tops)


def length_buckets(post: Postings) -> tuple[StrArray, Postings]:
    """The terms again, grouped by (first character, length), for typo matching: a query is compared only with
    terms of about its length that start like it, and a bucket is one contiguous slice to decode. Returns the
    regrouped terms and, per bucket key "c:len", its [start, end) (stored as a two-id 'posting').

    In numpy over the packed terms (millions of names at 1M papers): the terms are sorted, so each first
    character's terms are one run already, and the order is a stable sort of (run, length in code points)."""
    blob, off = post.terms.packed()
    blob, off = np.asarray(blob), np.asarray(off, dtype=np.int64)
    n = len(off) - 1
    if n == 0:
        return StrArray.build([]), Postings.build({})
    lens = np.diff(off)
    chars = lens - _count_in((blob & 0xC0) == 0x80, off)  # code points: the bytes that do not continue one
    # The first character's bytes (up to 4, as many as its lead byte says) as one number; -1 for the empty term.
    has = lens > 0
    lead = np.zeros(n, dtype=np.int64)
    lead[has] = blob[off[:-1][has]]
    width = np.where(lead < 0x80, 1, np.where(lead < 0xE0, 2, np.where(lead < 0xF0, 3, 4)))
    first = np.full(n, -1, dtype=np.int64)
    first[has] = 0
    for j in range(4):
        take = has & (width > j)
        first[take] = (first[take] << 8) | blob[off[:-1][take] + j].astype(np.int64)
    run = np.cumsum(np.r_[False, first[1:] != first[:-1]])
    order = np.argsort(run * (int(chars.max()) + 1) + chars, kind="stable")
    key = (run * (int(chars.max()) + 1) + chars)[order]
    bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    spans: dict[str, list[int]] = {}
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        i = int(order[a])
        spans[f"{post.terms[i][:1]}:{int(chars[i])}"] = [a, b]
    sblob, soff = gather(blob, off, order)
    return StrArray(sblob, soff), Postings.build(spans)


def _count_in(mask: npt.NDArray[np.bool_], off: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Per packed string, how many of its bytes the mask marks (few marked: no cumsum over the whole blob)."""
    at = np.flatnonzero(mask)
    return np.searchsorted(at, off[1:]) - np.searchsorted(at, off[:-1])


TELLING_BLOCK = 1 << 20  # terms looked at a time by `_telling`


def _telling(terms: StrArray) -> npt.NDArray[np.bool_]:
    """`telling` of every term: a phrase (a space in it) is, so only the single words are decoded and looked up
    (millions of key phrases at 1M papers, a few per cent of them single words)."""
    blob, off = terms.packed()
    blob, off = np.asarray(blob), np.asarray(off, dtype=np.int64)
    out = np.zeros(len(off) - 1, dtype=bool)
    for a in range(0, len(out), TELLING_BLOCK):  # (a bool and an int64 per byte and space: a block at a time)
        b = min(a + TELLING_BLOCK, len(out))
        out[a:b] = _count_in(blob[off[a] : off[b]] == 32, off[a : b + 1] - off[a]) > 0
    single = np.flatnonzero(~out)
    out[single] = np.fromiter((telling(terms[i]) for i in single.tolist()), dtype=np.bool_, count=len(single))
    return out


def top_terms(tids: npt.NDArray[Any], counts: npt.NDArray[Any], seq: npt.NDArray[Any],
               idf: npt.NDArray[np.float64], df: npt.NDArray[np.int64]) -> tuple[npt.NDArray[Any], ...]:
    """Per paper, its REL_TERMS heaviest key phrases that other papers share and its REL_OWN heaviest phrases of
    its own (its name, for a passage that names it); weights L2-normalised over the whole bag, so that a score
    is a cosine (vectorised over many papers). A phrase's weight: its rarity in general English and its use in
    the paper (semantic.key_phrases), times its rarity in the feed (idf)."""
    return ranked_terms(tids, counts, seq, idf[tids], df[tids] <= 1)


def ranked_terms(tids: npt.NDArray[Any], counts: npt.NDArray[Any], seq: npt.NDArray[Any],
                 idf_t: npt.NDArray[np.float64], own_t: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[Any], ...]:
    """`top_terms` given each entry's idf and whether its term is the paper's own (a worker process gets these
    with the chunk, not the whole vocabulary's tables)."""
    w = (counts.astype(np.float32) * idf_t).astype(np.float32)
    base = int(seq.min()) if len(seq) else 0  # norms indexed from the chunk's first paper
    norms = np.sqrt(np.bincount(seq - base, weights=w * w))
    own = own_t.astype(np.int8)
    tids, w, seq, own = paper_weight_order(tids, w, seq, own, base)
    group = seq.astype(np.int64) * 2 + own
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1] if len(seq) else np.zeros(0, dtype=np.int64)
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(seq)]))
    keep = (np.arange(len(seq)) - group_start) < np.where(own == 1, REL_OWN, REL_TERMS)
    tids, w, seq = tids[keep], w[keep], seq[keep]
    nrm = norms[seq - base]
    return tids, seq, w / np.where(nrm > 0, nrm, 1.0)


def ranked_part(ids: npt.NDArray[np.uint32], tids: npt.NDArray[np.uint32], w: npt.NDArray[np.float32],
                lens: npt.NDArray[np.uint32], seq0: int, idf_c: npt.NDArray[np.float64], own_c: npt.NDArray[np.bool_]
                ) -> tuple[npt.NDArray[Any], ...]:
    """`top_terms` of a chunk of bags as stored (terms.HashedTerms.bag_parts: local term ids into the chunk's
    terms `ids`), given the chunk's terms' idf and own flags: what a build's worker process runs. As `_counted`."""
    t, w, s = bag_arrays(ids, tids, w, lens, seq0)
    return _counted(*ranked_terms(t, w, s, idf_c[tids], own_c[tids]))


def _counted(t: npt.NDArray[Any], s: npt.NDArray[Any], w: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], ...]:
    """A chunk's top terms as stored (extsort.TripleRuns.add): weights rounded to float16 (the same values either
    way), with each term's count among them."""
    u, c = np.unique(t, return_counts=True)
    return t, s, w.astype(np.float32).astype(np.float16), u, c


def _threaded(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    """fn over items on a thread per core, results in order, at most two items per thread in flight: numpy's
    sorts release the GIL, so a big build's last pass over the bags uses every core, in bounded memory."""
    try:
        threads = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        threads = os.cpu_count() or 1
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[Any]] = deque()
        for x in items:
            pending.append(pool.submit(fn, x))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def paper_weight_order(tids: npt.NDArray[Any], w: npt.NDArray[np.float32], seq: npt.NDArray[Any],
                     own: npt.NDArray[np.int8], base: int) -> tuple[npt.NDArray[Any], ...]:
    """The entries sorted by paper, shared before own, heaviest first, then by term id: the order of
    `np.lexsort((tids, -w, own, seq))`. As one uint64 key (paper from `base`, own, the weight's bits inverted
    (non-negative float32s order as their bits do), the term's rank among the chunk's) sorted in place, a
    fifth of the time of lexsort's four stable passes; lexsort when it does not fit."""
    if not len(seq):
        return tids, w, seq, own
    sliced = _by_paper_slices(tids, w, seq, own)
    if sliced is not None:
        return sliced
    sb = max(1, (int(seq.max()) - base).bit_length())
    u, tr = np.unique(tids, return_inverse=True)
    tb = max(1, (len(u) - 1).bit_length())
    wb = w.view(np.uint32)
    if sb + 1 + 32 + tb > 64 or (wb >> np.uint32(31)).any():
        order = np.lexsort((tids, -w, own, seq))
        return tids[order], w[order], seq[order], own[order]
    t_ = np.uint64(tb)
    key = (seq - base).astype(np.uint64) << (t_ + np.uint64(33))
    key |= own.astype(np.uint64) << (t_ + np.uint64(32))
    key |= (np.uint32(0xFFFFFFFF) - wb).astype(np.uint64) << t_
    key |= tr.reshape(-1).astype(np.uint64)
    key.sort()
    tids = u[(key & np.uint64((1 << tb) - 1)).astype(np.int64)]
    w = (np.uint32(0xFFFFFFFF) - ((key >> t_) & np.uint64(0xFFFFFFFF)).astype(np.uint32)).view(np.float32)
    own = ((key >> (t_ + np.uint64(32))) & np.uint64(1)).astype(np.int8)
    seq = ((key >> (t_ + np.uint64(33))).astype(np.int64) + base).astype(seq.dtype)
    return tids, w, seq, own


def _by_paper_slices(tids: npt.NDArray[Any], w: npt.NDArray[np.float32], seq: npt.NDArray[Any],
                     own: npt.NDArray[np.int8]) -> tuple[npt.NDArray[Any], ...] | None:
    """`paper_weight_order` with the term ids themselves in the key (no np.unique, a sort of its own, to rank
    them), for entries in paper order with non-negative weights: 31 bits of weight, 1 of own, the term id's
    bits, and what is left for the paper; the papers are cut into slices that many bits can tell apart, each
    sorted alone (1M papers: 8.7M terms, 24 bits, slices of 256 papers). None when that does not apply."""
    wb = w.view(np.uint32)
    tb = max(1, int(tids.max()).bit_length())
    room = 64 - 32 - tb
    if room < 1 or (wb >> np.uint32(31)).any() or (len(seq) > 1 and (seq[1:] < seq[:-1]).any()):
        return None
    span = 1 << room
    lo, hi = int(seq[0]), int(seq[-1])
    bases = np.arange(lo, hi + 1, span, dtype=np.int64)
    cuts = [int(x) for x in np.searchsorted(seq, np.append(bases, hi + 1))]
    out_t, out_w, out_s, out_o = np.empty_like(tids), np.empty_like(w), np.empty_like(seq), np.empty_like(own)
    t_ = np.uint64(tb)
    for s0, a, b in zip(bases.tolist(), cuts[:-1], cuts[1:], strict=True):
        if a == b:
            continue
        key = (seq[a:b].astype(np.int64) - s0).astype(np.uint64) << (t_ + np.uint64(32))
        key |= own[a:b].astype(np.uint64) << (t_ + np.uint64(31))
        key |= (np.uint32(0x7FFFFFFF) - wb[a:b]).astype(np.uint64) << t_
        key |= tids[a:b].astype(np.uint64)
        key.sort()
        out_t[a:b] = key & np.uint64((1 << tb) - 1)
        out_w[a:b] = (np.uint32(0x7FFFFFFF) - ((key >> t_) & np.uint64(0x7FFFFFFF)).astype(np.uint32)).view(np.float32)
        out_o[a:b] = (key >> (t_ + np.uint64(31))) & np.uint64(1)
        out_s[a:b] = (key >> (t_ + np.uint64(32))).astype(np.int64) + s0
    return out_t, out_w, out_s, out_o


def _ref_df(ref: Columns, vocab: dict[str, int]) -> npt.NDArray[np.int64]:
    """Each term's document frequency in the reference index, recovered from its stored idf (0 when the term
    is not among its content terms)."""
    out = np.zeros(len(vocab), dtype=np.int64)
    for term, j in vocab.items():
        k = ref.rel.find(term)
        if k >= 0:
            out[j] = max(0, round((ref.n + 1) / math.exp(float(ref.rel_idf[k]) - 1.0) - 1))
    return out


def _authors_short(p: Paper) -> str:
    if p.authors:
        first = p.authors[0].strip()
        return first if len(p.authors) == 1 else f"{first} et al."
    if p.author_count:
        return f"{p.author_count} author{'s' if p.author_count != 1 else ''}"
    return ""
