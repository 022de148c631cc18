"""The paper card shown on hover, in completion documentation and by `paperlens show`."""

from __future__ import annotations

import re
from urllib.parse import quote

from ..index.core import Entry
from ..model import ARXIV_ID_RE, valid_repo

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&$])")
EXCERPT = 320


def md_escape(s: str) -> str:
    """Escape text we did not write (titles, abstracts) so it stays text: no links, HTML or commands."""
    s = " ".join(s.split())
    return _MD_SPECIAL.sub(r"\\\1", s)


def excerpt(text: str, n: int = EXCERPT) -> str:
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    cut = text.rfind(" ", 0, n)
    return text[: cut if cut > n // 2 else n].rstrip(",;: ") + "…"


def links(entry: Entry) -> list[tuple[str, str]]:
    """(label, url) pairs, built only from validated arXiv ids and owner/name repos."""
    out: list[tuple[str, str]] = []
    ax = entry.arxiv_id
    if ax and ARXIV_ID_RE.fullmatch(ax):
        out.append(("Paper page", f"https://huggingface.co/papers/{ax}"))
        out.append(("arXiv", f"https://arxiv.org/abs/{ax}"))
        out.append(("PDF", f"https://arxiv.org/pdf/{ax}"))
    if entry.repo_name and valid_repo(entry.repo_name):
        out.append(("Code", f"https://github.com/{entry.repo_name}"))
    return out


def paper_url(entry: Entry) -> str | None:
    ax = entry.arxiv_id
    if ax and ARXIV_ID_RE.fullmatch(ax):
        return f"https://huggingface.co/papers/{ax}"
    p = entry.paper
    if p.url and p.url.startswith(("https://", "http://")):
        return p.url
    # No arXiv id (a saved papers page lists none): the paper's search page on Hugging Face.
    return f"https://huggingface.co/papers?q={quote(p.title)}"


def _facts(entry: Entry) -> list[str]:
    p = entry.paper
    facts: list[str] = []
    if p.date:
        facts.append(p.date.strftime("%b %-d, %Y"))
    if p.authors:
        names = ", ".join(p.authors[:4]) + (f" + {len(p.authors) - 4} more" if len(p.authors) > 4 else "")
        facts.append(names)
    elif p.author_count:
        facts.append(f"{p.author_count} author{'s' if p.author_count != 1 else ''}")
    if p.organization:
        facts.append(p.organization)
    if p.upvotes:
        facts.append(f"▲ {p.upvotes} upvote{'s' if p.upvotes != 1 else ''}")
    if p.venue:
        facts.append(p.venue)
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
            bits.append(r.language)
        if r.pushed_at:
            bits.append(f"last push {r.pushed_at[:10]}")
        if r.archived:
            bits.append("archived")
    return " · ".join(bits)


def card_markdown(entry: Entry) -> str:
    """The card in Markdown; everything from the feed or a README is escaped."""
    p = entry.paper
    url = paper_url(entry)
    title = md_escape(p.title)
    head = f"### [{title}]({url})" if url else f"### {title}"
    lines = [head]
    meta = f"`{entry.key}`"
    if entry.method and entry.method != p.title:
        meta = f"**{md_escape(entry.method)}** · " + meta
    lines.append(meta)
    facts = _facts(entry)
    if facts:
        lines.append(" · ".join(md_escape(f) for f in facts))
    if p.abstract:
        lines.append("")
        lines.append(md_escape(excerpt(p.abstract)))
    if p.ai_keywords:
        lines.append("")
        lines.append("*Keywords:* " + ", ".join(md_escape(k) for k in p.ai_keywords[:8]))
    repo = _repo_line(entry)
    if repo:
        lines.append("")
        lines.append("**Code:** " + md_escape(repo))
    ls = links(entry)
    if ls:
        lines.append("")
        lines.append(" · ".join(f"[{label}]({u})" for label, u in ls))
    return "\n".join(lines)


def card_plain(entry: Entry) -> str:
    """The same card as plain text (terminals, clients without Markdown)."""
    p = entry.paper
    lines = [p.title]
    meta = entry.key if not entry.method or entry.method == p.title else f"{entry.method} · {entry.key}"
    lines.append(meta)
    facts = _facts(entry)
    if facts:
        lines.append(" · ".join(facts))
    if p.abstract:
        lines.append("")
        lines.append(excerpt(p.abstract))
    if p.ai_keywords:
        lines.append("Keywords: " + ", ".join(p.ai_keywords[:8]))
    repo = _repo_line(entry)
    if repo:
        lines.append("")
        lines.append("Code: " + repo)
    ls = links(entry)
    if ls:
        lines.append("")
        lines.extend(f"{label}: {u}" for label, u in ls)
    return "\n".join(lines)
