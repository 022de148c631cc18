"""Identifiers: arXiv ids, DOIs and GitHub repos. For each, the one parser, validator and URL builder.

Every link PaperLens builds from an identifier is built here, and only from a value that passed the validator
here; `core/urls.py` is the separate gate for URLs that come from outside (a .bib `url`, a feed's link). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

# -- arXiv ----------------------------------------------------------------------------------------------------

# New style (since 2007): YYMM.NNNN, or YYMM.NNNNN since 2015. Old style: archive[.SUBJECT]/YYMMNNN
# (hep-th/9901001, math.GT/0309136, cond-mat.str-el/0101001).
_NEW = r"\d{4}\.\d{4,5}"
_OLD = r"[a-z]+(?:-[a-z]+)*(?:\.[a-z]+(?:-[a-z]+)*)?/\d{7}"
ARXIV_NEW_RE = re.compile(_NEW)
# Ids in running text are found from the digits (a plain scan, fast on megabytes of prose), then what is
# written right before them is checked: a link, an 'arXiv:' prefix, arXiv's DOI, or a BibTeX `eprint = {…}`
# (README BibTeX). Old-style ids count only when so marked; new-style ones also bare (a preprint number in
# prose), when `bare` is asked for, and then not inside a longer number (1.2404.00722, 92404.00722).
_ARXIV_DIGITS = re.compile(rf"{_NEW}(?:v\d+)?(?!\d)|/\d{{7}}(?:v\d+)?(?!\d)")
_OLD_ARCHIVE = re.compile(r"(?<![a-z.-])[a-z]+(?:-[a-z]+)*(?:\.[a-z]+(?:-[a-z]+)*)?$", re.IGNORECASE)
_ARXIV_MARK = re.compile(
    r"(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|(?<![a-z])arxiv\s*[:/]\s*|10\.48550/arxiv\.)$",
    re.IGNORECASE,
)
_EPRINT = re.compile(r"(?<![a-z])eprint\s*=\s*[{\"]\s*$", re.IGNORECASE)
_VERSION = re.compile(r"v\d+$")
_LOOK_BACK = 40  # characters before an id that can hold its mark ('https://export.arxiv.org/html/' is 30)
_ARXIV_VALUE = re.compile(
    r"(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|arxiv\s*:\s*|10\.48550/arxiv\.)?"
    rf"(?P<id>{_NEW}|{_OLD})(?:v\d+)?(?:\.pdf)?",
    re.IGNORECASE,
)


class Found(NamedTuple):
    """An identifier found in text: its canonical value and the span it was written in (end exclusive)."""

    value: str
    start: int
    end: int


def parse_arxiv_id(value: object) -> str | None:
    """The arXiv id a value names, without its version: '2404.00722v2', 'arXiv:2404.00722',
    'https://arxiv.org/abs/2404.00722', '10.48550/arXiv.2404.00722' -> '2404.00722'; old-style ids too
    ('hep-th/9901001v2' -> 'hep-th/9901001'). None for anything else (non-strings included)."""
    if not isinstance(value, str):
        return None
    m = _ARXIV_VALUE.fullmatch(value.strip())
    return m.group("id") if m else None


def is_new_style(aid: str) -> bool:
    """A new-style id (the only kind Hugging Face pages and the paper index know)."""
    return ARXIV_NEW_RE.fullmatch(aid) is not None


def paper_arxiv_id(value: object) -> str | None:
    """The new-style arXiv id a value names, or None: what `Paper.arxiv_id` holds, and what the HF API, the
    index and the written .bib `eprint` are keyed by."""
    aid = parse_arxiv_id(value)
    return aid if aid and is_new_style(aid) else None


def find_arxiv_ids(text: str, bare: bool = True) -> Iterator[Found]:
    """arXiv ids in running text, in order; a span covers the link or 'arXiv:' prefix with the id (not a
    BibTeX `eprint = {`). `bare`: also new-style ids written without any mark."""
    for m in _ARXIV_DIGITS.finditer(text):
        start, end = m.start(), m.end()
        if text[start] == "/":  # old style: the archive name is written before the slash
            archive = _OLD_ARCHIVE.search(text, max(0, start - _LOOK_BACK), start)
            if archive is None:
                continue
            start = archive.start()
        lo = max(0, start - _LOOK_BACK)
        aid = _VERSION.sub("", text[start:end])
        if mark := _ARXIV_MARK.search(text, lo, start):
            yield Found(aid, mark.start(), end)
        elif _EPRINT.search(text, lo, start) or (
            bare and is_new_style(aid) and (start == 0 or text[start - 1] not in "0123456789.")
        ):
            yield Found(aid, start, end)


def arxiv_abs_url(aid: str | None) -> str | None:
    return f"https://arxiv.org/abs/{aid}" if aid and parse_arxiv_id(aid) == aid else None


def arxiv_pdf_url(aid: str | None) -> str | None:
    return f"https://arxiv.org/pdf/{aid}" if aid and parse_arxiv_id(aid) == aid else None


def hf_paper_url(aid: str | None) -> str | None:
    """The paper's page on Hugging Face (new-style ids only)."""
    return f"https://huggingface.co/papers/{aid}" if aid and is_new_style(aid) else None


# -- DOI ------------------------------------------------------------------------------------------------------

_DOI_RE = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_TEX_ESCAPE = re.compile(r"\\([_%&#$])")  # DBLP writes doi = {10.1007/978-3-642-22438-6\_17}


def parse_doi(value: str | None) -> str | None:
    """The DOI a value names ('https://doi.org/10.1000/x', 'doi:10.1000/x', '10.1000/x' -> '10.1000/x'), TeX
    escapes undone ('\\_' -> '_'); None when it is empty. Otherwise kept as written (see `valid_doi`)."""
    return _TEX_ESCAPE.sub(r"\1", _DOI_PREFIX.sub("", (value or "").strip())) or None


def valid_doi(doi: str | None) -> bool:
    """'10.' + registrant + '/' + suffix, no spaces: the only DOIs links are built from."""
    return bool(doi) and _DOI_RE.fullmatch(doi or "") is not None


def doi_key(doi: str | None) -> str:
    """A DOI as it is matched ('' for none): DOIs are case-insensitive, so every lookup lower-cases the same way."""
    return (doi or "").strip().lower()


def doi_url(doi: str | None) -> str | None:
    return f"https://doi.org/{doi}" if valid_doi(doi) else None


# -- GitHub repos ---------------------------------------------------------------------------------------------

OWNER_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")  # use with fullmatch
# github.com/OWNER/NAME, with or without a scheme; not a subdomain (gist.github.com, api.github.com) and not
# inside a longer host name.
_GITHUB_RE = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?github\.com/([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)", re.IGNORECASE
)
# First path segments that are GitHub pages, not users or organisations.
_NOT_OWNERS = frozenset({"orgs", "topics", "features", "sponsors", "marketplace", "settings", "collections"})


def valid_repo(full_name: str | None) -> bool:
    """True for a well-formed GitHub `owner/name` (URLs are built only from these)."""
    return bool(full_name) and bool(OWNER_NAME_RE.fullmatch(full_name or "")) and not (full_name or "").endswith(".")


def find_github_repos(text: str) -> Iterator[Found]:
    """Valid `owner/name`s of github.com links in text, in order. A sentence can end right after a link
    ('…/Tyr-the-Pruner.'), and '.git' is not part of the name; the span covers the link up to the name (with
    its '.git'), not a trailing path."""
    if "/" not in text or "github.com" not in text.lower():  # the regex is slow on long prose; most of it names
        return  # no repo (and a text with no "/", most abstracts, is not even lower-cased: a scan in C tells)
    for m in _GITHUB_RE.finditer(text):
        owner, written = m.group(1), m.group(2).rstrip(".")
        name = written[:-4].rstrip(".") if written.lower().endswith(".git") else written
        full = f"{owner}/{name}"
        if owner.lower() not in _NOT_OWNERS and valid_repo(full):
            yield Found(full, m.start(), m.start(2) + len(written))


def github_repo_in(text: str) -> str | None:
    """The first valid `owner/name` among github.com links in text."""
    return next((f.value for f in find_github_repos(text)), None)


def parse_github_repo(value: str | None) -> str | None:
    """The repo a value names: an `owner/name`, or a GitHub URL (with '.git' or a path after the name)."""
    v = (value or "").strip()
    return v if valid_repo(v) else github_repo_in(v)


def github_url(full_name: str | None) -> str | None:
    """The repo's page; None unless `full_name` is a valid `owner/name`."""
    return f"https://github.com/{full_name}" if full_name and valid_repo(full_name) else None
