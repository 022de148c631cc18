"""textDocument/completion: citation keys ranked on the server, inside \\cite{...}, [@...] and :cite:`...`."""

from __future__ import annotations

from paperlens.analysis.bibs import Bibs, resources
from paperlens.analysis.cites import cite_context
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import MARKDOWN
from paperlens.core.text import clean
from paperlens.features.card import card_markdown
from paperlens.features.context import FeatureContext
from paperlens.features.results import Command, CompletionEntry, Region
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry

LIMIT = 50
ADD_ENTRY_COMMAND = "paperlens.addBibEntry"


def paragraph_entries(doc: DocAnalysis, catalog: Catalog, line: int, col: int) -> list[Entry]:
    """Papers mentioned in the cursor's paragraph, nearest first."""
    lo = line
    while lo > 0 and doc.lines[lo - 1].strip() and line - lo < 30:
        lo -= 1
    hi = line
    while hi + 1 < len(doc.lines) and doc.lines[hi + 1].strip() and hi - line < 30:
        hi += 1
    found: list[tuple[int, Entry]] = []
    for ln in range(lo, hi + 1):
        for m in doc.line_mentions(ln, catalog):
            dist = abs(ln - line) * 1000 + abs(m.span.start - col)
            found.extend((dist, e) for e in m.mention.entries[:1])
    found.sort(key=lambda x: x[0])
    out: list[Entry] = []
    seen: set[str] = set()
    for _, e in found:
        if e.key not in seen:
            seen.add(e.key)
            out.append(e)
    return out


SHORT_PREFIX = 2  # up to this many characters typed, the user's own papers come before the feed's


def ranked(ctx: FeatureContext, line: int, col: int, prefix: str, limit: int = LIMIT) -> list[Entry]:
    """Nothing or little typed: papers mentioned in this paragraph, then keys this document already cites, then
    the user's own .bib entries, then the feed. More typed: one ranking over everything."""
    doc, catalog = ctx.doc, ctx.catalog
    if len(prefix) > SHORT_PREFIX:
        return catalog.search(prefix, limit)
    low = prefix.lower()
    near = paragraph_entries(doc, catalog, line, col) if not prefix else []
    cited: list[Entry] = []
    for key in dict.fromkeys(c.key for c in ctx.cites()):
        if low and not key.lower().startswith(low):
            continue
        e = catalog.by_key(key, card=False)  # (a list item: no .bib entry decoded for it)
        if e is not None:
            cited.append(e)
        if len(cited) >= limit:
            break
    out: list[Entry] = []
    seen: set[str] = set()
    for e in [*near, *cited, *catalog.own_search(prefix, limit), *catalog.search(prefix, limit)]:
        if e.key not in seen:
            seen.add(e.key)
            out.append(e)
    return out[:limit]


def completions(ctx: FeatureContext, line: int, col: int, limit: int = LIMIT) -> list[CompletionEntry] | None:
    """Citation completions, or None when the cursor is not where a key goes (more typed: asked again)."""
    doc, catalog, bibs = ctx.doc, ctx.catalog, ctx.bibs
    if line < 0 or line >= len(doc.lines):
        return None
    text = doc.lines[line]
    cc = cite_context(text, min(col, len(text)), doc.kind, ctx.cite_commands, doc.lines[max(0, line - 5):line])
    if cc is None:
        return None
    rng = Region.on_line(line, cc.start, cc.end)
    if cc.syntax == MARKDOWN and cc.prefix.lower().startswith("arxiv:"):
        return _manubot_arxiv(catalog, cc.prefix, rng, limit)
    items = _bare_items(ctx, cc.prefix, cc.keys_before, rng, limit)
    limit -= len(items)
    loaded = resources(doc, bibs, every=True)
    entries = [e for e in ranked(ctx, line, col, cc.prefix, limit + len(cc.keys_before))
               if e.key not in cc.keys_before and not _elsewhere(bibs, loaded, e.key)][:limit]
    shown = {it.label for it in items}
    entries = [e for e in entries if e.key not in shown]
    for rank, e in enumerate(entries, start=len(items)):
        # VS Code re-filters on the client with the typed word and reads only 128 characters of filterText;
        # starting it with what was typed keeps every server-ranked item, and sortText keeps the order.
        filter_text = clean(cc.prefix + " " + " ".join(x for x in (e.key, e.method or "", e.title[:200]) if x), 128)
        items.append(CompletionEntry(
            label=clean(e.key, 100), region=rng, new_text=e.key, key=e.key, detail=_detail(e),
            description=clean(e.method, 60) if e.method else None, sort_text=f"{rank:04d}", filter_text=filter_text,
            command=None if bibs.has_key(e.key) else Command("Add BibTeX entry", ADD_ENTRY_COMMAND, (e.key, doc.uri))))
    return items


def _detail(e: Entry) -> str:
    return clean(e.title, 200) + (f" ({e.year})" if e.year else "")


def _elsewhere(bibs: Bibs, loaded: list[str] | None, key: str) -> bool:
    """Whether the key is only in .bib files the document does not load (citing it there would fail)."""
    return loaded is not None and bibs.has_key(key) and not any(key in bibs.files[u].ranges for u in loaded)


def _manubot_arxiv(catalog: Catalog, prefix: str, rng: Region, limit: int) -> list[CompletionEntry]:
    """Manubot's `@arxiv:<id>`: the feed's papers, by id or by words, inserted as their arXiv id."""
    query = prefix[len("arxiv:"):]
    items: list[CompletionEntry] = []
    for e in catalog.search(query, limit):
        if not e.arxiv_id:
            continue
        ident = f"arxiv:{e.arxiv_id}"
        items.append(CompletionEntry(
            label=ident, region=rng, new_text=ident, key=e.key, detail=_detail(e), sort_text=f"{len(items):04d}",
            filter_text=clean(prefix + " " + e.arxiv_id + " " + e.title[:200], 128)))
    return items


def _bare_items(ctx: FeatureContext, prefix: str, keys_before: tuple[str, ...], rng: Region,
                limit: int) -> list[CompletionEntry]:
    """.bib entries that are not papers (no title, only a URL, `@article{foo,}`) are still citable by their key:
    the ones whose key starts with what was typed, from the files the document loads."""
    low = prefix.lower()
    out: list[CompletionEntry] = []
    for key, kind in ctx.bibs.bare_keys(resources(ctx.doc, ctx.bibs)):
        if len(out) >= limit // 2:
            break
        if (low and not key.lower().startswith(low)) or key in keys_before:
            continue
        out.append(CompletionEntry(
            label=clean(key, 100), region=rng, new_text=key, key=key, detail=clean(f"@{kind}", 40),
            sort_text=f"{len(out):04d}", filter_text=(prefix + " " + key)[:128]))
    return out


def card(catalog: Catalog, key: object) -> str | None:
    """completionItem/resolve: the card (Markdown), filled in lazily, only for the item the user is looking at."""
    e = catalog.by_key(key) if isinstance(key, str) else None
    return card_markdown(e) if e is not None else None
