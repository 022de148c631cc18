"""The paper index: aliases, keys, ranked search and related papers, in compact persisted columns.

Paper ids are assigned in prior order (upvotes, then recency), so a posting list sorted by id is also
sorted by prior: the first ids of any candidate set are its best papers, with no scoring needed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import BinaryIO, Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from paperlens.core.model import Library, Paper, Repo
from paperlens.core.text import STOP_WORDS, norm_name, words
from paperlens.index.build import F_CODE_ONLY, F_COMMON, REL_TERMS, IndexBuilder
from paperlens.index.columns import Columns
from paperlens.index.dense import ALPHA
from paperlens.index.parallel import FeedChunks, add_all_parallel, add_feed_parallel
from paperlens.index.semantic import explain_known, key_phrases
from paperlens.index.store import FileSlices, IdArray, Postings
from paperlens.index.typo import SigArray, candidates, max_distance, presence, rows_text, signature

FUZZY_CACHE_TERMS = 400_000  # decoded terms kept for typo matching
FUZZY_HEADS = 30_000  # longer terms compared by their heads, at most
FUZZY_SMALL = 256  # a bucket of at most this many terms is scored whole (no signature scan)
FUZZY_SIG_TERMS = 4_000_000  # head signatures kept for typo matching (8 bytes each)
CANDIDATE_CAP = 4000  # ids taken from one posting range before scoring; ids are prior-ordered
REL_DF_CAP = 20000  # a term in more papers than this says too little to be worth its posting list
REL_TERM_CAP = 2000  # at most this many papers scored per term: bounds a request at a million papers
# and at most this many in all: 36 full lists (72,000 postings) took ~10x the time of 12,000 (np.unique), which
# stays near 1 ms; at 100k papers no request reaches it (max 5,928), at 1M the lightest phrases give way.
REL_BUDGET = 12000
SMALL_KEYS = 1 << 14  # an index of at most this many papers finds keys in a dict, not by bisection


class PaperSource(Protocol):
    """What an Entry reads its full record and repo from: an Index, a Segments view, a merged .bib entry."""

    @property
    def repos(self) -> dict[str, Repo]: ...

    def paper(self, i: int) -> Paper: ...


@dataclass(slots=True)
class Entry:
    """A paper as the editor features see it."""

    id: int
    key: str
    title: str
    method: str | None
    year: int | None
    upvotes: int
    repo_name: str | None
    arxiv_id: str | None
    authors_short: str
    index: PaperSource = field(repr=False)
    _paper: Paper | None = field(default=None, repr=False)

    @property
    def paper(self) -> Paper:
        """The full record (abstract included), read from disk on first use."""
        if self._paper is None:
            self._paper = self.index.paper(self.id)
        return self._paper

    @property
    def repo(self) -> Repo | None:
        return self.index.repos.get(self.repo_name.lower()) if self.repo_name else None

    @property
    def label(self) -> str:
        return self.method or self.title


@dataclass(slots=True)
class NameHit:
    """A name found in the index, with how it may be matched."""

    display: str
    common: bool
    code_only: bool
    ids: list[int]


@dataclass(eq=False)
class Index(Columns):
    """Lookups, search and related papers over the columns (see columns.Columns) of one built index."""

    _fuzzy_cache: dict[tuple[str, str, int], np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _fuzzy_cached: int = field(default=0, init=False, repr=False)
    _fz_sigs: dict[tuple[str, str, int], tuple[npt.NDArray[np.uint8] | None, SigArray] | None] = field(
        default_factory=dict, init=False, repr=False)
    _fz_heads: dict[tuple[str, str, int, int], SigArray] = field(default_factory=dict, init=False, repr=False)
    _fz_signed: int = field(default=0, init=False, repr=False)
    _dense32: np.ndarray | None = field(default=None, init=False, repr=False)
    _reads: dict[str, FileSlices] = field(default_factory=dict, init=False, repr=False)
    _key_ids: dict[str, int] | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, cols: Columns) -> Index:
        return cls(**{name: getattr(cols, name) for name in Columns.__dataclass_fields__})

    @classmethod
    def build(cls, lib: Library) -> Index:
        """Build from papers and repos, in memory (no I/O)."""
        b = IndexBuilder(dict(lib.repos))
        b.add_all(lib.papers)
        return cls.of(b.finish())

    @classmethod
    def build_stream(cls, papers: Iterable[Paper], repos: dict[str, Repo], records: BinaryIO) -> Index:
        """Build from a stream of papers, writing their records to a file: memory stays near the columns'."""
        b = IndexBuilder(dict(repos), records)
        add_all_parallel(b, papers)  # on every core: a million papers in minutes, not a quarter of an hour
        return cls.of(b.finish())

    @classmethod
    def build_feed(cls, source: FeedChunks, repos: dict[str, Repo], records: BinaryIO) -> Index:
        """`build_stream` of a feed that the build's workers parse themselves (parallel.FeedChunks)."""
        b = IndexBuilder(dict(repos), records)
        add_feed_parallel(b, source)
        return cls.of(b.finish())

    # ---------------------------------------------------------------- records

    def paper(self, i: int) -> Paper:
        a, b = int(self.rec_span[i, 0]), int(self.rec_span[i, 1])
        if isinstance(self.records, bytes):
            raw = self.records[a:b]
        else:
            with open(self.records, "rb") as f:
                f.seek(a)
                raw = f.read(b - a)
        return Paper.from_json(json.loads(raw)["paper"])

    def entry(self, i: int) -> Entry:
        y = int(self.year[i])
        return Entry(
            i,
            self.keys[i],
            self.titles[i],
            self.methods[i] or None,
            y or None,
            int(self.upvotes[i]),
            self.repo_names[i] or None,
            self.arxiv[i] or None,
            self.authors[i],
            self,
        )

    # ---------------------------------------------------------------- lookups

    def name(self, text: str, normed: str | None = None) -> NameHit | None:
        """Exact lookup of a method name, key, repo identifier or arXiv id in matching form."""
        n = normed if normed is not None else norm_name(text)
        if not n or n not in self.bloom_names:
            return None
        j = self.names.find(n)
        if j < 0:
            return None
        flags = int(self.name_flags[j])
        return NameHit(
            self.name_display[j], bool(flags & F_COMMON), bool(flags & F_CODE_ONLY), [int(x) for x in self.names.at(j)]
        )

    def by_key(self, key: str) -> int | None:
        if self.n <= SMALL_KEYS:  # a refresh's segment: a dict, made once (a completion looks up every cite
            if self._key_ids is None:  # of the document in each segment, most of them absent)
                self._key_ids = {k: i for i, k in enumerate(self.keys[0:self.n])}
            return self._key_ids.get(key)
        order = self.key_order
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.keys[int(order[mid])] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order) and self.keys[int(order[lo])] == key:
            return int(order[lo])
        return None

    def by_arxiv(self, arxiv_id: str) -> int | None:
        hit = self.name(arxiv_id)
        if hit:
            for i in hit.ids:
                if self.arxiv[i] == arxiv_id:
                    return i
        return None

    def by_repo(self, full_name: str) -> list[int]:
        hit = self.name(full_name.split("/")[-1])
        return [i for i in (hit.ids if hit else []) if self.repo_names[i].lower() == full_name.lower()]

    # ---------------------------------------------------------------- search

    def search(self, query: str, limit: int = 50) -> list[tuple[int, float]]:
        """Ranked (id, score): exact names, name prefixes, title/author words, then typo-tolerant matches."""
        # (ids, score) chunks; a paper's score is its best chunk's (merged once, vectorised, in _top_chunks).
        chunks: list[tuple[IdArray, float]] = []

        def add(ids: IdArray | list[int], s: float) -> None:
            a = np.asarray(ids[:CANDIDATE_CAP], dtype=np.int32)
            if len(a):
                chunks.append((a, s))

        qn = norm_name(query)
        toks = words(query)
        if not qn:
            add(np.arange(min(self.n, limit), dtype=np.int32), 1.0)
            return _top_chunks(chunks, limit)
        j = self.names.find(qn)
        if j >= 0:
            add(self.names.at(j), 100.0)
        lo, hi = self.names.prefix_range(qn)
        tj = self.name_tops.find(qn) if len(qn) <= 3 else -1
        if tj >= 0:
            add(self.name_tops.at(tj), 80.0)
        elif hi - lo <= 64:
            for t in range(lo, hi):
                add(self.names.at(t), 80.0 + 10.0 * len(qn) / max(len(self.names.terms[t]), 1))
        else:
            add(_best_ids(self.names, lo, hi), 80.0)
        if toks:
            add(self.word_matches(toks, cap=CANDIDATE_CAP if len(toks) == 1 else 200000), 60.0)
        if _distinct(chunks) < limit and len(qn) >= 3:
            for term, sim in self._fuzzy(self.names, "n", qn):
                add(self.names.get(term), 40.0 + 10.0 * sim / 100.0)
            if len(toks) == 1:
                for term, sim in self._fuzzy(self.words, "w", toks[0]):
                    add(self.words.get(term), 30.0 + 10.0 * sim / 100.0)
        return _top_chunks(chunks, limit)

    def word_matches(self, toks: list[str], cap: int = 200000) -> IdArray:
        """Papers whose words match every token (the last as a prefix), best prior first."""
        sets: list[IdArray] = []
        # The whole words first: when one matches no paper, neither does the query, and the last token's prefix
        # range is not read ("yrsolsho-2", a typo, would take the ~200k best of every word starting "2": 6 ms).
        for k, t in sorted(enumerate(toks), key=lambda kt: kt[0] == len(toks) - 1):
            if k == len(toks) - 1:
                if sets and min(map(len, sets)) == 0:
                    return np.zeros(0, dtype=np.int32)
                tj = self.word_tops.find(t) if len(t) <= 3 and len(toks) == 1 else -1
                if tj >= 0:
                    sets.append(np.asarray(self.word_tops.at(tj)))
                    continue
                lo, hi = self.words.prefix_range(t)
                ids = _best_ids(self.words, lo, hi, cap=cap) if hi > lo else np.zeros(0, dtype=np.int32)
            else:
                ids = self.words.get(t)
                if len(ids) == 0 and t in STOP_WORDS:
                    continue
            sets.append(np.asarray(ids))
        if not sets:
            return np.zeros(0, dtype=np.int32)
        sets.sort(key=len)
        acc = sets[0]
        for s in sets[1:]:
            acc = _intersect(acc, s)
            if len(acc) == 0:
                break
        return acc

    def _fz_terms(self, tag: str, c: str, length: int) -> np.ndarray:
        """The terms of one (first character, length) bucket, decoded once and kept (bounded), as an array of str
        objects: the garbage collector does not walk an ndarray's items. Kept as lists, the 400k cached strings
        were walked by every collection while young and every full one after (3-5 ms each, inside whichever
        request met it: a hover at 1M papers took 9 ms)."""
        key = (tag, c, length)
        got = self._fuzzy_cache.get(key)
        if got is not None:
            return got
        spans = self.name_fz_spans if tag == "n" else self.word_fz_spans
        j = spans.find(f"{c}:{length}")
        terms: list[str] = []
        if j >= 0:
            start, end = (int(x) for x in spans.at(j))
            terms = (self.name_fz_terms if tag == "n" else self.word_fz_terms)[start:end]
        got = np.empty(len(terms), dtype=object)
        got[:] = terms
        self._fuzzy_cached += len(got)
        if self._fuzzy_cached > FUZZY_CACHE_TERMS:
            self._fuzzy_cache.clear()
            self._fuzzy_cached = len(got)
        self._fuzzy_cache[key] = got
        return got

    def _fz_run(self, tag: str, c: str, lengths: range, cap: int | None = None) -> np.ndarray:
        """The terms of consecutive length buckets, in one array (the first `cap` of them)."""
        parts: list[np.ndarray] = []
        size = 0
        for ln in lengths:
            parts.append(self._fz_terms(tag, c, ln))
            size += len(parts[-1])
            if cap is not None and size >= cap:
                break
        out = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        return out if cap is None else out[:cap]

    def _fz_bucket(self, tag: str, c: str, length: int) -> tuple[npt.NDArray[np.uint8] | None, SigArray] | None:
        """One (first character, length) bucket's terms as an (n, length) byte matrix and their typo signatures
        (typo.py, stored at build time), both views of the mapped columns; None when there is no such bucket. The
        matrix is None when some term of the bucket is not ASCII: every term has `length` code points, so the
        bucket's bytes number length x n exactly when all are ASCII."""
        key = (tag, c, length)
        if key in self._fz_sigs:
            return self._fz_sigs[key]
        spans = self.name_fz_spans if tag == "n" else self.word_fz_spans
        j = spans.find(f"{c}:{length}")
        got: tuple[npt.NDArray[np.uint8] | None, SigArray] | None = None
        if j >= 0:
            start, end = (int(x) for x in spans.at(j))
            blob, off = (self.name_fz_terms if tag == "n" else self.word_fz_terms).packed()
            a, b = int(off[start]), int(off[end])
            mat = np.asarray(blob[a:b]).reshape(-1, length) if b - a == length * (end - start) else None
            got = (mat, np.asarray((self.name_fz_sigs if tag == "n" else self.word_fz_sigs)[start:end]))
        self._fz_sigs[key] = got
        return got

    def _fz_head_sigs(self, tag: str, c: str, length: int, h: int) -> SigArray:
        """The signatures (typo.presence) of the first h characters of a bucket's first FUZZY_HEADS terms, computed
        on first use and kept, within FUZZY_SIG_TERMS."""
        key = (tag, c, length, h)
        got = self._fz_heads.get(key)
        if got is None:
            b = self._fz_bucket(tag, c, length)
            mat = b[0] if b is not None else None
            got = presence(mat[:FUZZY_HEADS, :h]) if mat is not None else np.zeros(0, dtype=np.uint64)
            self._fz_signed += len(got)
            if self._fz_signed > FUZZY_SIG_TERMS:  # (past the bound all are forgotten: the next queries remake theirs)
                self._fz_heads.clear()
                self._fz_signed = len(got)
            self._fz_heads[key] = got
        return got

    def _fuzzy(self, post: Postings, tag: str, q: str) -> list[tuple[str, float]]:
        """Typo-tolerant matches among terms that start like q and are about as long (narrowed, then scored);
        and, for a prefix typed with a typo ("glocl" -> "glocalib"), terms a little longer, by their heads.
        Only the terms whose signature allows the score cutoff are decoded and scored (typo.py): the same
        matches, in the same order, as scoring every term of the buckets."""
        c, n = q[:1], len(q)
        if not q.isascii():
            return self._fuzzy_decoded(tag, q)
        qs: np.uint64 | None = None
        near: list[str] = []
        for ln in range(max(1, n - 2), n + 3):
            b = self._fz_bucket(tag, c, ln)
            if b is None:
                continue
            mat, sigs = b
            if mat is None:
                near += self._fz_terms(tag, c, ln).tolist()
            elif len(mat) <= FUZZY_SMALL:  # (a few terms, a small segment's: scored all, without numpy's overhead)
                near += rows_text(mat)
            else:
                qs = signature(q) if qs is None else qs
                near += rows_text(mat[candidates(sigs, qs, max_distance(n, ln, 75))])
        out: dict[str, float] = {}
        if near:
            for t, s, _ in process.extract(q, near, scorer=fuzz.ratio, score_cutoff=75, limit=20, processor=None):
                out[t] = float(s)
        heads: list[str] = []
        full: list[str] = []
        qp: np.uint64 | None = None
        room = FUZZY_HEADS  # the first FUZZY_HEADS longer terms, bucket by bucket
        for ln in range(n + 1, n + 7):
            if room <= 0:
                break
            b = self._fz_bucket(tag, c, ln)
            if b is None:
                continue
            mat = b[0]
            if mat is None:
                terms = self._fz_terms(tag, c, ln)[:room].tolist()
                room -= len(terms)
                full += terms
                heads += [t[: n + 1] for t in terms]
                continue
            part = mat[:room]
            room -= len(part)
            if len(part) > FUZZY_SMALL:
                if qp is None:
                    qp = presence(np.frombuffer(q.encode("ascii"), dtype=np.uint8).reshape(1, -1))[0]
                part = part[candidates(self._fz_head_sigs(tag, c, ln, n + 1)[: len(part)], qp,
                                       max_distance(n, n + 1, 80))]
            full += rows_text(part)
            heads += rows_text(np.ascontiguousarray(part[:, : n + 1]))
        if heads:
            for _, s, i in process.extract(q, heads, scorer=fuzz.ratio, score_cutoff=80, limit=20, processor=None):
                out.setdefault(full[i], float(s) * 0.9)
        return sorted(out.items(), key=lambda x: -x[1])

    def _fuzzy_decoded(self, tag: str, q: str) -> list[tuple[str, float]]:
        """_fuzzy for a query that is not ASCII: every term of the buckets decoded and scored."""
        c, n = q[:1], len(q)
        # (arrays and map, not comprehensions: at 1M papers the buckets hold 20-30k terms, 1-6 ms each in Python)
        near = self._fz_run(tag, c, range(max(1, n - 2), n + 3))
        out: dict[str, float] = {}
        for t, s, _ in process.extract(q, near, scorer=fuzz.ratio, score_cutoff=75, limit=20, processor=None):
            out[t] = float(s)
        longer = self._fz_run(tag, c, range(n + 1, n + 7), FUZZY_HEADS)
        heads = list(map(itemgetter(slice(None, n + 1)), longer.tolist()))
        for _, s, i in process.extract(q, heads, scorer=fuzz.ratio, score_cutoff=80, limit=20, processor=None):
            out.setdefault(longer[i], float(s) * 0.9)
        return sorted(out.items(), key=lambda x: -x[1])

    def _top(self, scores: dict[int, float], limit: int) -> list[tuple[int, float]]:
        return sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:limit]

    # ---------------------------------------------------------------- related

    def related(self, i: int, k: int = 5) -> list[tuple[int, float]]:
        """The k papers whose content vectors are closest (cosine) to paper i's."""
        return self.related_terms(list(self.paper_term_ids(i).items()), k, exclude=i)

    def related_text(self, text: str, k: int = 5) -> list[tuple[int, float]]:
        """The k papers closest to a passage of text."""
        return self.related_terms(self.text_terms(text), k, exclude=-1)

    def text_terms(self, text: str, title: str = "", keywords: tuple[str, ...] = ()) -> list[tuple[int, float]]:
        """A passage's key phrases as (term id, weight), weighted as papers' are, L2-normalised."""
        return self.bag_terms(key_phrases(title, text, keywords))

    def bag_terms(self, bag: dict[str, float]) -> list[tuple[int, float]]:
        """Key phrases (semantic.key_phrases) as (term id, weight) in this index, L2-normalised."""
        found = [(j, w * float(self.rel_idf[j])) for j, w in ((self.rel.find(t), w) for t, w in bag.items()) if j >= 0]
        found = sorted(found, key=lambda x: -x[1])[:REL_TERMS]
        norm = math.sqrt(sum(w * w for _, w in found)) or 1.0
        return [(j, w / norm) for j, w in found]

    def paper_term_ids(self, i: int) -> dict[int, float]:
        """Paper i's stored key phrases as term id -> weight."""
        a, b = int(self.doc_term_off[i]), int(self.doc_term_off[i + 1])
        ids, w = self._read("doc_term_ids", self.doc_term_ids), self._read("doc_term_w", self.doc_term_w)
        return dict(zip(ids[a:b].tolist(), w[a:b].tolist(), strict=True))

    def _term(self, j: int) -> str:
        """rel.terms[j], its bytes read through _read (by pread from a large index)."""
        blob, offs = self.rel.terms.packed()
        a, b = int(offs[j]), int(offs[j + 1])
        return self._read("rel.terms.blob", blob)[a:b].tobytes().decode()

    def _read(self, name: str, col: np.ndarray) -> FileSlices:
        """The column read by pread (store.FileSlices): for the related-papers path's scattered slices."""
        r = self._reads.get(name)
        if r is None:
            r = self._reads[name] = FileSlices(col)
        return r

    def why(self, query: dict[int, float], i: int, n: int = 3) -> list[str]:
        """The telling key phrases paper i shares with a query (term id -> weight), heaviest in both first; only
        the shared terms are decoded."""
        mine = self.paper_term_ids(i)
        shared = [j for j in query.keys() & mine.keys() if self.rel_telling[j]]
        names = {j: self._term(j) for j in shared}
        return explain_known({names[j]: query[j] for j in shared}, {names[j]: mine[j] for j in shared},
                             set(names.values()), n)

    def paper_vector(self, i: int) -> np.ndarray | None:
        """Paper i's dense vector (float32), None when it has none."""
        if len(self.dense) == 0:
            return None
        v = np.asarray(self.dense[i], dtype=np.float32)
        return v if v.any() else None

    def _dense_f32(self) -> np.ndarray:
        if self._dense32 is None:
            self._dense32 = np.asarray(self.dense, dtype=np.float32)
        return self._dense32

    def dense_complete(self) -> bool:
        """Whether every paper has a dense vector (an empty index: trivially)."""
        return len(self.dense) == self.n and bool(self._dense_f32().any(axis=1).all())

    def dense_sims(self, vec: np.ndarray) -> np.ndarray | None:
        """Every paper's vector cosine to vec; None when the index has no vectors. Brute force: an index has
        vectors only up to dense.DENSE_MAX papers (p50 ~2 ms at 10,000)."""
        if len(self.dense) == 0:
            return None
        return self._dense_f32() @ vec

    def related_terms(self, terms: list[tuple[int, float]], k: int, exclude: int,
                      sims: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k best papers by key-phrase cosine; given every paper's vector cosine to the query (dense_sims),
        by key-phrase cosine + ALPHA x vector cosine."""
        chunks, weights = [], []
        budget = REL_BUDGET
        offs, ids = self.rel.offsets, self._read("rel.ids", self.rel.ids)
        rel_w = self._read("rel_w", self.rel_w)
        for j, wq in sorted(terms, key=lambda x: -x[1]):  # heaviest first: the budget cuts the lightest
            lo, hi = int(offs[j]), int(offs[j + 1])  # (offsets through the map: two numbers, no system call)
            if hi - lo > REL_DF_CAP:
                continue
            hi = min(hi, lo + REL_TERM_CAP, lo + budget)  # ids are in prior order: a long list's best come first
            if hi <= lo:
                break
            budget -= hi - lo
            chunks.append(ids[lo:hi])
            weights.append(rel_w[lo:hi].astype(np.float32) * wq)
        uniq: np.ndarray = np.zeros(0, np.int64)
        sums: np.ndarray = np.zeros(0)
        if chunks:
            uniq, sums = _sum_by_id(np.concatenate(chunks), np.concatenate(weights))
        elif sims is None:
            return []
        if sims is not None:  # every paper is a candidate, sharing a phrase or not
            total = ALPHA * sims.astype(np.float64)
            total[uniq] += sums
            uniq, sums = np.arange(self.n), total
        if exclude >= 0:
            sums[uniq == exclude] = -1
        if len(uniq) == 0:
            return []
        kk = min(k, len(uniq))
        top = np.argpartition(-sums, kk - 1)[:kk] if kk < len(uniq) else np.arange(len(uniq))
        order = sorted(top, key=lambda t: (-sums[t], uniq[t]))
        return [(int(uniq[t]), float(sums[t])) for t in order if sums[t] > 0][:k]


def preload_lazy_imports() -> None:
    """Import now (from a worker thread at start) what numpy imports on first use: `np.unique` imports numpy.ma
    on its first call, 35-55 ms inside the first completion that searches title words."""
    import numpy.ma  # noqa: F401


def _uniq(a: np.ndarray) -> np.ndarray:
    """np.unique(a) by a sort: numpy 2.4's np.unique hashes instead, ~5x slower on the 10-20k ids of a request
    (1.7 vs 0.3 ms)."""
    s = np.sort(a)
    return s if len(s) < 2 else s[_run_starts(s)]


def _run_starts(s: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts (a mask)."""
    first = np.empty(len(s), dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    return first


def _sum_by_id(ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids and each one's summed weight. The ids come as runs already sorted (posting lists): a
    stable sort (timsort) merges the runs, where np.unique's quicksort sorts from scratch (~1 vs ~2.4 ms for the
    ~40k postings of a related-papers query)."""
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    first = _run_starts(s)
    return s[first], np.bincount(np.cumsum(first) - 1, weights=weights[order])


def _best_ids(post: Postings, lo: int, hi: int, cap: int = CANDIDATE_CAP) -> IdArray:
    """The smallest (best-prior) distinct ids over the posting lists of terms lo..hi (one contiguous slice)."""
    a, b = int(post.offsets[lo]), int(post.offsets[hi])
    ids = np.asarray(post.ids[a:b])
    if b - a <= 4 * cap:
        return _uniq(ids)[:cap]
    # Many postings (a 1-3 letter prefix): a bitmap is O(n) where sorting them would be O(m log m).
    mask = np.zeros(int(ids.max()) + 1, dtype=bool)
    mask[ids] = True
    return np.flatnonzero(mask)[:cap].astype(np.int32)


def _intersect(a: IdArray, b: IdArray) -> IdArray:
    """Two sorted id sets intersected; a small one against a big one by binary search, not by sorting both."""
    if len(a) > len(b):
        a, b = b, a
    if len(a) == 0:
        return np.asarray(a)
    if len(a) * 16 < len(b):
        b = np.asarray(b)
        idx = np.minimum(np.searchsorted(b, a), len(b) - 1)
        return np.asarray(a)[b[idx] == a]
    return np.intersect1d(a, b, assume_unique=True)


def _distinct(chunks: list[tuple[IdArray, float]]) -> int:
    """How many different papers the chunks hold."""
    if not chunks:
        return 0
    return len(_uniq(np.concatenate([c for c, _ in chunks])))


def _top_chunks(chunks: list[tuple[IdArray, float]], limit: int) -> list[tuple[int, float]]:
    """Each paper once, with its best score; ordered by score, then id (prior); the first `limit`."""
    if not chunks:
        return []
    ids = np.concatenate([c for c, _ in chunks])
    sc = np.concatenate([np.full(len(c), s, dtype=np.float64) for c, s in chunks])
    order = np.lexsort((ids, -sc))
    ids, sc = ids[order], sc[order]
    _, first = np.unique(ids, return_index=True)
    first.sort()
    return [(int(ids[k]), float(sc[k])) for k in first[:limit]]
