"""To and from the protocol, once: positions (code points inside, the client's UTF-16/UTF-8/UTF-32 units on the
wire), ranges, and the features' results (features/results.py) as lsprotocol objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from paperlens.features.diagnostics import SOURCE
from paperlens.features.results import (
    ERROR,
    HINT,
    INFORMATION,
    WARNING,
    Action,
    Command,
    CompletionEntry,
    Definition,
    Diagnostic,
    HoverCard,
    Link,
    Place,
    Region,
    Symbol,
    TextChange,
)

_REFERENCE = t.CompletionItemKind.Reference.value


@dataclass(frozen=True, slots=True)
class Json:
    """A result already in its JSON shape (dicts, lists, strings, numbers): transport sends it as it is."""

    value: Any


_SEVERITY = {ERROR: t.DiagnosticSeverity.Error, WARNING: t.DiagnosticSeverity.Warning,
             INFORMATION: t.DiagnosticSeverity.Information, HINT: t.DiagnosticSeverity.Hint}


class Convert:
    """The boundary for one server: `lines_of(uri)` gives the text a position in that file counts in;
    `document_changes`: the client takes versioned `documentChanges` in a workspace edit."""

    def __init__(self, codec: PositionCodec, lines_of: Callable[[str], Sequence[str]],
                 document_changes: bool = True) -> None:
        self.codec = codec
        self.lines_of = lines_of
        self.document_changes = document_changes

    # ------------------------------------------------------------------ positions

    def position_in(self, lines: Sequence[str], p: t.Position) -> tuple[int, int]:
        """Client units -> (line, code point)."""
        if p.line < 0 or p.line >= len(lines):
            return p.line, p.character
        sp = self.codec.position_from_client_units(lines, t.Position(p.line, p.character))
        return sp.line, sp.character

    def region_in(self, lines: Sequence[str], r: t.Range) -> Region:
        (sl, sc), (el, ec) = self.position_in(lines, r.start), self.position_in(lines, r.end)
        return Region(sl, sc, el, ec)

    def position(self, lines: Sequence[str], line: int, character: int) -> t.Position:
        """(line, code point) -> client units."""
        if line >= len(lines) or lines[line].isascii():  # every encoding counts ASCII the same
            return t.Position(line=line, character=character)
        return self.codec.position_to_client_units(lines, ServerTextPosition(line, character))

    def range(self, lines: Sequence[str], r: Region) -> t.Range:
        return t.Range(start=self.position(lines, r.start_line, r.start), end=self.position(lines, r.end_line, r.end))

    def locations(self, places: Sequence[Place]) -> list[t.Location]:
        texts: dict[str, Sequence[str]] = {}
        out = []
        for p in places:
            if p.uri not in texts:
                texts[p.uri] = self.lines_of(p.uri)
            out.append(t.Location(uri=p.uri, range=self.range(texts[p.uri], p.region)))
        return out

    # ------------------------------------------------------------------ results

    def hover(self, h: HoverCard, lines: Sequence[str]) -> t.Hover:
        kind = t.MarkupKind.Markdown if h.markdown else t.MarkupKind.PlainText
        return t.Hover(contents=t.MarkupContent(kind=kind, value=h.text), range=self.range(lines, h.region))

    def completions(self, items: Sequence[CompletionEntry], lines: Sequence[str]) -> t.CompletionList:
        # Incomplete: the server ranks, so more typed is asked for again.
        return t.CompletionList(is_incomplete=True, items=[t.CompletionItem(
            label=it.label, kind=t.CompletionItemKind.Reference, detail=it.detail,
            label_details=t.CompletionItemLabelDetails(description=it.description) if it.description else None,
            sort_text=it.sort_text, filter_text=it.filter_text,
            text_edit=t.TextEdit(range=self.range(lines, it.region), new_text=it.new_text),
            command=self.command(it.command), data={"key": it.key}) for it in items])

    def completions_json(self, items: Sequence[CompletionEntry], lines: Sequence[str]) -> Json:
        """`completions` in its JSON shape, made directly: the converter's walk over 50 lsprotocol items (type
        dispatch per field) cost more than finding them (tests compare the two)."""
        out: list[dict[str, Any]] = []
        for it in items:
            d: dict[str, Any] = {"label": it.label, "kind": _REFERENCE}
            if it.detail is not None:
                d["detail"] = it.detail
            if it.description:
                d["labelDetails"] = {"description": it.description}
            if it.sort_text is not None:
                d["sortText"] = it.sort_text
            if it.filter_text is not None:
                d["filterText"] = it.filter_text
            d["textEdit"] = {"range": self.range_json(lines, it.region), "newText": it.new_text}
            if it.command is not None:
                c = it.command
                d["command"] = {"title": c.title, "command": c.name, "arguments": list(c.arguments)}
            d["data"] = {"key": it.key}
            out.append(d)
        return Json({"isIncomplete": True, "items": out})

    def range_json(self, lines: Sequence[str], r: Region) -> dict[str, Any]:
        return {"start": self.position_json(lines, r.start_line, r.start),
                "end": self.position_json(lines, r.end_line, r.end)}

    def position_json(self, lines: Sequence[str], line: int, character: int) -> dict[str, int]:
        if line >= len(lines) or lines[line].isascii():
            return {"line": line, "character": character}
        p = self.codec.position_to_client_units(lines, ServerTextPosition(line, character))
        return {"line": p.line, "character": p.character}

    def command(self, c: Command | None) -> t.Command | None:
        return None if c is None else t.Command(title=c.title, command=c.name, arguments=list(c.arguments))

    def edit(self, changes: Sequence[TextChange], lines: Sequence[str] | None = None) -> t.WorkspaceEdit | None:
        """Changes as a workspace edit (`lines`: the text their positions count in, else each file's own);
        plain `changes` for a client that takes no `documentChanges`."""
        if not changes:
            return None
        edits = [(c, t.TextEdit(range=self.range(lines if lines is not None else self.lines_of(c.uri), c.region),
                                new_text=c.text)) for c in changes]
        if not self.document_changes:
            plain: dict[str, list[t.TextEdit]] = {}
            for c, e in edits:
                plain.setdefault(c.uri, []).append(e)
            return t.WorkspaceEdit(changes=plain)
        doc_changes: list[t.TextDocumentEdit | t.CreateFile | t.RenameFile | t.DeleteFile] = []
        for c, e in edits:
            if c.create:
                doc_changes.append(t.CreateFile(uri=c.uri, options=t.CreateFileOptions(ignore_if_exists=True)))
            doc_changes.append(t.TextDocumentEdit(
                text_document=t.OptionalVersionedTextDocumentIdentifier(uri=c.uri, version=c.version), edits=[e]))
        return t.WorkspaceEdit(document_changes=doc_changes)

    def actions(self, actions: Sequence[Action]) -> list[t.CodeAction]:
        return [t.CodeAction(title=a.title, kind=a.kind, is_preferred=True if a.preferred else None,
                             edit=self.edit(a.edit), command=self.command(a.command)) for a in actions]

    def links(self, links: Sequence[Link], lines: Sequence[str]) -> list[t.DocumentLink]:
        return [t.DocumentLink(range=self.range(lines, x.region), target=x.target, tooltip=x.tooltip) for x in links]

    def symbols(self, symbols: Sequence[Symbol]) -> list[t.WorkspaceSymbol]:
        out = []
        for s in symbols:
            location: t.Location | t.LocationUriOnly = (
                self.locations([s.place])[0] if s.place is not None else t.LocationUriOnly(uri=s.url or ""))
            out.append(t.WorkspaceSymbol(name=s.name, kind=t.SymbolKind.Class, location=location,
                                         container_name=s.container, data={"key": s.key}))
        return out

    def diagnostics(self, items: Sequence[Diagnostic], lines: Sequence[str]) -> list[t.Diagnostic]:
        return [t.Diagnostic(range=self.range(lines, d.region), message=d.message, severity=_SEVERITY[d.severity],
                             source=SOURCE, code=d.code, data=d.data,
                             tags=[t.DiagnosticTag.Unnecessary] if d.unnecessary else None) for d in items]

    def definition(self, d: Definition, origin: Sequence[str], link: bool) -> t.Location | list[t.LocationLink]:
        """A Location (the whole entry), or for a client that takes links one LocationLink (origin: the cited key,
        target: the entry, selection: its key)."""
        target = self.lines_of(d.uri)
        if not link:
            return t.Location(uri=d.uri, range=self.range(target, d.region))
        return [t.LocationLink(target_uri=d.uri, target_range=self.range(target, d.region),
                               target_selection_range=self.range(target, d.selection),
                               origin_selection_range=None if d.origin is None else self.range(origin, d.origin))]
