"""pygls' text documents with fast incremental sync: changes go to a list of lines (analysis/textsync), a large
.bib's to a rope (chunks: an edit copies the chunks it touches; no lines, no join), and a large didChange is taken
from the JSON as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from paperlens.analysis.kinds import BIBTEX, doc_kind
from paperlens.analysis.textsync import LineText, RopeText, Span, plain_breaks
from paperlens.core.rope import Rope, Text

FAST_CHANGES = 32  # a didChange with more changes than this skips the typed decoding of each change
SPLICED_CHARS = 1_000_000  # a .bib larger than this is kept as a rope (RopeText), not as lines


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
        self._one: RopeText | None = None  # or, a large .bib: kept as a rope
        self._was: str | None = None  # the string the rope was made from (the workspace may hold it: Span.before)
        self._encoding = encoding
        self.spans: list[Span] = []  # the changes applied to `_one` since the workspace took them

    @property
    def source(self) -> str:
        if self._one is not None:
            return str(self._one.text)  # (a join: the workspace reads `body`)
        return self._buf.text if self._buf is not None else super().source

    @property
    def body(self) -> Text:
        """The text: a large .bib's rope as it is (no join), else the string."""
        return self._one.text if self._one is not None else self.source

    @property
    def lines(self) -> Sequence[str]:
        if self._one is not None:
            return LineText(str(self._one.text)).lines  # not kept: for pygls' own helpers, which we do not use
        return self._line_buffer().lines

    def _line_buffer(self) -> LineText:
        if self._buf is None:
            self._buf = LineText(self.source)
            self._one, self._was = None, None
            self._source = ""  # pygls' copy: ours is the text now
        return self._buf

    def use_text(self, text: Text) -> None:
        """The text of the didOpen, decoded by the transport (a huge one: its params carried "")."""
        self._buf, self._one, self._was, self.spans = None, None, None, []
        if isinstance(text, Rope):
            self._one = RopeText(text)
            self._source = ""
        else:
            self._source = text

    def share(self, text: Text) -> None:
        """Hold this text (the workspace found it equal to the text opened) instead of the one decoded from
        the didOpen."""
        if self._buf is not None or (self._one is not None and self.spans):
            return
        if len(self._one.text if self._one is not None else self._source or "") == len(text):
            if isinstance(text, Rope):
                self._one = RopeText(text)
                self._source = ""
            else:
                self._one, self._source = None, text

    def take_spans(self) -> list[Span]:
        out, self.spans = self.spans, []
        return out

    def apply_change(self, change: t.TextDocumentContentChangeEvent | RawChange) -> None:  # type: ignore[override]
        if self._buf is None and self._one is None:
            src = super().source
            if len(src) > SPLICED_CHARS and doc_kind(self.language_id, self.uri) == BIBTEX and plain_breaks(src):
                self._one = RopeText(src)
                self._was, self._source = src, ""
        if (self._one is not None and isinstance(change, t.TextDocumentContentChangePartial)
                and "\r" not in change.text):
            r = change.range
            before = None if self.spans else self._was if self._was is not None else self._one.text
            self._was = None
            a, b = self._one.apply(r.start.line, r.start.character, r.end.line, r.end.character, change.text,
                                   self._encoding)
            self.spans.append(Span(before, a, b, len(change.text)))
            return
        if self._one is not None and not isinstance(change, (RawChange, t.TextDocumentContentChangePartial)):
            self._one.replace(change.text)
            self._was = None
            self.spans.clear()  # a whole new text: the workspace compares it
            return
        self.spans.clear()
        buf = self._line_buffer()  # many changes at once (Replace All), or a CR typed: lines from here on
        if isinstance(change, RawChange):
            buf.apply(change.sl, change.sc, change.el, change.ec, change.text, self._encoding)
        elif isinstance(change, t.TextDocumentContentChangePartial):
            r = change.range
            buf.apply(r.start.line, r.start.character, r.end.line, r.end.character, change.text, self._encoding)
        else:
            buf.replace(change.text)


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
