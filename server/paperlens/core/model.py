"""Plain data: papers, repos and what the readers produce. No I/O here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from paperlens.core.ids import github_url


@dataclass(frozen=True, slots=True)
class Repo:
    """A GitHub repository and what was harvested from it."""

    full_name: str  # "owner/name", canonical casing
    description: str | None = None
    stars: int | None = None
    language: str | None = None
    license: str | None = None
    default_branch: str | None = None
    pushed_at: str | None = None  # ISO-8601
    archived: bool = False
    # Names that lead back to the paper: packages, modules, file stems, class names.
    identifiers: tuple[str, ...] = ()
    # arXiv ids and author lists found in the README's BibTeX.
    readme_arxiv_ids: tuple[str, ...] = ()
    readme_authors: tuple[str, ...] = ()
    readme_title: str | None = None  # title of the README BibTeX entry, when one was found

    @property
    def url(self) -> str | None:
        return github_url(self.full_name)

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, from any source (HF page, HF API, BibTeX)."""

    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()  # "First Last" names when known
    author_count: int = 0  # from "N authors" when names are unknown
    organization: str | None = None
    date: dt.date | None = None
    date_precision: str | None = None  # "year" or "month" when that is all the source says; None: the day
    upvotes: int = 0
    arxiv_id: str | None = None
    repo: str | None = None  # "owner/name"
    project_page: str | None = None
    ai_keywords: tuple[str, ...] = ()
    ai_summary: str | None = None
    primary_class: str | None = None  # e.g. "cs.CV"
    venue: str | None = None
    doi: str | None = None
    url: str | None = None
    bib_key: str | None = None  # the user's key, for papers from a .bib
    bib_type: str | None = None  # "article", "misc", ... for papers from a .bib
    source: str = ""  # where it came from, for messages: "hf-page:FILE", "hf-api:URL", "bib:FILE"

    @property
    def year(self) -> int | None:
        return self.date.year if self.date else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in PAPER_FIELDS:  # (a cold build writes a million records: no dataclasses.fields each)
            v = getattr(self, name)
            if v in (None, "", (), 0, False) and name != "title":
                continue
            if isinstance(v, dt.date):
                v = v.isoformat()
            elif isinstance(v, tuple):
                v = list(v)
            out[name] = v
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Paper:
        kw: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(cls)}
        for k, v in d.items():
            if k not in names:
                continue
            if k == "date" and v:
                v = dt.date.fromisoformat(v)
            elif isinstance(v, list):
                v = tuple(v)
            kw[k] = v
        return cls(**kw)


# Paper's field names in order, made once: `dataclasses.fields` makes a tuple of Field objects at each call.
PAPER_FIELDS = tuple(f.name for f in dataclasses.fields(Paper))


def repo_to_json(r: Repo) -> dict[str, Any]:
    d = dataclasses.asdict(r)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items() if v not in (None, (), False)}


def repo_from_json(d: dict[str, Any]) -> Repo:
    names = {f.name for f in dataclasses.fields(Repo)}
    kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names}
    return Repo(**kw)


@dataclass(slots=True)
class Library:
    """Everything the index is built from: papers plus the repos they link to."""

    papers: list[Paper] = field(default_factory=list)
    repos: dict[str, Repo] = field(default_factory=dict)  # key: lower-cased "owner/name"
    warnings: list[str] = field(default_factory=list)

