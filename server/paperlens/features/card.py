"""The paper card shown on hover, in completion documentation and by `paperlens show`."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

from paperlens.core.ids import (
    arxiv_abs_url,
    arxiv_pdf_url,
    doi_url,
    github_url,
    hf_paper_url,
    parse_github_repo,
    valid_repo,
)
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry

EXCERPT = 320

# Markdown that clients show as source (Neovim's floats, some Emacs setups) displays every backslash, so text is
# escaped only where a character would change the rendering (CommonMark + GFM), not every `-` and `.`.
# `<` only opens HTML or an autolink before a letter, `/`, `!` or `?`, but escaping every one keeps the rule simple
# for whoever checks a card for HTML.
_ALWAYS = re.compile(r"[`*\[\]<]|\\(?=[!-/:-@\[-`{-~]|$)|&(?=#?[A-Za-z0-9]+;)")
# `_` delimits emphasis unless it sits inside a word (snake_case).
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# At the start of a line: headings, block quotes, list items ("- ", "+ ", "2024. "), thematic breaks.
_LINE_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$|-)|=+$|(?P<num>\d{1,9})[.)](?=\s|$))")
# An ATX heading's closing sequence ("### Title ##" shows "Title").
_CLOSING_HASHES = re.compile(r"(?<=\s)(#+)$")

# How much of each string a card shows: a 1 MB title must not become a 3 MB hover.
TITLE_MAX, NAME_MAX, FACT_MAX, KEY_MAX, URL_MAX = 300, 80, 120, 100, 120


def md_escape(s: str, limit: int = 1000, *, line_start: bool = False) -> str:
    """Escape text we did not write (titles, abstracts) so it renders as itself: no links, HTML, emphasis or
    code spans anywhere, and no block syntax where it starts a line (`line_start`); control characters dropped
    and the text clipped."""
    s = " ".join(clean(s, limit).split())
    s = _ALWAYS.sub(lambda m: "\\" + m.group(0), s)
    s = _UNDERSCORE.sub(r"\\_", s)
    # GFM strikethrough needs a tilde that can close (one not after whitespace); without one, "~2x" is plain.
    if re.search(r"(?<=\S)~", s):
        s = s.replace("~", "\\~")
    if line_start:
        m = _LINE_START.match(s)
        if m and m.group("num"):
            s = s[: m.end("num")] + "\\" + s[m.end("num"):]
        elif m:
            s = "\\" + s
    return _CLOSING_HASHES.sub(lambda m: "".join("\\#" for _ in m.group(1)), s)


def md_code(s: str, limit: int = KEY_MAX) -> str:
    """A code span that holds any text: fenced with more backticks than the text has in a row."""
    s = clean(s, limit)
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or run else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def excerpt(text: str, n: int = EXCERPT) -> str:
    text = " ".join(clean(text, 4 * n).split())
    if len(text) <= n:
        return text
    cut = text.rfind(" ", 0, n)
    return text[: cut if cut > n // 2 else n].rstrip(",;: ") + "…"


def links(entry: Entry) -> list[tuple[str, str]]:
    """(label, url) pairs, built only from validated arXiv ids and owner/name repos (and allowed by safe_url)."""
    ax = entry.arxiv_id
    out = [("Paper page", hf_paper_url(ax)), ("arXiv", arxiv_abs_url(ax)), ("PDF", arxiv_pdf_url(ax)),
           ("Code", github_url(entry.repo_name))]
    return [(label, u) for label, u in out if u and safe_url(u)]


def paper_url(entry: Entry) -> str | None:
    if hf := hf_paper_url(entry.arxiv_id):
        return hf
    p = entry.paper
    own = safe_url(p.url)
    if own:
        return own
    if doi := safe_url(doi_url(p.doi)):
        return doi
    if p.source.startswith("bib:") and not p.repo:
        return None  # an ordinary .bib entry (a 1972 article) is not an HF paper: no made-up search link
    # No arXiv id (a saved papers page lists none) and no allowed URL: the paper's search page on Hugging Face.
    return safe_url(f"https://huggingface.co/papers?q={quote(clean(p.title, TITLE_MAX))}")


def repo_url(catalog: Catalog, target: str) -> str | None:
    """The GitHub page `paperlens.openRepo` opens for a GitHub URL, an `owner/name`, or a paper's name or key."""
    if repo := parse_github_repo(target):
        return github_url(repo)
    e = catalog.lookup(target)
    return github_url(e.repo_name) if e is not None else None


def other_url(entry: Entry) -> str | None:
    """The paper's own URL when it is not one PaperLens links to: shown as text only."""
    u = entry.paper.url
    return clean(u, URL_MAX) if u and not safe_url(u) else None


def show_date(d: dt.date, precision: str | None) -> str:
    """Only as precise as the source: '2015', 'Oct 2014', 'Mar 7, 2020'."""
    if precision == "year":
        return str(d.year)
    if precision == "month":
        return d.strftime("%b %Y")
    return d.strftime("%b %-d, %Y")


def _facts(entry: Entry) -> list[str]:
    p = entry.paper
    facts: list[str] = []
    if p.date:
        facts.append(show_date(p.date, p.date_precision))
    if p.authors:
        names = ", ".join(clean(a, NAME_MAX) for a in p.authors[:4])
        facts.append(names + (f" + {len(p.authors) - 4} more" if len(p.authors) > 4 else ""))
    elif p.author_count:
        facts.append(f"{p.author_count} author{'s' if p.author_count != 1 else ''}")
    if p.organization:
        facts.append(clean(p.organization, FACT_MAX))
    if p.upvotes:
        facts.append(f"▲ {p.upvotes} upvote{'s' if p.upvotes != 1 else ''}")
    if p.venue:
        facts.append(clean(p.venue, FACT_MAX))
    return facts


def _repo_line(entry: Entry) -> str | None:
    name = entry.repo_name
    if not name or not valid_repo(name):
        return None
    r = entry.repo
    bits = [name]
    if r is not None:
        if r.stars:
            bits.append(f"★ {r.stars:,}")
        if r.language:
            bits.append(clean(r.language, 40))
        if r.pushed_at:
            bits.append(f"last push {clean(r.pushed_at, 10)}")
        if r.archived:
            bits.append("archived")
    return " · ".join(bits)


def card_markdown(entry: Entry) -> str:
    """The card in Markdown; everything from the feed or a README is escaped."""
    p = entry.paper
    url = paper_url(entry)
    title = md_escape(p.title, TITLE_MAX)
    head = f"### [{title}]({url})" if url else f"### {title}"
    lines = [head]
    meta = md_code(entry.key)
    if entry.method and entry.method != p.title:
        meta = f"**{md_escape(entry.method, NAME_MAX)}** · " + meta
    lines.append(meta)
    facts = _facts(entry)
    if facts:
        lines.append(md_escape(" · ".join(facts), line_start=True))
    if p.abstract:
        lines.append("")
        lines.append(md_escape(excerpt(p.abstract), line_start=True))
    if p.ai_keywords:
        lines.append("")
        lines.append("*Keywords:* " + ", ".join(md_escape(k, NAME_MAX) for k in p.ai_keywords[:8]))
    repo = _repo_line(entry)
    if repo:
        lines.append("")
        lines.append("**Code:** " + md_escape(repo))
    ls = links(entry)
    if ls:
        lines.append("")
        lines.append(" · ".join(f"[{label}]({u})" for label, u in ls))
    other = other_url(entry)
    if other:
        lines.append("")
        # In a code span: never turned into a link, not even by a client that links bare URLs.
        lines.append("*Link (not opened by PaperLens):* " + md_code(other, URL_MAX))
    return "\n".join(lines)


def card_plain(entry: Entry) -> str:
    """The same card as plain text (terminals, clients without Markdown)."""
    p = entry.paper
    lines = [clean(p.title, TITLE_MAX)]
    key = clean(entry.key, KEY_MAX)
    meta = key if not entry.method or entry.method == p.title else f"{clean(entry.method, NAME_MAX)} · {key}"
    lines.append(meta)
    facts = _facts(entry)
    if facts:
        lines.append(" · ".join(facts))
    if p.abstract:
        lines.append("")
        lines.append(excerpt(p.abstract))
    if p.ai_keywords:
        lines.append("Keywords: " + ", ".join(clean(k, NAME_MAX) for k in p.ai_keywords[:8]))
    repo = _repo_line(entry)
    if repo:
        lines.append("")
        lines.append("Code: " + repo)
    # The repo line above already says "Code:"; its URL goes with the other links under another label.
    ls = [(("Repo" if repo and label == "Code" else label), u) for label, u in links(entry)]
    if ls:
        lines.append("")
        lines.extend(f"{label}: {u}" for label, u in ls)
    other = other_url(entry)
    if other:
        lines.append(f"Link (not opened by PaperLens): {other}")
    return "\n".join(lines)
