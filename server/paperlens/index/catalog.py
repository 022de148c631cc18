"""The papers an editor sees: the feed index, overlaid with the workspace's .bib entries.

The feed index can hold a million papers and is built once; the overlay is small and rebuilt whenever a
.bib changes. A .bib entry that is a feed paper (same arXiv id, or same title, year and first author) is
merged: the user's key and fields, the feed's extras (repo, upvotes, abstract).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import Library, Paper
from ..text import norm_name, words
from .core import Entry, Index
from .keys import last_name
from .semantic import explain, key_phrases


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


class Catalog:
    """Lookups over feed + workspace papers, returning `Entry` objects (user keys win)."""

    def __init__(self, base: Index, bib_papers: Iterable[Paper] = ()) -> None:
        self.base = base
        self.overlay: Index | None = None
        self._remap: dict[int, int] = {}  # base id -> overlay id
        self._by_key: dict[str, Entry | None] = {}
        self.set_bib(bib_papers)

    @property
    def n_papers(self) -> int:
        extra = (self.overlay.n - len(self._remap)) if self.overlay else 0
        return self.base.n + extra

    def set_bib(self, bib_papers: Iterable[Paper]) -> None:
        """Rebuild the overlay from the workspace's .bib papers."""
        self._by_key = {}
        merged: list[Paper] = []
        base_ids: list[int | None] = []
        seen_keys: set[str] = set()
        for p in bib_papers:
            if p.bib_key in seen_keys:
                continue
            seen_keys.add(p.bib_key or "")
            bid = self._find_base(p)
            base_ids.append(bid)
            merged.append(merge_bib_paper(p, self.base.paper(bid)) if bid is not None else p)
        if not merged:
            self.overlay, self._remap = None, {}
            return
        ov = Index.build(Library(papers=merged, repos=self.base.repos))
        by_key = {ov.keys[i]: i for i in range(ov.n)}
        self._remap = {
            bid: by_key[p.bib_key]
            for p, bid in zip(merged, base_ids, strict=True)
            if bid is not None and p.bib_key in by_key
        }
        self.overlay = ov

    def _find_base(self, p: Paper) -> int | None:
        """The feed paper this .bib entry is (same arXiv id, or same title, year and first author), if any."""
        if p.arxiv_id:
            i = self.base.by_arxiv(p.arxiv_id)
            if i is not None:
                return i
        nt = norm_name(p.title)
        if not nt:
            return None
        toks = [t for t in words(p.title) if len(t) > 2][:6]
        if not toks:
            return None
        for x in self.base._word_matches(toks)[:50]:
            i = int(x)
            if norm_name(self.base.titles[i]) != nt:
                continue
            # Same title is not enough: a different year or first author is another work with that title.
            y = int(self.base.year[i])
            if p.year and y and y != p.year:
                continue
            first = self.base.authors[i].removesuffix(" et al.")
            if p.authors and first and not re.fullmatch(r"\d+ authors?", first) \
                    and last_name(first) != last_name(p.authors[0]):
                continue
            return i
        return None

    # ------------------------------------------------------------ entries

    def _base_entry(self, i: int) -> Entry:
        if self.overlay is not None and i in self._remap:
            return self.overlay.entry(self._remap[i])
        return self.base.entry(i)

    def _entries(self, base_ids: Iterable[int], ov_ids: Iterable[int]) -> list[Entry]:
        out: list[Entry] = []
        seen: set[tuple[int, int]] = set()
        for i in ov_ids:
            if (1, i) not in seen:
                seen.add((1, i))
                assert self.overlay is not None
                out.append(self.overlay.entry(i))
        for i in base_ids:
            if self.overlay is not None and i in self._remap:
                tag = (1, self._remap[i])
            else:
                tag = (0, i)
            if tag not in seen:
                seen.add(tag)
                out.append(self._base_entry(i))
        return out

    def by_key(self, key: str) -> Entry | None:
        """The paper with this citation key (the user's .bib first); memoised, as diagnostics ask per cite."""
        if key in self._by_key:
            return self._by_key[key]
        e = self._by_key_uncached(key)
        if len(self._by_key) < 100_000:
            self._by_key[key] = e
        return e

    def _by_key_uncached(self, key: str) -> Entry | None:
        if self.overlay is not None:
            i = self.overlay.by_key(key)
            if i is not None:
                return self.overlay.entry(i)
        j = self.base.by_key(key)
        return self._base_entry(j) if j is not None else None

    def by_arxiv(self, arxiv_id: str) -> Entry | None:
        if self.overlay is not None:
            i = self.overlay.by_arxiv(arxiv_id)
            if i is not None:
                return self.overlay.entry(i)
        j = self.base.by_arxiv(arxiv_id)
        return self._base_entry(j) if j is not None else None

    def by_repo(self, full_name: str) -> list[Entry]:
        return self._entries(self.base.by_repo(full_name), self.overlay.by_repo(full_name) if self.overlay else [])

    def maybe_name(self, normed: str) -> bool:
        """Fast prefilter: False means no name has this matching form."""
        return normed in self.base.bloom_names or (self.overlay is not None and normed in self.overlay.bloom_names)

    def maybe_prefix(self, normed: str) -> bool:
        """Fast prefilter: True when some multi-part name may start with these parts."""
        return normed in self.base.bloom_prefixes or (
            self.overlay is not None and normed in self.overlay.bloom_prefixes)

    def mention(self, text: str, normed: str | None = None) -> Mention | None:
        """The papers a method name, identifier, key or arXiv id names (exact, in matching form)."""
        n = normed if normed is not None else norm_name(text)
        hb = self.base.name(text, n)
        ho = self.overlay.name(text, n) if self.overlay is not None else None
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

    def search(self, query: str, limit: int = 50) -> list[Entry]:
        """Ranked papers for a query; the overlay's and the feed's results merged by score, then prior."""
        res: list[tuple[float, int, Entry]] = []
        seen: set[str] = set()
        ov = self.overlay.search(query, limit) if self.overlay is not None else []
        for i, s in ov:
            assert self.overlay is not None
            e = self.overlay.entry(i)
            seen.add(e.key)
            res.append((s, e.upvotes, e))
        for i, s in self.base.search(query, limit):
            e = self._base_entry(i)
            if e.key in seen:
                continue
            seen.add(e.key)
            res.append((s, e.upvotes, e))
        res.sort(key=lambda t: (-t[0], -t[1], t[2].key))
        return [e for _, _, e in res[:limit]]

    def related(self, entry: Entry, k: int = 5) -> list[Entry]:
        """Papers related to a paper by content."""
        return [e for e, _ in self.related_why(entry, k)]

    def related_why(self, entry: Entry, k: int = 5) -> list[tuple[Entry, list[str]]]:
        """Papers related to a paper, each with the key phrases they share ("information bottleneck", ...)."""
        if entry.index is self.base:
            query = self.base.paper_terms(entry.id)
            base_hits = self.base.related(entry.id, k + 1)
            p = None
        else:
            p = entry.paper
            query = key_phrases(p.title, p.abstract, p.ai_keywords)
            base_hits = self.base._related_terms(self.base.text_terms(p.abstract, p.title, p.ai_keywords), k + 1, -1)
        ov_hits: list[tuple[int, float]] = []
        if self.overlay is not None:
            if p is None:
                p = entry.paper
            ov = self.overlay
            ov_hits = ov._related_terms(ov.text_terms(p.abstract, p.title, p.ai_keywords), k + 1, -1)
        return self._merge_related(query, base_hits, ov_hits, k, exclude=entry.key)

    def related_text(self, text: str, k: int = 5) -> list[Entry]:
        return [e for e, _ in self.related_passage(text, k)]

    def related_passage(self, text: str, k: int = 5) -> list[tuple[Entry, list[str]]]:
        """Papers (feed and workspace .bib) related to a passage of text, each with the key phrases they share."""
        query = key_phrases("", text)
        base_hits = self.base._related_terms(self.base.text_terms(text), k, -1)
        ov_hits: list[tuple[int, float]] = []
        if self.overlay is not None:
            ov_hits = self.overlay._related_terms(self.overlay.text_terms(text), k, -1)
        return self._merge_related(query, base_hits, ov_hits, k, exclude=None)

    def _merge_related(self, query: dict[str, float], base_hits: list[tuple[int, float]],
                       ov_hits: list[tuple[int, float]], k: int, exclude: str | None
                       ) -> list[tuple[Entry, list[str]]]:
        scored: list[tuple[float, Entry, list[str]]] = []
        for i, s in base_hits:
            e = self._base_entry(i)
            scored.append((s, e, self.base.why(query, i) if e.index is self.base else []))
        if self.overlay is not None:
            for i, s in ov_hits:
                scored.append((s, self.overlay.entry(i), self.overlay.why(query, i)))
        scored.sort(key=lambda x: (-x[0], -x[1].upvotes, x[1].key))
        out: list[tuple[Entry, list[str]]] = []
        seen = {exclude}
        for _, e, why in scored:
            if e.key in seen:
                continue
            seen.add(e.key)
            if not why and e.index is not self.base:  # a feed paper shown with its .bib key: explain from the record
                why = explain(query, key_phrases(e.paper.title, e.paper.abstract, e.paper.ai_keywords))
            out.append((e, why))
        return out[:k]


def _plausible(query: str, e: Entry) -> bool:
    """A search hit stands in for an exact name only when it clearly matches (no random paper for 'zzz')."""
    q = norm_name(query)
    cands = [norm_name(x) for x in (e.key, e.method or "", e.title)]
    return any(c.startswith(q) or q in c for c in cands if c) or all(w in words(e.title) for w in words(query))
