"""textDocument/hover: the paper card for a cite key, arXiv id, GitHub URL or method mention."""

from __future__ import annotations

from paperlens.analysis.document import (
    BIBTEX,
    LONG_LINE,
    WINDOW,
    Span,
    arxiv_at,
    bib_key_at,
    cite_context,
    github_at,
    manubot_id,
)
from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features.card import card_markdown, card_plain, md_escape, paper_url
from paperlens.features.context import FeatureContext
from paperlens.features.results import HoverCard, Region
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry


def target_at(ctx: FeatureContext, line: int, col: int) -> tuple[list[Entry], Span] | None:
    """The papers the text at a position refers to, most specific first, and the span that refers."""
    doc, catalog = ctx.doc, ctx.catalog
    if line < 0 or line >= len(doc.lines):
        return None
    text = doc.lines[line]
    c = ctx.cite_at(line, col)
    if c is not None:
        ident = manubot_id(c.key)
        e = catalog.by_arxiv(ident[1]) if ident and ident[0] == "arxiv" else catalog.by_key(c.key)
        return ([e], Span(line, c.span.start, c.span.end)) if e else None
    off = 0
    if len(text) > LONG_LINE:  # a megabyte on one line: look around the cursor only
        off = max(0, col - WINDOW)
        text = text[off : col + WINDOW]
    c0 = col - off
    if doc.kind == BIBTEX:
        bk = bib_key_at(text, c0)
        if bk:
            e = catalog.by_key(bk[0])
            return ([e], Span(line, bk[1] + off, bk[2] + off)) if e else None
    ax = arxiv_at(text, c0)
    if ax:
        e = catalog.by_arxiv(ax[0])
        return ([e], Span(line, ax[1] + off, ax[2] + off)) if e else None
    gh = github_at(text, c0)
    if gh:
        es = catalog.by_repo(gh[0])
        return (es, Span(line, gh[1] + off, gh[2] + off)) if es else None
    if cite_context(text, c0, doc.kind, ctx.cite_commands, doc.lines[max(0, line - 5):line]) is not None:
        return None  # a half-typed key is not a mention
    m = doc.mention_at(line, col, catalog)
    if m:
        return m.mention.entries, m.span
    return None


def hover(ctx: FeatureContext, line: int, col: int) -> HoverCard | None:
    """The card (Markdown, or plain text for clients without it) with the range it covers."""
    found = target_at(ctx, line, col)
    if not found:
        return None
    entries, span = found
    catalog, markdown = ctx.catalog, ctx.markdown
    render = card_markdown if markdown else card_plain
    sep = "\n\n---\n\n" if markdown else "\n\n"
    cards = [render(e) for e in entries[:3]]
    rel = related_line(catalog, entries[0], markdown)
    if rel:  # the first card's closest papers, each a link to its repo or paper page
        cards[0] += "\n\n" + rel
    body = sep.join(cards)
    if len(entries) > 3:
        body += f"{sep}… and {len(entries) - 3} more papers"
    return HoverCard(body, markdown, Region.on_line(span.line, span.start, span.end))


def related_links(catalog: Catalog, entry: Entry, n: int = 3) -> list[tuple[str, str]]:
    """(name, url) of the n papers most related to one: its repo on GitHub, else its paper page."""
    out: list[tuple[str, str]] = []
    # A few spare: a .bib entry without a page or repo (an ordinary article) has nothing to link to.
    for e, _ in catalog.related_why(entry, n + 3):
        url = safe_url(github_url(e.repo_name)) or paper_url(e)
        if url:
            out.append((e.method or e.title, url))
    return out[:n]


def related_line(catalog: Catalog, entry: Entry, markdown: bool) -> str:
    """The hover card's 'Related:' line (empty when nothing is related)."""
    links = related_links(catalog, entry)
    if not links:
        return ""
    if markdown:
        return "**Related:** " + " · ".join(f"[{md_escape(_short(name))}]({url})" for name, url in links)
    return "Related: " + ", ".join(_short(name) for name, _ in links)


def _short(name: str, n: int = 40) -> str:
    return clean(name, n)
