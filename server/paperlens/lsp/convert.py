"""To and from the protocol, once: positions (code points inside, the client's UTF-16/UTF-8/UTF-32 units on the
wire), ranges, and workspace edits (plain `changes` for a client that takes no `documentChanges`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition


class Convert:
    """The boundary for one server: `lines_of(uri)` gives the text a position in that file counts in."""

    def __init__(self, codec: PositionCodec, lines_of: Callable[[str], Sequence[str]],
                 document_changes: bool = True) -> None:
        self.codec = codec
        self.lines_of = lines_of
        self.document_changes = document_changes

    def position_in(self, lines: Sequence[str], p: t.Position) -> tuple[int, int]:
        """Client units -> (line, code point)."""
        if p.line < 0 or p.line >= len(lines):
            return p.line, p.character
        sp = self.codec.position_from_client_units(lines, t.Position(p.line, p.character))
        return sp.line, sp.character

    def position(self, lines: Sequence[str], line: int, character: int) -> t.Position:
        """(line, code point) -> client units."""
        if line >= len(lines) or lines[line].isascii():  # every encoding counts ASCII the same
            return t.Position(line=line, character=character)
        return self.codec.position_to_client_units(lines, ServerTextPosition(line, character))

    def range(self, lines: Sequence[str], r: t.Range) -> t.Range:
        return t.Range(start=self.position(lines, r.start.line, r.start.character),
                       end=self.position(lines, r.end.line, r.end.character))

    def locations(self, locs: Sequence[t.Location]) -> list[t.Location]:
        texts: dict[str, Sequence[str]] = {}
        out = []
        for x in locs:
            if x.uri not in texts:
                texts[x.uri] = self.lines_of(x.uri)
            out.append(t.Location(uri=x.uri, range=self.range(texts[x.uri], x.range)))
        return out

    def link(self, link: t.LocationLink, origin: Sequence[str]) -> t.LocationLink:
        target = self.lines_of(link.target_uri)
        return t.LocationLink(
            target_uri=link.target_uri, target_range=self.range(target, link.target_range),
            target_selection_range=self.range(target, link.target_selection_range),
            origin_selection_range=None if link.origin_selection_range is None
            else self.range(origin, link.origin_selection_range))

    def edit(self, edit: t.WorkspaceEdit | None, lines: Sequence[str] | None = None) -> t.WorkspaceEdit | None:
        """An edit's positions in client units (`lines`: the text they count in, else each file's own text); and
        plain `changes` for a client that takes no `documentChanges`."""
        if edit is None or not edit.document_changes:
            return edit
        for ch in edit.document_changes:
            if isinstance(ch, t.TextDocumentEdit):
                text = lines if lines is not None else self.lines_of(ch.text_document.uri)
                for e in ch.edits:
                    if isinstance(e, t.TextEdit):
                        e.range = self.range(text, e.range)
        if self.document_changes:
            return edit
        changes: dict[str, list[t.TextEdit]] = {}
        for ch in edit.document_changes:
            if isinstance(ch, t.TextDocumentEdit):
                changes.setdefault(ch.text_document.uri, []).extend(e for e in ch.edits if isinstance(e, t.TextEdit))
        return t.WorkspaceEdit(changes=changes)
