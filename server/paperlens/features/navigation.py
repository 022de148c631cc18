"""textDocument/definition and references for citation keys."""

from __future__ import annotations

from collections.abc import Iterable

from lsprotocol import types as t

from .bib import _LATEX_BIB, Bibs, resources
from .document import DocAnalysis


def key_at(doc: DocAnalysis, line: int, col: int, extra: tuple[str, ...] = ()) -> str | None:
    if line < 0 or line >= len(doc.lines):
        return None
    for c in doc.cites_on(line, extra):
        if c.span.start <= col <= c.span.end:
            return c.key
    return None


def definition(doc: DocAnalysis, bibs: Bibs, line: int, col: int, extra: tuple[str, ...] = ()) -> t.Location | None:
    """A cite key's entry, in the .bib files the document loads first; on a bibliography resource, that file."""
    key = key_at(doc, line, col, extra)
    if key:
        return bibs.location(key, resources(doc, bibs))
    return _resource_at(doc, bibs, line, col)


def _resource_at(doc: DocAnalysis, bibs: Bibs, line: int, col: int) -> t.Location | None:
    if line < 0 or line >= len(doc.lines):
        return None
    for m in _LATEX_BIB.finditer(doc.lines[line]):
        pos = m.start(1)
        for name in m.group(1).split(","):
            a, b = pos + len(name) - len(name.lstrip()), pos + len(name.rstrip())
            pos += len(name) + 1
            if a <= col <= b:
                one = DocAnalysis(doc.uri, doc.kind, [f"\\addbibresource{{{name.strip()}}}"])
                found = resources(one, bibs)
                if found:
                    zero = t.Position(line=0, character=0)
                    return t.Location(uri=found[0], range=t.Range(start=zero, end=zero))
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
