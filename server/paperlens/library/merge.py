"""One paper per work: merging records of the same paper from several sources, and repo enrichment."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from paperlens.core.ids import doi_key
from paperlens.core.model import Paper, Repo
from paperlens.core.text import last_name, norm_name
from paperlens.sources.feedfile import iter_feed_file


def paper_identity(p: Paper) -> str:
    return f"arxiv:{p.arxiv_id}" if p.arxiv_id else f"title:{norm_name(p.title)}"


def _first_author(p: Paper) -> str:
    return last_name(p.authors[0]) if p.authors else ""


def _doi(p: Paper) -> str:
    return doi_key(p.doi)


def same_paper(a: Paper, b: Paper) -> bool:
    """Two records of one work: the same arXiv id or DOI, or the same title with no contradicting year or first
    author. Two .bib entries with different keys are always two papers (the user keeps both keys)."""
    if a.bib_key and b.bib_key and a.bib_key != b.bib_key:
        return False
    if a.arxiv_id and a.arxiv_id == b.arxiv_id:
        return True
    if _doi(a) and _doi(a) == _doi(b):
        return True
    if a.arxiv_id and b.arxiv_id:
        return False
    if norm_name(a.title) != norm_name(b.title) or not norm_name(a.title):
        return False
    if a.year and b.year and a.year != b.year:  # "Exercise and mental health" (2017) is not the 1990 one
        return False
    fa, fb = _first_author(a), _first_author(b)
    return not (fa and fb and fa != fb)


def merge_papers(*sources: Iterable[Paper]) -> list[Paper]:
    """One paper per work (`same_paper`), in first-seen order; later sources fill and override earlier ones'
    fields. Every .bib entry stays its own paper."""
    out: list[Paper] = []
    by_arxiv: dict[str, int] = {}
    by_doi: dict[str, int] = {}
    by_title: dict[str, list[int]] = {}

    def note(i: int) -> None:
        q = out[i]
        if q.arxiv_id:
            by_arxiv.setdefault(q.arxiv_id, i)
        if _doi(q):
            by_doi.setdefault(_doi(q), i)
        ids = by_title.setdefault(norm_name(q.title), [])
        if i not in ids:
            ids.append(i)

    for src in sources:
        for p in src:
            cands = [by_arxiv.get(p.arxiv_id or ""), by_doi.get(_doi(p))] + by_title.get(norm_name(p.title), [])
            i = next((c for c in cands if c is not None and same_paper(out[c], p)), None)
            if i is None:
                out.append(p)
                note(len(out) - 1)
                continue
            changes = {f.name: getattr(p, f.name) for f in dataclasses.fields(Paper)
                       if getattr(p, f.name) not in (None, "", (), 0)}
            out[i] = dataclasses.replace(out[i], **changes)
            note(i)
    return out


def enrich_from_repo(p: Paper, repo: Repo, sharing: int) -> Paper:
    """README BibTeX gives real author names (the feed often has only a count) and the arXiv id."""
    matches = (
        (p.arxiv_id and p.arxiv_id in repo.readme_arxiv_ids)
        or (repo.readme_title and norm_name(repo.readme_title) == norm_name(p.title))
        or (sharing == 1 and repo.readme_title and norm_name(p.title)[:20] == norm_name(repo.readme_title)[:20])
    )
    if not matches:
        return p
    changes: dict[str, Any] = {}
    if not p.authors and repo.readme_authors:
        changes["authors"] = repo.readme_authors
    if not p.arxiv_id and len(repo.readme_arxiv_ids) == 1:
        changes["arxiv_id"] = repo.readme_arxiv_ids[0]
    return dataclasses.replace(p, **changes) if changes else p


def apply_repos(papers: list[Paper], repos: dict[str, Repo]) -> list[Paper]:
    counts: dict[str, int] = {}
    for p in papers:
        if p.repo:
            counts[p.repo.lower()] = counts.get(p.repo.lower(), 0) + 1
    out = []
    for p in papers:
        r = repos.get(p.repo.lower()) if p.repo else None
        out.append(enrich_from_repo(p, r, counts[p.repo.lower()]) if r and p.repo else p)
    return out


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")


class StreamMerge:
    """The big feeds' papers merged with the small set and de-duplicated, in stream order: a paper whose identity
    or title was met before is dropped (by 64-bit hashes, so a million papers cost a few tens of MB), one that is
    the small set's takes that record's fields first (`merge_papers`), and the rest of the small set comes
    last. `admit` decides here, in order; `finished` makes the paper (in a build worker, for a chunk of them)."""

    def __init__(self, small: list[Paper]) -> None:
        self.by_ident = {paper_identity(p): p for p in small}
        self.by_title = {norm_name(p.title): paper_identity(p) for p in small}
        self.seen: set[int] = set()

    def admit(self, hi: int, ht: int, ident: str | None, title: str | None) -> tuple[bool, Paper | None]:
        """Whether the paper with these identity and title hashes is kept, and the small set's record of it
        (ident, title: needed only while the small set has records left: `wants_names`)."""
        seen = self.seen
        if hi in seen or ht in seen:
            return False, None
        seen.add(hi)
        seen.add(ht)
        if not self.by_ident or ident is None or title is None:
            return True, None
        return True, self.by_ident.pop(ident, None) or self.by_ident.pop(self.by_title.get(title, ""), None)

    @property
    def wants_names(self) -> bool:
        return bool(self.by_ident)

    def rest(self) -> list[Paper]:
        """The small set's papers that no big feed's paper was, once the stream is over: the hashes seen go
        (at 1M papers ~150 MB of Python ints and set slots, which the build's last steps need more)."""
        out = list(self.by_ident.values())
        self.by_ident, self.by_title, self.seen = {}, {}, set()
        return out


def identity_hashes(p: Paper) -> tuple[int, int, str, str]:
    """A paper's identity and title hashes for `StreamMerge.admit`, and the identity and normalised title."""
    ident, title = paper_identity(p), norm_name(p.title)
    return _h(ident), _h("t:" + title), ident, title


def finished(p: Paper, own: Paper | None, repos: dict[str, Repo]) -> Paper:
    """An admitted paper merged with the small set's record of it, and enriched from its repo's README."""
    if own is not None:
        p = merge_papers([own], [p])[0]
    r = repos.get(p.repo.lower()) if p.repo else None
    return enrich_from_repo(p, r, 2) if r else p


def stream_merged(small: list[Paper], big: list[Path], repos: dict[str, Repo], warnings: list[str]
                  ) -> Iterator[Paper]:
    """The big feeds' papers one at a time, merged with the small set and de-duplicated (`StreamMerge`)."""
    merge = StreamMerge(small)
    for path in big:
        for p in iter_feed_file(path, warnings):
            ok, own = merge.admit(*identity_hashes(p))
            if ok:
                yield finished(p, own, repos)
    yield from merge.rest()
