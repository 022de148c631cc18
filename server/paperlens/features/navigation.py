"""textDocument/definition and references for citation keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from paperlens.analysis.bibs import LATEX_BIB_RE, resources
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX
from paperlens.features.context import FeatureContext
from paperlens.features.results import Definition, Place, Region


def definition(ctx: FeatureContext, line: int, col: int) -> Definition | None:
    """A cite key's entry, in the .bib files the document loads first: the cited key as the origin, the whole entry
    as the target and its key as the part to select; on a bibliography resource, the .bib file it names."""
    c = ctx.cite_at(line, col)
    if c is None:
        return _resource_at(ctx, line, col)
    loc = ctx.bibs.location(c.key, resources(ctx.doc, ctx.bibs))
    if loc is None:
        return None
    keys = ctx.bibs.key_locations(c.key, [loc.uri])
    return Definition(loc.uri, loc.region, keys[0].region if keys else loc.region,
                      Region.on_line(line, c.span.start, c.span.end))


def _resource_at(ctx: FeatureContext, line: int, col: int) -> Definition | None:
    doc = ctx.doc
    if line < 0 or line >= len(doc.lines):
        return None
    for m in LATEX_BIB_RE.finditer(doc.lines[line]):
        pos = m.start(1)
        for name in m.group(1).split(","):
            a, b = pos + len(name) - len(name.lstrip()), pos + len(name.rstrip())
            pos += len(name) + 1
            if a <= col <= b:
                one = DocAnalysis(doc.uri, doc.kind, [f"\\addbibresource{{{name.strip()}}}"])
                found = resources(one, ctx.bibs)
                if found:
                    return Definition(found[0], Region.at(0, 0), Region.at(0, 0), Region.on_line(line, a, b))
    return None


def declarations(ctx: FeatureContext, key: str) -> list[Place]:
    """The key in the .bib files (those the document loads, when it names any): references' includeDeclaration."""
    if ctx.doc.kind == BIBTEX:
        return ctx.bibs.key_locations(key)
    return ctx.bibs.key_locations(key, resources(ctx.doc, ctx.bibs))


def references(docs: Iterable[DocAnalysis], key: str, extra: tuple[str, ...] = ()) -> list[Place]:
    """Every place the key is cited, across the given documents."""
    return [Place(d.uri, Region.on_line(c.span.line, c.span.start, c.span.end))
            for d in docs for c in d.cites(extra) if c.key == key]


def key_at(ctx: FeatureContext, line: int, col: int) -> str | None:
    """The key cited at a position; in a .bib, the key of the entry the line is in."""
    c = ctx.cite_at(line, col)
    if c is not None:
        return c.key
    if ctx.doc.kind == BIBTEX:
        return next((k for f in ctx.bibs.files.values() if f.uri == ctx.doc.uri
                     for k, r in f.ranges.items() if r[0] <= line <= r[2]), None)
    return None


def references_at(ctx: FeatureContext, all_docs: Callable[[], dict[str, DocAnalysis]], line: int, col: int,
                  include_declaration: bool = False) -> list[Place] | None:
    """The citations of the key at a position across the workspace's documents; with include_declaration, its
    key in the .bib files first."""
    key = key_at(ctx, line, col)
    if key is None:
        return None
    locs = references(all_docs().values(), key, ctx.cite_commands)
    return declarations(ctx, key) + locs if include_declaration else locs
