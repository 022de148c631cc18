"""textDocument/completion: citation keys ranked on the server, inside \\cite{...}, [@...] and :cite:`...`."""

from __future__ import annotations

from lsprotocol import types as t

from paperlens.analysis.document import MARKDOWN, DocAnalysis, cite_context
from paperlens.core.text import clean
from paperlens.features.bib import Bibs, resources
from paperlens.features.card import card_markdown
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


def ranked(doc: DocAnalysis, catalog: Catalog, line: int, col: int, prefix: str, limit: int = LIMIT,
           extra_cites: tuple[str, ...] = ()) -> list[Entry]:
    """Nothing or little typed: papers mentioned in this paragraph, then keys this document already cites, then
    the user's own .bib entries, then the feed. More typed: one ranking over everything."""
    if len(prefix) > SHORT_PREFIX:
        return catalog.search(prefix, limit)
    low = prefix.lower()
    near = paragraph_entries(doc, catalog, line, col) if not prefix else []
    cited: list[Entry] = []
    for key in dict.fromkeys(c.key for c in doc.cites(extra_cites)):
        if low and not key.lower().startswith(low):
            continue
        e = catalog.by_key(key)
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


def completions(doc: DocAnalysis, catalog: Catalog, bibs: Bibs, line: int, col: int, *,
                extra_cites: tuple[str, ...] = (), limit: int = LIMIT) -> t.CompletionList | None:
    """Citation completions, or None when the cursor is not where a key goes."""
    if line < 0 or line >= len(doc.lines):
        return None
    text = doc.lines[line]
    ctx = cite_context(text, min(col, len(text)), doc.kind, extra_cites, doc.lines[max(0, line - 5):line])
    if ctx is None:
        return None
    rng = t.Range(start=t.Position(line=line, character=ctx.start), end=t.Position(line=line, character=ctx.end))
    if ctx.syntax == MARKDOWN and ctx.prefix.lower().startswith("arxiv:"):
        return _manubot_arxiv(catalog, ctx.prefix, rng, limit)
    items = _bare_items(doc, bibs, ctx.prefix, ctx.keys_before, rng, limit)
    limit -= len(items)
    loaded = resources(doc, bibs, every=True)
    entries = [e for e in ranked(doc, catalog, line, col, ctx.prefix, limit + len(ctx.keys_before), extra_cites)
               if e.key not in ctx.keys_before and not _elsewhere(bibs, loaded, e.key)][:limit]
    shown = {it.label for it in items}
    entries = [e for e in entries if e.key not in shown]
    for rank, e in enumerate(entries, start=len(items)):
        detail = clean(e.title, 200) + (f" ({e.year})" if e.year else "")
        in_bib = bibs.has_key(e.key)
        # VS Code re-filters on the client with the typed word and reads only 128 characters of filterText;
        # starting it with what was typed keeps every server-ranked item, and sortText keeps the order.
        filter_text = clean(ctx.prefix + " " + " ".join(x for x in (e.key, e.method or "", e.title[:200]) if x), 128)
        items.append(t.CompletionItem(
            label=clean(e.key, 100),
            kind=t.CompletionItemKind.Reference,
            detail=detail,
            label_details=t.CompletionItemLabelDetails(description=clean(e.method, 60) if e.method else None),
            sort_text=f"{rank:04d}",
            filter_text=filter_text,
            text_edit=t.TextEdit(range=rng, new_text=e.key),
            command=None if in_bib else t.Command(title="Add BibTeX entry", command=ADD_ENTRY_COMMAND,
                                                  arguments=[e.key, doc.uri]),
            data={"key": e.key},
        ))
    return t.CompletionList(is_incomplete=True, items=items)


def _elsewhere(bibs: Bibs, loaded: list[str] | None, key: str) -> bool:
    """Whether the key is only in .bib files the document does not load (citing it there would fail)."""
    return loaded is not None and bibs.has_key(key) and not any(key in bibs.files[u].ranges for u in loaded)


def _manubot_arxiv(catalog: Catalog, prefix: str, rng: t.Range, limit: int) -> t.CompletionList:
    """Manubot's `@arxiv:<id>`: the feed's papers, by id or by words, inserted as their arXiv id."""
    query = prefix[len("arxiv:"):]
    items: list[t.CompletionItem] = []
    for e in catalog.search(query, limit):
        if not e.arxiv_id:
            continue
        ident = f"arxiv:{e.arxiv_id}"
        items.append(t.CompletionItem(
            label=ident, kind=t.CompletionItemKind.Reference,
            detail=clean(e.title, 200) + (f" ({e.year})" if e.year else ""),
            sort_text=f"{len(items):04d}", filter_text=clean(prefix + " " + e.arxiv_id + " " + e.title[:200], 128),
            text_edit=t.TextEdit(range=rng, new_text=ident), data={"key": e.key}))
    return t.CompletionList(is_incomplete=True, items=items)


def _bare_items(doc: DocAnalysis, bibs: Bibs, prefix: str, keys_before: tuple[str, ...], rng: t.Range,
                limit: int) -> list[t.CompletionItem]:
    """.bib entries that are not papers (no title, only a URL, `@article{foo,}`) are still citable by their key:
    the ones whose key starts with what was typed, from the files the document loads."""
    low = prefix.lower()
    out: list[t.CompletionItem] = []
    for key, kind in bibs.bare_keys(resources(doc, bibs)):
        if len(out) >= limit // 2:
            break
        if (low and not key.lower().startswith(low)) or key in keys_before:
            continue
        out.append(t.CompletionItem(
            label=clean(key, 100), kind=t.CompletionItemKind.Reference, detail=clean(f"@{kind}", 40),
            sort_text=f"{len(out):04d}", filter_text=(prefix + " " + key)[:128],
            text_edit=t.TextEdit(range=rng, new_text=key), data={"key": key}))
    return out


def resolve(item: t.CompletionItem, catalog: Catalog) -> t.CompletionItem:
    """Fill in the card lazily: only for the item the user is looking at."""
    key = item.data.get("key") if isinstance(item.data, dict) else None
    e = catalog.by_key(key) if isinstance(key, str) else None
    if e is not None:
        item.documentation = t.MarkupContent(kind=t.MarkupKind.Markdown, value=card_markdown(e))
    return item
