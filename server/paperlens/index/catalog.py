"""The papers an editor sees: the feed index, overlaid with the workspace's .bib entries.

The feed index can hold a million papers and is built once; the .bib entries are a BibIndex that changes entry by
entry. A .bib entry that is a feed paper (same arXiv id, or same title, year and first author) is merged: the
user's key and fields, the feed's extras (repo, upvotes, abstract).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from paperlens.core.model import Paper
from paperlens.core.priority import pause
from paperlens.core.text import norm_name, words
from paperlens.index.bibindex import CONTENT_MAX, BibIndex, build_content, rec_from_paper
from paperlens.index.core import Entry, Index
from paperlens.index.dense import ALPHA
from paperlens.index.keys import last_name
from paperlens.index.segments import RelQuery, Segments


@dataclass(slots=True)
class Mention:
    """What a name in a document points to."""

    display: str
    common: bool
    code_only: bool
    entries: list[Entry]


def merge_bib_paper(bib: Paper, feed: Paper) -> Paper:
    """The user's entry wins on key and on the fields they wrote; the feed adds what the .bib lacks."""
    return dataclasses.replace(
        feed,
        bib_key=bib.bib_key,
        bib_type=bib.bib_type,
        title=bib.title or feed.title,
        authors=bib.authors or feed.authors,
        venue=bib.venue or feed.venue,
        doi=bib.doi or feed.doi,
        url=bib.url or feed.url,
        date=feed.date or bib.date,
        arxiv_id=feed.arxiv_id or bib.arxiv_id,
        repo=feed.repo or bib.repo,
        abstract=feed.abstract or bib.abstract,
        source=bib.source,
    )


class _Merged:
    """Entry.paper for a .bib entry that is also a feed paper: the user's record merged with the feed's."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.repos = cat.base.repos
        self.base_of: dict[int, int] = {}  # bib id -> base id

    def paper(self, i: int) -> Paper:
        return merge_bib_paper(self.cat.bib.paper(i), self.cat.base.paper(self.base_of[i]))


class Catalog:
    """Lookups over feed + workspace papers, returning `Entry` objects (user keys win).

    The workspace's .bib entries live in a BibIndex that can change entry by entry; a .bib entry and a feed
    paper are matched when asked (same arXiv id or DOI, or same title, year and first author), never by a
    rebuild, so a 72,000-entry library costs no index build at all."""

    def __init__(self, base: Index | Segments, bib_papers: Iterable[Paper] = (), bib: BibIndex | None = None) -> None:
        self.base = base if isinstance(base, Segments) else Segments([base])
        self._ov: Segments | None = None
        self.bib = bib if bib is not None else BibIndex(base.repos)
        for p in bib_papers:
            self.bib.add(rec_from_paper(p, p.source.removeprefix("bib:")))
        self._merged = _Merged(self)
        self._base_match: dict[int, int | None] = {}  # bib id -> base id (memo)
        self._bib_match: dict[int, int | None] = {}  # base id -> bib id (memo)
        self._version = self.bib.version
        if self.bib.content is None and self.bib.n and all(r is not None and r.paper is not None
                                                           for r in self.bib.recs[:CONTENT_MAX + 1]):
            build_content(self.bib)  # made from Papers (tests, the CLI): they are decoded already

    def _fresh(self) -> None:
        """Forget the matches memoised before the .bib entries last changed."""
        if self._version != self.bib.version:
            self._version = self.bib.version
            self._base_match.clear()
            self._bib_match.clear()

    @property
    def n_papers(self) -> int:
        if self.bib.n > 2000:  # matching every entry against the feed is not worth it for a count
            return self.base.n + self.bib.n
        return self.base.n + sum(1 for i in self.bib.ids() if self._find_base(i) is None)

    def _find_base(self, i: int) -> int | None:
        """The feed paper this .bib entry is (same arXiv id, or same title, year and first author), if any."""
        self._fresh()
        if i in self._base_match:
            return self._base_match[i]
        r = self.bib.rec(i)
        if not r.title:  # key-only (still loading): matched once its record is read
            return None
        found: int | None = None
        if r.arxiv_id:
            found = self.base.by_arxiv(r.arxiv_id)
        nt = norm_name(r.title)
        toks = [t for t in words(r.title) if len(t) > 2][:6]
        if found is None and nt and toks:
            for x in self.base.word_matches(toks)[:50]:
                j = int(x)
                if norm_name(self.base.title(j)) != nt:
                    continue
                # Same title is not enough: a different year or first author is another work with that title.
                y = self.base.year(j)
                if r.year and y and y != r.year:
                    continue
                first = self._base_first_author(j)
                if r.first_author and first and first != r.first_author:
                    continue
                found = j
                break
        if len(self._base_match) < 200_000:
            self._base_match[i] = found
        return found

    def _base_first_author(self, j: int) -> str:
        first = self.base.authors_short(j).removesuffix(" et al.")
        return "" if not first or re.fullmatch(r"\d+ authors?", first) else last_name(first)

    def _bib_for_base(self, j: int) -> int | None:
        """The user's .bib entry for a feed paper, if they have one (cheap: dictionary lookups)."""
        if self.bib.n == 0:
            return None
        self._fresh()
        if j in self._bib_match:
            return self._bib_match[j]
        i = self.bib.same_work(self.base.title(j), self.base.year(j), self._base_first_author(j),
                               self.base.arxiv(j), None)
        if len(self._bib_match) < 200_000:
            self._bib_match[j] = i
        return i

    # ------------------------------------------------------------ entries

    def _bib_entry(self, i: int, merge: bool = True, card: bool = True) -> Entry:
        """A .bib entry; merged with its feed paper (repo, upvotes, abstract) when there is one. Without `card`
        (a list item) nothing is decoded from the .bib's text: a record still being read shows its key only."""
        e = self.bib.entry(i, decode=card)
        j = self._find_base(i) if merge or i in self._base_match else None
        if j is None:
            if merge and card and e.repo_name is None:  # a card: the entry's own code link (url, howpublished, ...)
                e.repo_name = e.paper.repo
            return e
        b = self.base.entry(j)
        self._merged.base_of[i] = j
        return Entry(i, e.key, e.title, e.method or b.method, e.year or b.year, b.upvotes, b.repo_name,
                     e.arxiv_id or b.arxiv_id, e.authors_short or b.authors_short,
                     self._merged)

    def _base_entry(self, j: int) -> Entry:
        i = self._bib_for_base(j)
        return self._bib_entry(i) if i is not None else self.base.entry(j)

    def _entries(self, base_ids: Iterable[int], bib_ids: Iterable[int]) -> list[Entry]:
        out: list[Entry] = []
        seen: set[str] = set()
        for e in [*(self._bib_entry(i) for i in bib_ids), *(self._base_entry(j) for j in base_ids)]:
            if e.key not in seen:
                seen.add(e.key)
                out.append(e)
        return out

    def by_key(self, key: str, card: bool = True) -> Entry | None:
        """The paper with this citation key (the user's .bib first); `card`: see _bib_entry."""
        i = self.bib.key_id(key)
        if i is not None:
            return self._bib_entry(i, card=card)
        j = self.base.by_key(key)
        return self._base_entry(j) if j is not None else None

    def by_arxiv(self, arxiv_id: str) -> Entry | None:
        for i in self.bib.arxiv_ids(arxiv_id):
            return self._bib_entry(i)
        j = self.base.by_arxiv(arxiv_id)
        return self._base_entry(j) if j is not None else None

    def by_repo(self, full_name: str) -> list[Entry]:
        return self._entries(self.base.by_repo(full_name), [])

    def maybe_name(self, normed: str) -> bool:
        """Fast prefilter: False means no name has this matching form."""
        return self.base.maybe_name(normed) or self.bib.has_name(normed)

    def maybe_prefix(self, normed: str) -> bool:
        """Fast prefilter: True when some multi-part name may start with these parts."""
        return self.base.maybe_prefix(normed)

    def mention(self, text: str, normed: str | None = None) -> Mention | None:
        """The papers a method name, identifier, key or arXiv id names (exact, in matching form)."""
        n = normed if normed is not None else norm_name(text)
        hb = self.base.name(text, n)
        ho = self.bib.name(n)
        if hb is None and ho is None:
            return None
        first = ho or hb
        assert first is not None
        entries = self._entries(hb.ids if hb else [], ho.ids if ho else [])
        return Mention(
            first.display,
            bool((hb and hb.common) or (ho and ho.common)),
            bool((hb is None or hb.code_only) and (ho is None or ho.code_only)),
            entries,
        )

    def lookup(self, name: str) -> Entry | None:
        """The best paper for a name a person typed: key, method name, arXiv id, else the top search hit."""
        name = name.strip()
        e = self.by_key(name) or self.by_arxiv(name)
        if e:
            return e
        m = self.mention(name)
        if m and m.entries:
            return m.entries[0]
        hits = self.search(name, 1)
        return hits[0] if hits and _plausible(name, hits[0]) else None

    def own_search(self, query: str, limit: int = 50) -> list[Entry]:
        """The user's .bib entries matching a query (all of them, in file order, for an empty one)."""
        return [self._bib_entry(i, merge=False, card=False) for i, _ in self.bib.search(query, limit)]

    def search(self, query: str, limit: int = 50) -> list[Entry]:
        """Ranked papers for a query; the .bib's and the feed's results merged by score, then prior."""
        res: list[tuple[float, int, Entry]] = []
        seen: set[str] = set()
        for i, s in self.bib.search(query, limit):
            e = self._bib_entry(i, merge=False, card=False)
            seen.add(e.key)
            res.append((s, e.upvotes, e))
        for j, s in self.base.search(query, limit):
            own = self._bib_for_base(j)
            e = self._bib_entry(own) if own is not None else self.base.entry(j)
            if e.key in seen:
                continue
            seen.add(e.key)
            res.append((s, e.upvotes, e))
        res.sort(key=lambda t: (-t[0], -t[1], t[2].key))
        return [e for _, _, e in res[:limit]]

    def related(self, entry: Entry, k: int = 5) -> list[Entry]:
        """Papers related to a paper by content."""
        return [e for e, _ in self.related_why(entry, k)]

    def related_why(self, entry: Entry, k: int = 5, reasons: bool = True) -> list[tuple[Entry, list[str]]]:
        """Papers related to a paper, each with the key phrases they share ("information bottleneck", ...); with
        `reasons` False, no phrases (a hover's Related line shows none: working them out was ~0.4 ms of a 1M
        hover's ~2)."""
        ov = self._bib_content()
        p = entry.paper if (entry.index is not self.base or ov is not None) else None
        if entry.index is self.base:
            bq, ex = self.base.paper_query(entry.id), entry.id
        else:
            assert p is not None
            bq, ex = self.base.text_query(p.abstract, p.title, p.ai_keywords), -1
        oq = ov.text_query(p.abstract, p.title, p.ai_keywords) if ov is not None and p is not None else None
        return self._ranked(bq, oq, k, ex, exclude_key=entry.key, reasons=reasons)

    def prime_related(self, n: int) -> int:
        """Run the related-papers path once for up to n papers spread over the user's .bib (else the feed), so
        that the first hover's Related line does not pay for what the first use costs: the memo of word rarities,
        the vocabulary lookups of common phrases, numpy's first calls (~1.5 ms more than the next hovers on the
        72k .bib). Meant for a worker thread at start; how many papers it ran."""
        ids = self.bib.ids()
        step = max(1, len(ids) // max(n, 1))
        entries = [self._bib_entry(i) for i in ids[::step][:n]] if ids else \
            [self.base.entry(j) for j in range(0, self.base.n, max(1, self.base.n // max(n, 1)))][:n]
        done = 0
        for e in entries:
            pause()  # (a worker thread at start: a request in flight goes first)
            try:
                self.related_why(e, 3)
            except (ValueError, KeyError, IndexError):  # (an entry edited away meanwhile)
                continue
            done += 1
        return done

    def related_text(self, text: str, k: int = 5) -> list[Entry]:
        return [e for e, _ in self.related_passage(text, k)]

    def related_passage(self, text: str, k: int = 5, encode: bool = False) -> list[tuple[Entry, list[str]]]:
        """Papers (feed and workspace .bib) related to a passage of text, each with the key phrases they share;
        encode: give the passage a dense vector with the encoder, when it is installed and on (dense.py)."""
        ov = self._bib_content()
        bq = self.base.text_query(text, encode=encode and self.base.dense_ready())
        oq = ov.text_query(text) if ov is not None else None
        return self._ranked(bq, oq, k, -1, exclude_key=None)

    def _ranked(self, bq: RelQuery, oq: RelQuery | None, k: int, ex: int, exclude_key: str | None,
                reasons: bool = True) -> list[tuple[Entry, list[str]]]:
        ov = self._bib_content()
        if not self.base.dense_ready():
            bq.vec = None
        base_hits = self.base.related_to(bq, k + 1, exclude=ex)
        ov_hits: list[tuple[int, float]] = []
        if ov is not None and oq is not None:
            oq.vec = bq.vec if ov.dense_ready() else None
            ov_hits = ov.related_to(oq, k + 1)
            if bq.vec is not None and oq.vec is None:
                # The .bib papers have no vectors (they are not embedded): each counts the 75th percentile of the
                # feed's cosines instead. With 3-10 of 54 papers so, P@5 stayed at or above key phrases alone
                # on both labelled sets (bench/results/related-p5.md); leaving vectors out altogether would lose
                # their gain in every workspace with a .bib.
                fill = ALPHA * self.base.dense_fill(bq.vec, ex)
                ov_hits = [(i, s + fill) for i, s in ov_hits]
        return self._merge_related(bq, oq, base_hits, ov_hits, k, exclude=exclude_key, reasons=reasons)

    def _bib_content(self) -> Segments | None:
        """The workspace's own papers' related-papers index (small libraries: see BibIndex.content)."""
        ov = self.bib.content
        if ov is None:
            return None
        if self._ov is None or self._ov.segs[0] is not ov:
            self._ov = Segments([ov])
        return self._ov

    def _merge_related(self, bq: RelQuery, oq: RelQuery | None, base_hits: list[tuple[int, float]],
                       ov_hits: list[tuple[int, float]], k: int, exclude: str | None, reasons: bool = True
                       ) -> list[tuple[Entry, list[str]]]:
        """Feed and .bib hits by score, each paper once; reasons are worked out only for the papers shown, from
        the index each hit came from (term ids: only the shared terms are decoded)."""
        scored: list[tuple[float, int, Entry, int, int]] = []  # score, -upvotes, entry, which index, id there
        for i, s in base_hits:
            e = self._base_entry(i)
            scored.append((s, -e.upvotes, e, 0, i))
        ov = self._bib_content()
        for i, s in ov_hits:
            assert ov is not None
            oe = ov.entry(i)
            e = self.by_key(oe.key) or oe
            scored.append((s, -e.upvotes, e, 1, i))
        scored.sort(key=lambda x: (-x[0], x[1], x[2].key))
        out: list[tuple[Entry, list[str]]] = []
        seen = {exclude}
        for _, _, e, which, i in scored:
            if e.key in seen:
                continue
            seen.add(e.key)
            if not reasons:
                out.append((e, []))
            else:
                out.append((e, self.base.why(bq, i) if which == 0 or ov is None or oq is None else ov.why(oq, i)))
            if len(out) == k:
                break
        return out


def _plausible(query: str, e: Entry) -> bool:
    """A search hit stands in for an exact name only when it clearly matches (no random paper for 'zzz')."""
    q = norm_name(query)
    cands = [norm_name(x) for x in (e.key, e.method or "", e.title)]
    return any(c.startswith(q) or q in c for c in cands if c) or all(w in words(e.title) for w in words(query))
