"""pygls' text documents with fast incremental sync: changes go to a list of lines (analysis/textsync), and a large
didChange is taken from the JSON as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from paperlens.analysis.textsync import LineText

FAST_CHANGES = 32  # a didChange with more changes than this skips the typed decoding of each change


class RawChange(NamedTuple):
    """One incremental change of a large didChange, taken from the JSON as is (no typed objects per change)."""

    sl: int
    sc: int
    el: int
    ec: int
    text: str


def raw_changes(items: Any) -> list[RawChange] | None:
    """The changes as RawChange, or None when one of them is not a well-formed range change."""
    out: list[RawChange] = []
    append = out.append
    try:
        for c in items:
            r = c["range"]
            s, e = r["start"], r["end"]
            a, b, x, y, text = s["line"], s["character"], e["line"], e["character"], c["text"]
            if (type(a) is not int or type(b) is not int or type(x) is not int or type(y) is not int
                    or type(text) is not str or min(a, b, x, y) < 0):
                return None
            append(RawChange(a, b, x, y, text))
    except (KeyError, TypeError):
        return None
    return out


class SyncedDocument(TextDocument):
    """pygls' document, with incremental changes applied to a list of lines (textsync): a Replace All of 10k
    changes touches 10k lines instead of copying the whole document 10k times."""

    def __init__(self, uri: str, source: str | None = None, version: int | None = None,
                 language_id: str | None = None, sync_kind: t.TextDocumentSyncKind = t.TextDocumentSyncKind.Incremental,
                 position_codec: PositionCodec | None = None, encoding: str = "utf-16") -> None:
        super().__init__(uri, source=source, version=version, language_id=language_id, sync_kind=sync_kind,
                         position_codec=position_codec)
        self._buf: LineText | None = None  # split into lines at the first change, not at open
        self._encoding = encoding

    @property
    def source(self) -> str:
        return self._buf.text if self._buf is not None else super().source

    @property
    def lines(self) -> Sequence[str]:
        if self._buf is None:
            self._buf = LineText(super().source)
        return self._buf.lines

    def apply_change(self, change: t.TextDocumentContentChangeEvent | RawChange) -> None:  # type: ignore[override]
        if self._buf is None:
            self._buf = LineText(super().source)
        if isinstance(change, RawChange):
            self._buf.apply(change.sl, change.sc, change.el, change.ec, change.text, self._encoding)
        elif isinstance(change, t.TextDocumentContentChangePartial):
            r = change.range
            self._buf.apply(r.start.line, r.start.character, r.end.line, r.end.character, change.text,
                            self._encoding)
        else:
            self._buf.replace(change.text)


def use_synced_documents(ls: LanguageServer) -> None:
    """Make the workspace create SyncedDocuments (pygls builds the Workspace itself during initialize)."""
    ws = ls.workspace
    kind = ws.position_encoding or "utf-16"
    enc = str(getattr(kind, "value", kind)).lower()

    def create(doc_uri: str, source: str | None = None, version: int | None = None,
               language_id: str | None = None) -> TextDocument:
        return SyncedDocument(doc_uri, source=source, version=version, language_id=language_id,
                              position_codec=ws.position_codec, encoding=enc)

    ws._create_text_document = create  # type: ignore[method-assign]
