"""textDocument/hover: the paper card for a cite key, arXiv id, GitHub URL or method mention."""

from __future__ import annotations

from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features.card import card_markdown, card_plain, md_escape, paper_url
from paperlens.features.context import FeatureContext
from paperlens.features.results import HoverCard, Region
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry
from paperlens.index.semantic import table_loading


def hover(ctx: FeatureContext, line: int, col: int) -> HoverCard | None:
    """The card (Markdown, or plain text for clients without it) with the range it covers."""
    found = ctx.target_at(line, col)
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
    # n papers first: each one read is ~14 scattered pages of the index's columns (a cold one costs 10-100 us
    # here); a few spare only when one of them has nothing to link to (a .bib entry without page or repo).
    for k in (n, n + 3):
        got = catalog.related_why(entry, k, reasons=False)
        out = [(e.method or e.title, url) for e, _ in got
               if (url := safe_url(github_url(e.repo_name)) or paper_url(e))]
        if len(out) >= n or len(got) < k:
            break
    return out[:n]


def related_line(catalog: Catalog, entry: Entry, markdown: bool) -> str:
    """The hover card's 'Related:' line (empty when nothing is related, or while the word table it needs is
    still being read in the background: the next hover has it)."""
    if table_loading():
        return ""
    links = related_links(catalog, entry)
    if not links:
        return ""
    if markdown:
        return "**Related:** " + " · ".join(f"[{md_escape(_short(name))}]({url})" for name, url in links)
    return "Related: " + ", ".join(_short(name) for name, _ in links)


def _short(name: str, n: int = 40) -> str:
    return clean(name, n)
