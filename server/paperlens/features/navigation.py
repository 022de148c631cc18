"""textDocument/definition and references for citation keys."""

from __future__ import annotations

from collections.abc import Iterable

from lsprotocol import types as t

from .bib import Bibs
from .document import DocAnalysis, find_cites


def key_at(doc: DocAnalysis, line: int, col: int, extra: tuple[str, ...] = ()) -> str | None:
    if line < 0 or line >= len(doc.lines):
        return None
    for c in find_cites(doc.lines[line:line + 1], doc.kind, extra):
        if c.span.start <= col <= c.span.end:
            return c.key
    return None


def definition(doc: DocAnalysis, bibs: Bibs, line: int, col: int, extra: tuple[str, ...] = ()) -> t.Location | None:
    """A cite key's entry in the workspace's .bib."""
    key = key_at(doc, line, col, extra)
    return bibs.location(key) if key else None


def references(docs: Iterable[DocAnalysis], key: str, extra: tuple[str, ...] = ()) -> list[t.Location]:
    """Every place the key is cited, across the given documents."""
    out: list[t.Location] = []
    for d in docs:
        for c in find_cites(d.lines, d.kind, extra):
            if c.key == key:
                out.append(t.Location(uri=d.uri, range=t.Range(
                    start=t.Position(line=c.span.line, character=c.span.start),
                    end=t.Position(line=c.span.line, character=c.span.end))))
    return out
