"""The workspace's .bib entries as a small, mutable search index: keys, title words, authors and years.

Built from light records (key, title, first author, year, ids), not from full Papers: a 72,000-entry library is
searchable without decoding abstracts or author lists, and the full Paper of an entry is made only when a card
shows it. Records can be added and removed one at a time, so an edit in a large .bib re-indexes only the entries
it touched.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import threading
from array import array
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperlens.core.ids import doi_key
from paperlens.core.model import Paper, Repo
from paperlens.core.priority import pause
from paperlens.core.text import STOP_WORDS, norm_name, words
from paperlens.index.aliases import is_common, title_name
from paperlens.index.core import Entry, NameHit
from paperlens.index.dense import lookup_only
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


# A record without its origin, as a file's cached segment holds it (see bibload.save_cache).
Row = tuple[str, str, str, str, "int | None", "str | None", "str | None", "str | None"]


def rec_row(r: BibRec) -> Row:
    return (r.key, r.title, r.authors_short, r.first_author, r.year, r.arxiv_id, r.doi, r.method)


Light = tuple[str, str, str, str, "int | None", "str | None", "str | None"]
CHUNK = 2048  # items per C call when a column is turned into pairs or a dict


class Segment:
    """One file's records and lookup tables, numbered by row (a row per entry; None where the entry is not a
    paper), as bibload caches them for a bulk BibIndex.install.

    The cache holds it as columns (`columns`/`from_columns`): a list of strings per field and int arrays, saved
    and read a few thousand rows at a time (bibload), where a pickled object graph of a 72,000-entry file took
    ~0.35 s (holding the GIL)."""

    def __init__(self, rows: list[Row | None]) -> None:
        self._rows: list[Row | None] | None = rows
        self._cols: tuple[list[Any], ...] | None = None
        self._present = b""  # with _cols: 1 where the row is a paper
        self._saved: dict[str, Any] | None = None  # with _cols: the saved tables, until build_tables
        self.postings: dict[str, MutableSequence[int]] = {}
        self.by_arxiv: dict[str, list[int]] = {}
        self.by_doi: dict[str, list[int]] = {}
        self.by_title: dict[str, list[int]] = {}
        self.names: dict[str, list[int]] = {}
        seen: set[str] = set()
        for n, row in enumerate(rows):
            if row is None or row[0] in seen:
                rows[n] = None  # a key twice: the first entry wins
                continue
            seen.add(row[0])
            r = BibRec(*row, "")  # type: ignore[misc]
            for w in BibIndex._rec_words(r):
                self.postings.setdefault(w, []).append(n)
            if r.arxiv_id:
                self.by_arxiv.setdefault(r.arxiv_id, []).append(n)
            if r.doi:
                self.by_doi.setdefault(r.doi, []).append(n)
            if r.title:
                self.by_title.setdefault(norm_name(r.title), []).append(n)
            if r.method:
                self.names.setdefault(norm_name(r.method), []).append(n)
        self.sorted_words = sorted(self.postings)
        self.sorted_keys = sorted((row[0].lower(), n) for n, row in enumerate(rows) if row is not None)

    @property
    def rows(self) -> list[Row | None]:
        if self._rows is None:
            assert self._cols is not None
            present = self._present
            self._rows = [row if p else None for row, p in zip(zip(*self._cols, strict=True), present, strict=True)]  # type: ignore[misc]
        return self._rows

    def size(self) -> int:
        """How many rows (without making them: `rows` from columns is one comprehension, ~10+ ms at 72,000)."""
        return len(self._present) if self._cols is not None else len(self.rows)

    def papers(self) -> bytes:
        """1 for each row that is a paper, 0 where it is not (as many as rows)."""
        if self._cols is not None:
            return self._present
        return bytes(r is not None for r in self.rows)

    def lights(self) -> list[Light | None]:
        return [r[:7] if r is not None else None for r in self.rows]

    def live_keys(self) -> list[str]:
        if self._cols is not None:
            keys, present = self._cols[0], self._present
            out: list[str] = []
            for a in range(0, len(keys), CHUNK):  # a slice per C call (one comprehension over 72,000: ~3 ms)
                pause()
                out.extend(itertools.compress(keys[a:a + CHUNK], present[a:a + CHUNK]))
            return out
        return [r[0] for r in self.rows if r is not None]

    def recs(self, origin: str) -> list[BibRec | None]:
        """A BibRec per row (None where the row is None), made at C speed from the columns when it has them."""
        if self._cols is None:
            return [BibRec(*r, origin) if r is not None else None for r in self.rows]  # type: ignore[misc]
        new: list[BibRec | None] = []
        for a in range(0, len(self._present), CHUNK):
            pause()  # (a loader's thread: a request in flight goes first)
            new.extend(map(BibRec, *(c[a:a + CHUNK] for c in self._cols), itertools.repeat(origin)))
        if not all(self._present):
            new = [r if p else None for r, p in zip(new, self._present, strict=True)]
        return new

    def columns(self) -> dict[str, Any]:
        """The segment as columns (for the cache): a list of strings per field ("" for none), ints as arrays,
        tables by row."""
        rows = self.rows
        cols: list[list[str]] = [[] for _ in range(8)]
        years = array("i")
        for r in rows:
            vals = r if r is not None else ("", "", "", "", None, None, None, None)
            for c, v in zip(cols, (vals[0], vals[1], vals[2], vals[3], vals[5], vals[6], vals[7]), strict=False):
                c.append(v or "")
            cols[7].append(norm_name(vals[1]) if vals[1] else "")
            years.append(vals[4] or 0)
        counts, ids = array("i"), array("i")
        for w in self.sorted_words:
            p = self.postings[w]
            counts.append(len(p))
            ids.extend(p)
        out: dict[str, Any] = dict(zip(
            ("key", "title", "short", "first", "arxiv", "doi", "method", "norm_title"), cols, strict=True))
        out.update(n=len(rows), present=bytes(r is not None for r in rows), year=years,
                   words=list(self.sorted_words), counts=counts, ids=ids,
                   order=array("i", (n for _, n in self.sorted_keys)))
        return out

    @classmethod
    def from_columns(cls, c: dict[str, Any]) -> Segment | None:
        """The segment `columns` saved (None when they do not fit together: a damaged or foreign file). Its
        records and keys are made now; its search tables (words, titles, ids) by `build_tables`, which
        BibIndex.install leaves for later (BibIndex.finish_install) so that keys answer first."""
        try:
            n = c["n"]
            split = [c[k] for k in ("key", "title", "short", "first", "arxiv", "doi", "method")]
            present, years, order = c["present"], c["year"], c["order"]
            if (not all(isinstance(x, list) and len(x) == n for x in split) or len(present) != n
                    or len(years) != n or len(order) != sum(present) or not _in_range(order, n)):
                return None
        except (KeyError, TypeError, AttributeError, ValueError):
            return None
        keys, titles, shorts, firsts, arx, dois, methods = split
        seg = cls.__new__(cls)
        seg._rows = None
        seg._present = present
        seg._cols = (keys, titles, shorts, firsts, _or_none(years), _or_none(arx), _or_none(dois), _or_none(methods))
        lower: list[str] = []
        seg.sorted_keys = []
        for a in range(0, n, CHUNK):  # a slice per C call: the GIL can change hands between them
            pause()  # (a loader's thread: a request in flight goes first)
            lower.extend(map(str.lower, keys[a:a + CHUNK]))
        for a in range(0, len(order), CHUNK):  # (one zip of 72,000 pairs: ~15 ms without a GIL hand-over)
            pause()
            part = order[a:a + CHUNK]
            seg.sorted_keys.extend(zip(map(lower.__getitem__, part), part, strict=True))
        seg._saved = {k: c[k] for k in ("n", "words", "counts", "ids", "norm_title")}  # (the rest is taken now)
        seg.postings, seg.sorted_words, seg.by_arxiv, seg.by_doi, seg.by_title, seg.names = {}, [], {}, {}, {}, {}
        return seg

    def build_tables(self, wait: Callable[[], None] = pause) -> bool:
        """The search tables of a segment read from columns (a no-op for one made from rows); False when the
        saved tables are damaged (the segment then searches by key only). `wait` is called between pieces of
        the work (a no-op where the index's lock is held)."""
        c, self._saved = self._saved, None
        if c is None or self._cols is None:
            return True
        try:
            n = c["n"]
            words, counts, ids, norms = c["words"], c["counts"], c["ids"], c["norm_title"]
            if (not isinstance(words, list) or not isinstance(norms, list) or len(counts) != len(words)
                    or sum(counts) != len(ids) or len(norms) != n or not _in_range(ids, n)):
                return False
        except (KeyError, TypeError, AttributeError, ValueError):
            return False
        postings: dict[str, MutableSequence[int]] = {}
        at = 0
        for j, (w, k) in enumerate(zip(words, counts, strict=True)):  # arrays: 4 bytes a posting, not an int
            if not j & 1023:
                wait()
            postings[w] = ids[at:at + k]
            at += k
        by_arxiv: dict[str, list[int]] = {}
        by_doi: dict[str, list[int]] = {}
        by_title: dict[str, list[int]] = {}
        for table, col in ((by_arxiv, self._cols[5]), (by_doi, self._cols[6]), (by_title, norms)):
            for i, v in enumerate(col):
                if not i & 1023:
                    wait()
                if v:  # (a row that is not a paper has empty values)
                    got = table.get(v)
                    if got is None:
                        table[v] = [i]
                    else:
                        got.append(i)
        names: dict[str, list[int]] = {}
        for i, m in enumerate(self._cols[7]):
            if not i & 1023:
                wait()
            if m:
                names.setdefault(norm_name(m), []).append(i)
        self.postings, self.sorted_words = postings, words
        self.by_arxiv, self.by_doi, self.by_title, self.names = by_arxiv, by_doi, by_title, names
        return True


def _no_wait() -> None:
    pass


KEY_SLICE = 1024  # keys added per lock hold by BibIndex.add_keys
MERGE_PIECE = 512  # new items per piece of _merge_in_pieces


def _merge_in_pieces(main: list[Any], items: list[Any]) -> list[Any]:
    """A new sorted list of main's and items' items (both sorted), made a piece at a time with a pause between:
    each piece sorts (two runs: linear) the next MERGE_PIECE items with the stretch of main they fall in."""
    out: list[Any] = []
    i = 0
    for a in range(0, len(items), MERGE_PIECE):
        pause()
        part = items[a:a + MERGE_PIECE]
        j = bisect.bisect_right(main, part[-1], i)
        run = main[i:j]
        run += part
        run.sort()
        out += run
        i = j
    pause()
    out += main[i:]
    return out


def _or_none(col: Any) -> list[Any]:
    """The column with None for its empty values (0, ""), a slice per C call with a pause between (four
    comprehensions over 72,000 values in one go held the GIL ~10 ms while a worker's records came in)."""
    out: list[Any] = []
    for a in range(0, len(col), CHUNK):
        pause()
        out.extend([v or None for v in col[a:a + CHUNK]])
    return out


def _in_range(ids: Any, n: int) -> bool:
    """Every id of an int array is a row number (numpy: a million checked in a millisecond, without the GIL
    held for long)."""
    if not isinstance(ids, array) or ids.typecode != "i":
        return False
    if not len(ids):
        return True
    a = np.frombuffer(ids, dtype=np.intc)
    return bool(a.min() >= 0 and a.max() < n)


def rec_from_paper(p: Paper, origin: str = "") -> BibRec:
    authors_short = (p.authors[0] + (" et al." if len(p.authors) > 1 else "")) if p.authors else ""
    return BibRec(p.bib_key or "", p.title, authors_short, last_name(p.authors[0]) if p.authors else "", p.year,
                  p.arxiv_id, doi_key(p.doi) or None, title_name(p.title), origin, paper=p)


class BibIndex:
    """Records by id (ids are never reused; a removed record leaves a hole; a record replaced by one with the
    same key from the same file keeps its id, so a file being read or edited never reorders the index).

    Prefix search walks two sorted lists (keys, words). They are kept sorted by the writer, a change at a time
    (a small sorted side list, merged into the main one when it grows), so a search never sorts anything; an
    entry that left keeps a stale item there, skipped when met and swept out when there are many."""

    SIDE_MAX = 2048  # side-list items before a merge into the main sorted list (a merge is one timsort: ~ms)

    def __init__(self, repos: dict[str, Repo] | None = None) -> None:
        self.recs: list[BibRec | None] = []
        self.by_key: dict[str, int] = {}
        self.repos: dict[str, Repo] = repos or {}
        self._words: dict[str, MutableSequence[int]] = {}  # lists, or arrays from a cached Segment
        self._sorted_words: list[str] = []
        self._side_words: list[str] = []
        self._sorted_keys: list[tuple[str, int]] = []
        self._side_keys: list[tuple[str, int]] = []
        self._stale = 0  # items of the sorted lists that no longer index anything
        self._by_arxiv: dict[str, list[int]] = {}
        self._by_doi: dict[str, list[int]] = {}
        self._by_title: dict[str, list[int]] = {}
        self._names: dict[str, list[int]] = {}
        self.n = 0
        self.version = 0  # bumped by every change (Catalog's memos check it)
        # Loading happens in a worker thread, one batch per hold; readers take it too (uncontended: ~0.1 µs).
        self.lock = threading.RLock()
        self._by_origin: dict[str, set[str]] = {}
        # Per .bib URI: the full Paper of one of its keys (records without `load` or `paper` are read there).
        self.sources: dict[str, Callable[[str], Paper | None]] = {}
        # A content index of the entries' full papers (abstracts), for related papers; built only for libraries
        # small enough to decode whole (see CONTENT_MAX), swapped in whole.
        self.content: Any = None
        self._pending: tuple[Segment, list[BibRec | None], int] | None = None  # see finish_install

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
        self._side_insert(self._side_keys, (rec.key.lower(), i))
        self._index(rec, i)
        return i

    def add_keys(self, origin: str, keys: list[str]) -> None:
        """Key-only records for a file's keys, in bulk (a 72,000-key file in ~0.1 s): each key completes and
        hovers at once; `replace` fills in each record later, keeping its id. The lock is held a slice of keys at
        a time, and their merge into the sorted keys is made outside it, in pieces (one merge of 4,096 keys into
        72,000 was a single sort call of ~5-10 ms with the GIL held)."""
        fresh: list[tuple[str, int]] = []
        for a in range(0, len(keys), KEY_SLICE):
            if a:
                pause()  # (between lock holds: a request in flight goes first)
            with self.lock:
                base = len(self.recs)
                mine = self._by_origin.setdefault(origin, set())
                for key in keys[a:a + KEY_SLICE]:
                    if not key or key in self.by_key:
                        continue
                    i = len(self.recs)
                    self.recs.append(BibRec(key, "", "", "", None, None, None, None, origin))
                    self.by_key[key] = i
                    mine.add(key)
                    fresh.append((key.lower(), i))
                if len(self.recs) != base:
                    self.n += len(self.recs) - base
                    self.version += 1
        if not fresh:
            return
        fresh.sort()
        with self.lock:
            main = self._sorted_keys
            was = len(main)
        merged = _merge_in_pieces(main, fresh)
        with self.lock:
            if self._sorted_keys is main:
                if len(main) == was:
                    self._sorted_keys = merged
                else:  # (a side list was merged into it meanwhile)
                    self._merge(main, fresh)
            # else it was made again from by_key meanwhile (settle, take): these keys are in it already

    def install(self, origin: str, seg: Segment) -> bool:
        """Bulk: a file's records and lookup tables as a previous start saved them (Segment, numbered by row),
        without computing anything per word or title: into an empty index they are taken as they are, else
        merged. Into an empty index, a segment read from columns brings its records and keys now (a 72,000-entry
        file in ~0.1 s) and its search tables with `finish_install`. False (nothing done) when the index already
        has one of its keys; the caller then adds its records one by one."""
        keys = seg.live_keys()
        new = seg.recs(origin)  # (outside the lock: requests keep answering while 72,000 records are made)
        if self.recs or self._words:
            seg.build_tables()
        with self.lock:
            if origin in self._by_origin or (self.by_key and any(
                    not self.by_key.keys().isdisjoint(keys[a:a + CHUNK]) for a in range(0, len(keys), CHUNK))):
                return False
            base = len(self.recs)
            first = base == 0 and not self._words  # the first file: its tables are the index's
            if not first:
                seg.build_tables(_no_wait)  # (built before, outside the lock, unless the index was empty then)
            for a in range(0, len(new), CHUNK):  # (a C call per slice: see CHUNK)
                self.recs.extend(new[a:a + CHUNK])
            if base == 0 and len(keys) == len(new):  # every row a paper: numbered in order, at C speed
                for a in range(0, len(keys), CHUNK):
                    self.by_key.update(zip(keys[a:a + CHUNK], range(a, min(a + CHUNK, len(keys))), strict=True))
            else:
                self.by_key.update((r.key, base + n) for n, r in enumerate(new) if r is not None)
            own: set[str] = set()
            for a in range(0, len(keys), CHUNK):
                own.update(keys[a:a + CHUNK])
            self._by_origin[origin] = own
            self.n += len(keys)
            self.version += 1
            if first:
                self._sorted_keys = seg.sorted_keys
                self._pending = (seg, new, self.version)
                return True
            fresh: list[str] = []
            for w, ids in seg.postings.items():
                have = self._words.get(w)
                if have is None:
                    self._words[w] = have = []
                    fresh.append(w)
                have.extend(base + i for i in ids)
            fresh.sort()
            self._merge(self._sorted_words, fresh)
            self._merge(self._sorted_keys, [(k, base + i) for k, i in seg.sorted_keys])
            for mine, theirs in ((self._by_arxiv, seg.by_arxiv), (self._by_doi, seg.by_doi),
                                 (self._by_title, seg.by_title), (self._names, seg.names)):
                for k, ids in theirs.items():
                    mine.setdefault(k, []).extend(base + i for i in ids)
            return True

    def finish_install(self) -> None:
        """The search tables of the segment `install` put in first (built here, outside the lock, then taken
        in one step; when the index changed meanwhile, its remaining records are indexed one by one)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        seg, new, version = pending
        enabled = gc.isenabled()
        gc.disable()  # ~100,000 new lists: collections meanwhile walk the young heap again and again (10+ ms each)
        try:
            ok = seg.build_tables()
        finally:
            if enabled:
                gc.freeze()  # they live as long as the file; else the next collection walks them all (~10 ms)
                gc.enable()
        with self.lock:
            if ok and self.version == version and not self._words:
                self._words, self._sorted_words = seg.postings, seg.sorted_words
                self._by_arxiv, self._by_doi, self._by_title, self._names = (
                    seg.by_arxiv, seg.by_doi, seg.by_title, seg.names)
                self.version += 1
                return
            for i, r in enumerate(new):  # (ids from 0: the segment went into an empty index)
                if r is not None and i < len(self.recs) and self.recs[i] is r and self.by_key.get(r.key) == i:
                    self._index(r, i)
            self.version += 1
            self.settle()

    def take(self, origin: str, seg: Segment, version: int) -> bool:
        """The one file in the index, read elsewhere (a worker process): its records and tables replace its
        key-only ones in one step, when the index has changed since `version` (an edit, another file) it
        is left as it is (False; the caller then replaces records one by one). The new state is built
        outside the lock."""
        fresh = BibIndex(self.repos)
        if not fresh.install(origin, seg):
            return False
        fresh.finish_install()
        names = ("recs", "by_key", "_words", "_sorted_words", "_side_words", "_sorted_keys", "_side_keys", "_stale",
                 "_by_arxiv", "_by_doi", "_by_title", "_names", "n", "_by_origin")
        with self.lock:
            if self.version != version or set(self._by_origin) - {origin}:
                return False
            old = [getattr(self, name) for name in names]
            for name in names:
                setattr(self, name, getattr(fresh, name))
            self.version += 1
        # The key-only state goes a slice at a time: freed in one step (72,000 records and sorted keys), it held
        # the GIL ~10 ms.
        for x in old:
            if isinstance(x, list):
                while x:
                    pause()
                    del x[-CHUNK:]
        return True

    def replace(self, rec: BibRec) -> int | None:
        """Put a record in place of the one with its key from the same file (a key-only one, or an edit)."""
        with self.lock:
            old = self.by_key.get(rec.key)
            if old is None:
                return self._add(rec)
            prev = self.rec(old)
            if prev.origin != rec.origin:
                return None  # another file defines this key first
            self._unindex(prev, old)
            self.recs[old] = rec
            self._index(rec, old)
            self.version += 1
            return old

    def _index(self, rec: BibRec, i: int) -> None:
        for w in self._rec_words(rec):
            ids = self._words.get(w)
            if ids is None:
                self._words[w] = [i]
                self._side_insert(self._side_words, w)
            else:
                ids.append(i)
        if rec.arxiv_id:
            self._by_arxiv.setdefault(rec.arxiv_id, []).append(i)
        if rec.doi:
            self._by_doi.setdefault(rec.doi, []).append(i)
        if rec.title:
            self._by_title.setdefault(norm_name(rec.title), []).append(i)
        if rec.method:
            self._names.setdefault(norm_name(rec.method), []).append(i)

    def _unindex(self, rec: BibRec, i: int) -> None:
        for w in self._rec_words(rec):
            if _discard(self._words, w, i):
                self._stale += 1
        if rec.arxiv_id:
            _discard(self._by_arxiv, rec.arxiv_id, i)
        if rec.doi:
            _discard(self._by_doi, rec.doi, i)
        if rec.title:
            _discard(self._by_title, norm_name(rec.title), i)
        if rec.method:
            _discard(self._names, norm_name(rec.method), i)

    def _side_insert(self, side: list[Any], item: Any) -> None:
        bisect.insort(side, item)
        if len(side) > self.SIDE_MAX:
            main = self._sorted_keys if side is self._side_keys else self._sorted_words
            self._merge(main, side)
            side.clear()

    @staticmethod
    def _merge(main: list[Any], items: list[Any]) -> None:
        """Merge sorted items into the sorted main list in place (timsort finds the two runs: linear)."""
        main.extend(items)
        main.sort()

    def settle(self) -> None:
        """Merge the side lists and sweep stale items when they are many: called by the writer after a batch,
        so that searches find the lists ready."""
        with self.lock:
            if self._stale > max(1024, (len(self._sorted_keys) + len(self._sorted_words)) // 4):
                self._sorted_keys = sorted((k.lower(), i) for k, i in self.by_key.items())
                self._sorted_words = sorted(self._words)
                self._side_keys.clear()
                self._side_words.clear()
                self._stale = 0
                return
            if self._side_keys:
                self._merge(self._sorted_keys, self._side_keys)
                self._side_keys.clear()
            if self._side_words:
                self._merge(self._sorted_words, self._side_words)
                self._side_words.clear()

    def remove_origin(self, origin: str) -> None:
        """Forget every record of one .bib file."""
        with self.lock:
            for key in list(self._by_origin.pop(origin, ())):
                self.remove(key)
            self.sources.pop(origin, None)

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
        self._stale += 1  # its key in the sorted keys
        keys = self._by_origin.get(rec.origin)
        if keys is not None:
            keys.discard(key)
        self._unindex(rec, i)

    @staticmethod
    def _rec_words(rec: BibRec) -> set[str]:
        if not rec.title:  # a key-only record: found by its key (prefix search on the sorted keys)
            return set()
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
        if r.paper is not None:
            return r.paper
        p: Paper | None = None
        source = self.sources.get(r.origin)
        try:
            p = r.load() if r.load else source(r.key) if source else None
        except ValueError:  # the entry became unreadable since it was indexed
            p = None
        if p is None:
            p = Paper(title=r.title, bib_key=r.key, source=f"bib:{r.origin}")
            if source is None and r.load is None:
                return p  # its file's text is still being read: the full card comes later
        r.paper = p
        return p

    def entry(self, i: int, decode: bool = True) -> Entry:
        """The record as an Entry; a key-only one (its file is still being read) is decoded from the text now,
        unless `decode` is False (a list item: its key, and its title once the record is read)."""
        r = self.rec(i)
        if not r.title and (decode or r.paper is not None):
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
        for i in self._by_doi.get(doi_key(doi), ()):
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

    def _key_prefix(self, ql: str, cap: int) -> list[tuple[str, int]]:
        """(lower-cased key, id) of live keys starting with ql, from the main and side lists."""
        out: list[tuple[str, int]] = []
        for keys in (self._sorted_keys, self._side_keys):
            for j in range(bisect.bisect_left(keys, (ql, -1)), len(keys)):
                k, i = keys[j]
                if not k.startswith(ql):
                    break
                r = self.recs[i]
                if r is None or self.by_key.get(r.key) != i:
                    continue  # stale: the key left (or moved to another id)
                out.append((k, i))
                if len(out) >= cap:
                    break
        return out

    def _word_prefix(self, t: str, cap: int) -> set[int]:
        out: set[int] = set()
        for ws in (self._sorted_words, self._side_words):
            for j in range(bisect.bisect_left(ws, t), len(ws)):
                w = ws[j]
                if not w.startswith(t):
                    break
                out.update(self._words.get(w, ()))
                if len(out) >= cap:
                    return out
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
        for k, i in self._key_prefix(ql, 4 * limit):
            give(i, EXACT if k == ql else PREFIX + 10.0 * len(ql) / max(len(k), 1))
        qn = norm_name(q)
        for i in self._names.get(qn, ()):
            give(i, EXACT)
        ranked = sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:limit]
        if len(ranked) < limit:
            # Every word hit scores WORDS, below any key or name hit: the lowest ids not ranked already come next,
            # without a score per hit (a venue word in 20,000 keys: sorting them all by score took ~10 ms).
            acc = self._word_hits(words(q), limit)
            acc.difference_update(scores)
            ranked += [(i, WORDS) for i in sorted(acc)[:limit - len(ranked)]]
        return ranked

    def _word_hits(self, toks: list[str], limit: int) -> set[int]:
        """Ids whose words hold every token (the last one as a prefix); stop words not indexed are skipped."""
        if not toks:
            return set()
        sets: list[set[int]] = []
        for t in toks[:-1]:
            if t in self._words:
                sets.append(set(self._words[t]))
            elif t not in STOP_WORDS:
                return set()  # a word no entry has: no need to walk the last token's prefix
        sets.append(self._word_prefix(toks[-1], 4 * limit if len(toks) == 1 else 1_000_000))
        return set.intersection(*sets)

    def ids(self) -> list[int]:
        with self.lock:
            return sorted(self.by_key.values())


def _discard(d: dict[str, MutableSequence[int]] | dict[str, list[int]], k: str, i: int) -> bool:
    """Drop id i from d[k]; True when k is gone."""
    ids = d.get(k)
    if ids is None:
        return False
    try:
        ids.remove(i)
    except ValueError:
        return False
    if not ids:
        del d[k]
        return True
    return False


def build_content(bib: BibIndex) -> None:
    """The related-papers index over the entries' full papers, when there are at most CONTENT_MAX of them."""
    from paperlens.core.model import Library
    from paperlens.index.core import Index

    keys = list(bib.by_key.items())
    if not keys or len(keys) > CONTENT_MAX:
        bib.content = None
        return
    papers = [bib.paper(i) for _, i in keys]
    with lookup_only():  # (built inline on an edit: never waits for the encoder)
        bib.content = Index.build(Library(papers=papers, repos=bib.repos))
