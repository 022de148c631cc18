"""Reader for the Hugging Face papers API: daily_papers, papers/search and papers/{id} bodies (no I/O)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from paperlens.core.ids import github_repo_in, paper_arxiv_id, valid_repo
from paperlens.core.model import Paper

_PAPER_FIELDS = frozenset(f.name for f in dataclasses.fields(Paper))
# Keys only Paper.to_json writes: they tell a saved PaperLens list from an HF body.
_TO_JSON_ONLY = frozenset({"abstract", "arxiv_id", "author_count", "bib_key", "source", "repo", "venue"})

FeedKind = Literal["daily", "search", "paper", "other"]


class _Skip(Exception):
    """An entry that cannot become a Paper; the message says why."""


# Every byte but the ASCII whitespace that str.split() splits at (the space aside): deleted, they leave only that.
_NOT_WS = bytes(c for c in range(256) if c == 32 or not (c < 128 and chr(c).isspace()))


def _str(v: Any) -> str | None:
    """A non-empty string with whitespace collapsed (HF titles and summaries carry arXiv line breaks)."""
    if not isinstance(v, str):
        return None
    if (not v.encode().translate(None, _NOT_WS) if len(v) > 100 and v.isascii() else v.isprintable()) \
            and "  " not in v and v[:1] != " " and v[-1:] != " ":
        # Nothing to collapse (most strings of a generated million-paper feed): no whitespace character but
        # single spaces inside, told by scans in C, and no list of words made. A long ASCII text's bytes less
        # all but their whitespace (translate) tell it ~4x faster than isprintable, which looks up every
        # character's category (an abstract: ~1 vs ~4 µs); in any other text every whitespace character but
        # the space is unprintable. (An HF abstract has line breaks: the first check fails at once, the slower
        # second one is not made.)
        return v or None
    s = " ".join(v.split())
    return s or None


def _int(v: Any) -> int:
    if isinstance(v, bool):
        return 0
    if isinstance(v, int):
        return max(v, 0)
    if isinstance(v, float) and v == v:  # not NaN
        return max(int(v), 0)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return 0


def _date(v: Any) -> dt.date | None:
    """The date part of an ISO datetime ('2025-01-02T18:00:00.000Z'), None when absent or malformed."""
    if not isinstance(v, str) or len(v) < 10:
        return None
    try:
        return dt.date.fromisoformat(v[:10])
    except ValueError:
        return None


def _org(v: Any) -> str | None:
    if isinstance(v, dict):
        return _str(v.get("fullname")) or _str(v.get("name"))
    return _str(v)


def _authors(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        return ()
    names: list[str] = []
    for a in v:
        # Hidden authors keep their names: the flag only hides the HF account link.
        name = _str(a.get("name")) if isinstance(a, dict) else _str(a)
        if name:
            names.append(name)
    return tuple(names)


def _keywords(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        return ()
    return tuple(filter(None, map(_str, v)))  # (_str gives None or a non-empty string)


def _url(v: Any) -> str | None:
    s = _str(v)
    return s if s and s.startswith(("https://", "http://")) and " " not in s else None


def _is_saved_paper(d: dict[str, Any]) -> bool:
    """A Paper.to_json dict (PaperLens' own snapshot format) rather than an HF body."""
    return "paper" not in d and "summary" not in d and bool(_TO_JSON_ONLY & d.keys())


def _from_saved(d: dict[str, Any], source: str) -> Paper:
    """A Paper.to_json dict; from_json does not check types, so every field is checked here."""
    if not _str(d.get("title")):
        raise _Skip("no title")
    date = d.get("date")
    if date is not None and _date(date) is None:
        raise _Skip(f"bad date {date!r}")
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(Paper):
        v = d.get(f.name)
        if f.name in ("authors", "ai_keywords"):
            kw[f.name] = (
                tuple(x for x in v if isinstance(x, str) and x.strip()) if isinstance(v, list) else ()
            )
        elif f.name in ("upvotes", "author_count"):
            kw[f.name] = _int(v)
        elif f.name != "date":
            # Whitespace kept: saved abstracts hold paragraph breaks.
            kw[f.name] = v if isinstance(v, str) and v.strip() else None
    kw.update(
        title=_str(d["title"]),
        abstract=kw["abstract"] or "",
        date=_date(date),
        arxiv_id=paper_arxiv_id(kw["arxiv_id"]),
        repo=kw["repo"] if valid_repo(kw["repo"]) else None,
        project_page=_url(kw["project_page"]),
        source=kw["source"] or f"json:{source}",
    )
    return Paper(**kw)


def _from_item(item: Any, source: str) -> Paper:
    """One daily item ({paper:{...}, ...}), search item or flat paper object."""
    if not isinstance(item, dict):
        raise _Skip(f"expected an object, got {type(item).__name__}")
    if _is_saved_paper(item):
        return _from_saved(item, source)
    if isinstance(item.get("error"), str) and "title" not in item and "paper" not in item:
        raise _Skip(f"the server answered with an error: {item['error'][:120]}")
    p = item.get("paper")
    if not isinstance(p, dict):
        p = item
    title = _str(p.get("title")) or _str(item.get("title"))
    if not title:
        raise _Skip("no title")
    repo_url = _str(p.get("githubRepo")) or _str(item.get("githubRepo"))
    summary = _str(p.get("summary")) or _str(item.get("summary")) or ""
    # Many papers have no githubRepo while the abstract links the code ("Code: github.com/x/y.").
    repo = github_repo_in(repo_url or summary)
    return Paper(
        title=title,
        abstract=summary,
        authors=_authors(p.get("authors")),
        organization=_org(item.get("organization")) or _org(p.get("organization")),
        # paper.publishedAt is the arXiv date; the item's publishedAt is when it reached Daily Papers.
        date=_date(p.get("publishedAt"))
        or _date(item.get("publishedAt"))
        or _date(p.get("submittedOnDailyAt")),
        upvotes=_int(p.get("upvotes", item.get("upvotes"))),
        arxiv_id=paper_arxiv_id(p.get("id")),
        repo=repo,
        project_page=_url(p.get("projectPage")),
        ai_keywords=_keywords(p.get("ai_keywords")),
        ai_summary=_str(p.get("ai_summary")),
        source=f"hf-api:{source}",
    )


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        inner = item.get("paper")
        p: dict[str, Any] = inner if isinstance(inner, dict) else item
        for key in ("id", "arxiv_id", "title"):
            if isinstance(p.get(key), str):
                return f"{key} {p[key][:60]!r}"
    return type(item).__name__


def not_hf_reason(data: Any) -> str | None:
    """Why a JSON document is not an HF papers body (a JSON Feed, an error object, ...), or None when it may be."""
    if isinstance(data, dict):
        if isinstance(data.get("version"), str) and "jsonfeed.org" in data["version"]:
            return "a JSON Feed (jsonfeed.org), not a Hugging Face papers API response"
        if isinstance(data.get("papers"), list) or _is_saved_paper(data):
            return None
        if "paper" in data or "summary" in data or paper_arxiv_id(data.get("id")) or isinstance(data.get("error"), str):
            return None  # an HF paper, or an HF error body (reported as such by _from_item)
        shown = ", ".join(sorted(str(k) for k in data)[:6])
        return f"a JSON object with keys {shown}, not a Hugging Face papers API response"
    if isinstance(data, list):
        return None
    return f"a JSON {type(data).__name__}, not a Hugging Face papers API response"


def parse_hf_json(data: Any, source: str, first: int = 0) -> tuple[list[Paper], list[str]]:
    """Papers and warnings from an HF papers body: daily/search items, one flat paper, or saved Papers.
    A document that is not one (a JSON Feed, an error object) gives no papers and one warning saying what it is.
    first: the number warnings give a list's first item (a streamed feed's items come one list at a time)."""
    reason = not_hf_reason(data)
    if reason is not None:
        return [], [f"{source}: {reason}"]
    if (
        isinstance(data, dict)
        and isinstance(data.get("papers"), list)
        and not {"paper", "id", "title"} & data.keys()
    ):
        data = data["papers"]  # a PaperLens library file: {"papers": [Paper.to_json(), ...], "repos": ...}
    items = data if isinstance(data, list) else [data]
    papers: list[Paper] = []
    warnings: list[str] = []
    for i, item in enumerate(items, first):
        what = f"entry {i}" if isinstance(data, list) else "body"
        try:
            paper = _from_item(item, source)
        except _Skip as e:
            warnings.append(f"{source}: {what} ({_describe(item)}) skipped: {e}")
            continue
        papers.append(paper)
        if paper.arxiv_id is None and not (isinstance(item, dict) and _is_saved_paper(item)):
            # Without an arXiv id the paper gets a made-up key and no paper page: say which one.
            warnings.append(f"{source}: {what} ({_describe(item)}) has no arXiv id; its key is made up from "
                            "the title")
    return papers, warnings


def _base(base_url: str) -> str:
    """'https://huggingface.co/' and 'https://huggingface.co/api' both -> 'https://huggingface.co'."""
    b = base_url.strip().rstrip("/")
    return b[: -len("/api")] if b.endswith("/api") else b


def daily_papers_url(
    base_url: str,
    *,
    date: dt.date | str | None = None,
    week: str | None = None,
    month: str | None = None,
    page: int = 0,
    limit: int = 50,
) -> str:
    """GET /api/daily_papers for a date ('2025-10-06'), ISO week ('2025-W41') or month ('2025-10')."""
    params: list[tuple[str, str]] = []
    if date is not None:
        params.append(("date", date.isoformat() if isinstance(date, dt.date) else str(date)))
    if week is not None:
        params.append(("week", week))
    if month is not None:
        params.append(("month", month))
    params += [("p", str(page)), ("limit", str(limit))]
    return f"{_base(base_url)}/api/daily_papers?{urlencode(params)}"


def search_url(base_url: str, q: str, limit: int | None = None) -> str:
    """GET /api/papers/search?q=..."""
    params = [("q", q)] + ([("limit", str(limit))] if limit is not None else [])
    return f"{_base(base_url)}/api/papers/search?{urlencode(params)}"


def paper_url(base_url: str, arxiv: str) -> str:
    """GET /api/papers/{arxiv_id}; ValueError for anything but an arXiv id."""
    aid = paper_arxiv_id(arxiv)
    if aid is None:
        raise ValueError(f"not an arXiv id: {arxiv!r}")
    return f"{_base(base_url)}/api/papers/{quote(aid)}"


def feed_url_kind(url: str) -> FeedKind:
    """What an HF API URL returns: the daily feed (paged), a search, one paper, or something else."""
    path = urlsplit(url).path.rstrip("/")
    if path.endswith("/api/daily_papers"):
        return "daily"
    if path.endswith("/api/papers/search"):
        return "search"
    if re.search(r"/api/papers/[^/]+$", path) and paper_arxiv_id(path.rsplit("/", 1)[1]):
        return "paper"
    return "other"


def _with_page(url: str, page: int, limit: int) -> str:
    parts = urlsplit(url)
    q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("p", "limit")]
    q += [("p", str(page)), ("limit", str(limit))]
    return urlunsplit(parts._replace(query=urlencode(q)))


def _fetch_pages(
    get_json: Callable[[str], Any | None], url_for: Callable[[int], str], limit: int, max_pages: int
) -> tuple[list[Paper], list[str]]:
    papers: list[Paper] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for page in range(max_pages):
        url = url_for(page)
        data = get_json(url)
        if data is None:
            warnings.append(f"{url}: could not fetch page {page}; kept the {len(papers)} papers before it")
            break
        if not isinstance(data, list):
            warnings.append(f"{url}: expected a JSON array of papers, got {type(data).__name__}")
            break
        if not data:
            break
        got, warns = parse_hf_json(data, url)
        warnings += warns
        for p in got:
            # Pages can shift while we read them: the same paper may show up twice.
            if p.arxiv_id and p.arxiv_id in seen:
                continue
            if p.arxiv_id:
                seen.add(p.arxiv_id)
            papers.append(p)
        if len(data) < limit:
            break
    else:
        warnings.append(f"{url_for(0)}: stopped after {max_pages} pages; there may be more")
    return papers, warnings


def fetch_daily(
    get_json: Callable[[str], Any | None],
    base_url: str,
    *,
    date: dt.date | str | None = None,
    week: str | None = None,
    month: str | None = None,
    limit: int = 50,
    max_pages: int = 20,
) -> tuple[list[Paper], list[str]]:
    """All pages of /api/daily_papers: until an empty or short page, a failed fetch (None), or max_pages."""

    def url_for(page: int) -> str:
        return daily_papers_url(base_url, date=date, week=week, month=month, page=page, limit=limit)

    return _fetch_pages(get_json, url_for, limit, max_pages)


def fetch_feed_url(
    get_json: Callable[[str], Any | None], url: str, max_pages: int = 20
) -> tuple[list[Paper], list[str]]:
    """Papers from a user-supplied HF API URL; daily_papers URLs are paged (p= and limit= replaced)."""
    if feed_url_kind(url) == "daily":
        query = dict(parse_qsl(urlsplit(url).query))
        limit = _int(query.get("limit")) or 50
        return _fetch_pages(get_json, lambda page: _with_page(url, page, limit), limit, max_pages)
    data = get_json(url)
    if data is None:
        return [], [f"{url}: could not fetch"]
    return parse_hf_json(data, url)
