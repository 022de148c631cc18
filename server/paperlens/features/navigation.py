"""textDocument/definition and references for citation keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lsprotocol import types as t

from paperlens.analysis.document import BIBTEX, CiteKey, DocAnalysis
from paperlens.features.bib import LATEX_BIB_RE, Bibs, resources


def cite_at(doc: DocAnalysis, line: int, col: int, extra: tuple[str, ...] = ()) -> CiteKey | None:
    if line < 0 or line >= len(doc.lines):
        return None
    for c in doc.cites_on(line, extra):
        if c.span.start <= col <= c.span.end:
            return c
    return None


def key_at(doc: DocAnalysis, line: int, col: int, extra: tuple[str, ...] = ()) -> str | None:
    c = cite_at(doc, line, col, extra)
    return c.key if c else None


def definition(doc: DocAnalysis, bibs: Bibs, line: int, col: int, extra: tuple[str, ...] = ()) -> t.Location | None:
    """A cite key's entry, in the .bib files the document loads first; on a bibliography resource, that file."""
    link = definition_link(doc, bibs, line, col, extra)
    return None if link is None else t.Location(uri=link.target_uri, range=link.target_range)


def definition_link(doc: DocAnalysis, bibs: Bibs, line: int, col: int,
                    extra: tuple[str, ...] = ()) -> t.LocationLink | None:
    """The definition as a link (for clients that take links): the cited key as the origin, the whole entry as
    the target and its key as the part to select; or the .bib file a resource name names."""
    c = cite_at(doc, line, col, extra)
    if c is None:
        return _resource_at(doc, bibs, line, col)
    loc = bibs.location(c.key, resources(doc, bibs))
    if loc is None:
        return None
    keys = bibs.key_locations(c.key, [loc.uri])
    return t.LocationLink(target_uri=loc.uri, target_range=loc.range,
                          target_selection_range=keys[0].range if keys else loc.range,
                          origin_selection_range=_range(line, c.span.start, c.span.end))


def _range(line: int, a: int, b: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=a), end=t.Position(line=line, character=b))


def _resource_at(doc: DocAnalysis, bibs: Bibs, line: int, col: int) -> t.LocationLink | None:
    if line < 0 or line >= len(doc.lines):
        return None
    for m in LATEX_BIB_RE.finditer(doc.lines[line]):
        pos = m.start(1)
        for name in m.group(1).split(","):
            a, b = pos + len(name) - len(name.lstrip()), pos + len(name.rstrip())
            pos += len(name) + 1
            if a <= col <= b:
                one = DocAnalysis(doc.uri, doc.kind, [f"\\addbibresource{{{name.strip()}}}"])
                found = resources(one, bibs)
                if found:
                    return t.LocationLink(target_uri=found[0], target_range=_range(0, 0, 0),
                                          target_selection_range=_range(0, 0, 0),
                                          origin_selection_range=_range(line, a, b))
    return None


def declarations(doc: DocAnalysis, bibs: Bibs, key: str) -> list[t.Location]:
    """The key in the .bib files (those the document loads, when it names any): references' includeDeclaration."""
    return bibs.key_locations(key, resources(doc, bibs))


def references(docs: Iterable[DocAnalysis], key: str, extra: tuple[str, ...] = ()) -> list[t.Location]:
    """Every place the key is cited, across the given documents."""
    out: list[t.Location] = []
    for d in docs:
        for c in d.cites(extra):
            if c.key == key:
                out.append(t.Location(uri=d.uri, range=t.Range(
                    start=t.Position(line=c.span.line, character=c.span.start),
                    end=t.Position(line=c.span.line, character=c.span.end))))
    return out


def references_at(doc: DocAnalysis, bibs: Bibs, all_docs: Callable[[], dict[str, DocAnalysis]], line: int, col: int,
                  extra: tuple[str, ...] = (), include_declaration: bool = False) -> list[t.Location] | None:
    """The citations of the key at a position (a cite, or an entry of a .bib) across the workspace's documents;
    with include_declaration, its key in the .bib files first."""
    key = key_at(doc, line, col, extra)
    if key is None and doc.kind == BIBTEX:
        key = next((k for f in bibs.files.values() if f.uri == doc.uri
                    for k, r in f.ranges.items() if r[0] <= line <= r[2]), None)
    if key is None:
        return None
    locs = references(all_docs().values(), key, extra)
    if include_declaration:
        decl = bibs.key_locations(key) if doc.kind == BIBTEX else declarations(doc, bibs, key)
        locs = decl + locs
    return locs
