"""The workspace's .bib entries as a small, mutable search index: keys, title words, authors and years.

Built from light records (key, title, first author, year, ids), not from full Papers: a 72,000-entry library is
searchable without decoding abstracts or author lists, and the full Paper of an entry is made only when a card
shows it. Records can be added and removed one at a time, so an edit in a large .bib re-indexes only the entries
it touched.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paperlens.core.model import Paper, Repo
from paperlens.core.text import STOP_WORDS, norm_name, words
from paperlens.index.aliases import is_common, title_name
from paperlens.index.core import Entry, NameHit
from paperlens.index.keys import last_name

CONTENT_MAX = 3000  # entries whose full papers are decoded for a related-papers index

# Scores on the feed index's scale (core.Index.search): exact name 100, name prefix 80-90, words 60.
EXACT, PREFIX, WORDS = 100.0, 80.0, 60.0


@dataclass(slots=True)
class BibRec:
    """What search and completion need of one entry; `load` makes the full Paper when a card shows it."""

    key: str
    title: str
    authors_short: str
    first_author: str  # folded last name, for matching a feed paper
    year: int | None
    arxiv_id: str | None
    doi: str | None
    method: str | None
    origin: str  # the .bib's URI
    load: Callable[[], Paper] | None = field(default=None, repr=False)
    paper: Paper | None = field(default=None, repr=False)


def rec_from_paper(p: Paper, origin: str = "") -> BibRec:
    authors_short = (p.authors[0] + (" et al." if len(p.authors) > 1 else "")) if p.authors else ""
    return BibRec(p.bib_key or "", p.title, authors_short, last_name(p.authors[0]) if p.authors else "", p.year,
                  p.arxiv_id, (p.doi or "").lower() or None, title_name(p.title), origin, paper=p)


class BibIndex:
    """Records by id (ids are never reused; a removed record leaves a hole)."""

    def __init__(self, repos: dict[str, Repo] | None = None) -> None:
        self.recs: list[BibRec | None] = []
        self.by_key: dict[str, int] = {}
        self.repos: dict[str, Repo] = repos or {}
        self._words: dict[str, list[int]] = {}
        self._sorted_words: list[str] | None = None
        self._sorted_keys: list[tuple[str, int]] | None = None
        self._by_arxiv: dict[str, list[int]] = {}
        self._by_doi: dict[str, list[int]] = {}
        self._by_title: dict[str, list[int]] = {}
        self._names: dict[str, list[int]] = {}
        self.n = 0
        self.version = 0  # bumped by every change (Catalog's memos check it)
        # Loading happens in a worker thread, one batch per hold; readers take it too (uncontended: ~0.1 µs).
        self.lock = threading.RLock()
        self._by_origin: dict[str, set[str]] = {}
        # A content index of the entries' full papers (abstracts), for related papers; built only for libraries
        # small enough to decode whole (see CONTENT_MAX), swapped in whole.
        self.content: Any = None

    # ---------------------------------------------------------------- changes

    def add(self, rec: BibRec) -> int | None:
        """Index a record; a key already present keeps its first record (None is returned)."""
        with self.lock:
            return self._add(rec)

    def _add(self, rec: BibRec) -> int | None:
        if not rec.key or rec.key in self.by_key:
            return None
        i = len(self.recs)
        self.recs.append(rec)
        self.by_key[rec.key] = i
        self._by_origin.setdefault(rec.origin, set()).add(rec.key)
        self.n += 1
        self.version += 1
        for w in self._rec_words(rec):
            self._words.setdefault(w, []).append(i)
        if rec.arxiv_id:
            self._by_arxiv.setdefault(rec.arxiv_id, []).append(i)
        if rec.doi:
            self._by_doi.setdefault(rec.doi, []).append(i)
        self._by_title.setdefault(norm_name(rec.title), []).append(i)
        if rec.method:
            self._names.setdefault(norm_name(rec.method), []).append(i)
        self._sorted_words = None
        self._sorted_keys = None
        return i

    def replace(self, rec: BibRec) -> int | None:
        """Put a record in place of the one with its key from the same file (a key-only one, or an edit)."""
        with self.lock:
            old = self.by_key.get(rec.key)
            if old is not None and self.rec(old).origin != rec.origin:
                return None  # another file defines this key first
            self._remove(rec.key)
            return self._add(rec)

    def remove_origin(self, origin: str) -> None:
        """Forget every record of one .bib file."""
        with self.lock:
            for key in list(self._by_origin.pop(origin, ())):
                self.remove(key)

    def origin_keys(self, origin: str) -> set[str]:
        with self.lock:
            return set(self._by_origin.get(origin, ()))

    def remove(self, key: str) -> None:
        with self.lock:
            self._remove(key)

    def _remove(self, key: str) -> None:
        i = self.by_key.pop(key, None)
        if i is None:
            return
        rec = self.recs[i]
        assert rec is not None
        # The record stays in `recs` (ids are never reused): a request that found it a moment ago still reads it.
        self.n -= 1
        self.version += 1
        keys = self._by_origin.get(rec.origin)
        if keys is not None:
            keys.discard(key)
        for w in self._rec_words(rec):
            _discard(self._words, w, i)
        if rec.arxiv_id:
            _discard(self._by_arxiv, rec.arxiv_id, i)
        if rec.doi:
            _discard(self._by_doi, rec.doi, i)
        _discard(self._by_title, norm_name(rec.title), i)
        if rec.method:
            _discard(self._names, norm_name(rec.method), i)
        self._sorted_words = None
        self._sorted_keys = None

    @staticmethod
    def _rec_words(rec: BibRec) -> set[str]:
        ws = set(words(rec.title)) | set(words(rec.authors_short.removesuffix(" et al.")))
        if rec.year:
            ws.add(str(rec.year))
        ws.update(words(rec.key))
        return ws

    # ---------------------------------------------------------------- lookups

    def rec(self, i: int) -> BibRec:
        r = self.recs[i]
        assert r is not None
        return r

    def paper(self, i: int) -> Paper:
        """The full Paper (decoded on first use); Entry.paper calls this."""
        r = self.rec(i)
        if r.paper is None:
            try:
                r.paper = r.load() if r.load else None
            except ValueError:  # the entry became unreadable since it was indexed
                r.paper = None
            if r.paper is None:
                r.paper = Paper(title=r.title, bib_key=r.key, source=f"bib:{r.origin}")
        return r.paper

    def entry(self, i: int) -> Entry:
        r = self.rec(i)
        if not r.title:  # a key-only record (its file is still being read): its card is read now
            p = self.paper(i)
            short = (p.authors[0] + (" et al." if len(p.authors) > 1 else "")) if p.authors else ""
            return Entry(i, r.key, p.title, title_name(p.title), p.year, 0, None, p.arxiv_id, short,
                         self, p)  # type: ignore[arg-type]
        return Entry(i, r.key, r.title, r.method, r.year, 0, None, r.arxiv_id, r.authors_short,
                     self, r.paper)  # type: ignore[arg-type]  # a BibIndex serves Entry.paper like an Index

    def key_id(self, key: str) -> int | None:
        return self.by_key.get(key)

    def arxiv_ids(self, arxiv_id: str) -> list[int]:
        with self.lock:
            return list(self._by_arxiv.get(arxiv_id, ()))

    def same_work(self, title: str, year: int | None, first_author: str, arxiv_id: str | None,
                  doi: str | None) -> int | None:
        """The entry that is this feed paper (same arXiv id or DOI, or same title, year and first author)."""
        with self.lock:
            return self._same_work(title, year, first_author, arxiv_id, doi)

    def _same_work(self, title: str, year: int | None, first_author: str, arxiv_id: str | None,
                   doi: str | None) -> int | None:
        for i in self._by_arxiv.get(arxiv_id or "", ()):
            return i
        for i in self._by_doi.get((doi or "").lower(), ()):
            return i
        for i in self._by_title.get(norm_name(title), ()):
            r = self.rec(i)
            if r.arxiv_id and arxiv_id and r.arxiv_id != arxiv_id:
                continue
            if r.year and year and r.year != year:
                continue
            if r.first_author and first_author and r.first_author != first_author:
                continue
            return i
        return None

    def name(self, normed: str) -> NameHit | None:
        with self.lock:
            ids = list(self._names.get(normed, ()))
        if not ids:
            return None
        display = self.rec(ids[0]).method or ""
        return NameHit(display, is_common(display), False, list(ids))

    def has_name(self, normed: str) -> bool:
        return normed in self._names

    # ---------------------------------------------------------------- search

    def _keys_sorted(self) -> list[tuple[str, int]]:
        if self._sorted_keys is None:
            self._sorted_keys = sorted((k.lower(), i) for k, i in self.by_key.items())
        return self._sorted_keys

    def _words_sorted(self) -> list[str]:
        if self._sorted_words is None:
            self._sorted_words = sorted(self._words)
        return self._sorted_words

    def _word_prefix(self, t: str, cap: int) -> set[int]:
        ws = self._words_sorted()
        out: set[int] = set()
        for j in range(bisect.bisect_left(ws, t), len(ws)):
            w = ws[j]
            if not w.startswith(t):
                break
            out.update(self._words[w])
            if len(out) >= cap:
                break
        return out

    def search(self, query: str, limit: int = 50) -> list[tuple[int, float]]:
        """Ranked (id, score): key exact/prefix, method names, then every title/author/year word matching
        (the last one as a prefix). An empty query lists entries in file order."""
        with self.lock:
            return self._search(query, limit)

    def _search(self, query: str, limit: int) -> list[tuple[int, float]]:
        if limit <= 0 or self.n == 0:
            return []
        q = query.strip()
        if not q:
            return [(i, 1.0) for i in itertools.islice(self.by_key.values(), limit)]  # in file order
        scores: dict[int, float] = {}

        def give(i: int, s: float) -> None:
            if s > scores.get(i, 0.0):
                scores[i] = s

        ql = q.lower()
        keys = self._keys_sorted()
        for j in range(bisect.bisect_left(keys, (ql, -1)), len(keys)):
            k, i = keys[j]
            if not k.startswith(ql):
                break
            give(i, EXACT if k == ql else PREFIX + 10.0 * len(ql) / max(len(k), 1))
            if len(scores) >= 4 * limit:
                break
        qn = norm_name(q)
        for i in self._names.get(qn, ()):
            give(i, EXACT)
        toks = words(q)
        if toks:
            cap = 4 * limit if len(toks) == 1 else 1_000_000
            sets: list[set[int]] = []
            for n, t in enumerate(toks):
                if n == len(toks) - 1:
                    sets.append(self._word_prefix(t, cap))
                elif t in self._words:
                    sets.append(set(self._words[t]))
                elif t not in STOP_WORDS:
                    sets.append(set())
            if sets:
                acc = set.intersection(*sets)
                for i in acc:
                    give(i, WORDS)
        ranked = sorted(scores.items(), key=lambda x: (-x[1], x[0]))
        return ranked[:limit]

    def ids(self) -> list[int]:
        with self.lock:
            return sorted(self.by_key.values())


def _discard(d: dict[str, list[int]], k: str, i: int) -> None:
    ids = d.get(k)
    if ids is None:
        return
    try:
        ids.remove(i)
    except ValueError:
        return
    if not ids:
        del d[k]


def build_content(bib: BibIndex) -> None:
    """The related-papers index over the entries' full papers, when there are at most CONTENT_MAX of them."""
    from paperlens.core.model import Library
    from paperlens.index.core import Index

    keys = list(bib.by_key.items())
    if not keys or len(keys) > CONTENT_MAX:
        bib.content = None
        return
    papers = [bib.paper(i) for _, i in keys]
    bib.content = Index.build(Library(papers=papers, repos=bib.repos))
