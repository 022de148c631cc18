"""The pygls wiring: the only module that imports pygls. Handlers find the document, call a feature, return."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from lsprotocol import types as t
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from paperlens import __version__
from paperlens.analysis import bibload
from paperlens.analysis.document import BIBTEX, DocAnalysis, doc_kind
from paperlens.analysis.textsync import LineText
from paperlens.core.config import Settings, parse_settings
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features import code_actions as ca
from paperlens.features import completion as comp
from paperlens.features import related
from paperlens.features.bib import (
    BibFile,
    Bibs,
    BibWriteRefused,
    append_entry_edit,
    check_write_target,
    read_bib_now,
    target_bib,
    write_roots,
)
from paperlens.features.card import paper_url
from paperlens.features.diagnostics import bib_diagnostics, diagnostics
from paperlens.features.hover import hover
from paperlens.features.links import document_links
from paperlens.features.navigation import declarations, definition, definition_link, key_at, references
from paperlens.features.symbols import workspace_symbols
from paperlens.index.bibindex import CONTENT_MAX, BibIndex, build_content
from paperlens.index.catalog import Catalog
from paperlens.library.pipeline import open_index
from paperlens.lsp.framing import AsyncReader, FrameError, Pushback, parse_body, read_frame
from paperlens.sources import encoding_note, is_encoding_note
from paperlens.sources.bibtex import decode_bib_bytes

log = logging.getLogger(__name__)

# The features name the commands they emit; the rest are the client's to call.
CMD_OPEN_REPO, CMD_ADD_BIB = ca.OPEN_REPO_COMMAND, comp.ADD_ENTRY_COMMAND
CMD_SEARCH, CMD_OPEN_PAPER = "paperlens.search", "paperlens.openPaper"
CMD_REFRESH, CMD_STATUS = "paperlens.refresh", "paperlens.status"
STATUS_NOTIFICATION = "paperlens/status"
MAX_BIB_SCAN = 200  # .bib files read from the workspace at start
SYNC_BIB_BYTES = 1_000_000  # .bib bytes read before answering initialize; more load in the background
SYNC_BIB_CHECK_CHARS = 500_000  # larger .bib files are syntax-checked in a worker thread
SYNC_LIGHT_ENTRIES = 400  # entries fully indexed before answering; more are indexed in the background
LOADING_SWITCH_INTERVAL = 0.001  # GIL hand-over while a worker reads .bib files: requests wait <= ~1 ms
NOCITE_ALL = re.compile(r"\\nocite\s*\{[^}]*\*")


@dataclasses.dataclass
class State:
    """Everything the server knows: settings, the catalog, open documents, the workspace's .bib files."""

    settings: Settings = dataclasses.field(default_factory=Settings)
    catalog: Catalog | None = None
    source: str = ""
    docs: dict[str, DocAnalysis] = dataclasses.field(default_factory=dict)
    language: dict[str, str] = dataclasses.field(default_factory=dict)
    bibs: Bibs = dataclasses.field(default_factory=Bibs)
    root: Path | None = None
    markdown: bool = True
    refreshing: bool = False
    pending: dict[str, asyncio.TimerHandle] = dataclasses.field(default_factory=dict)
    bib_index: BibIndex = dataclasses.field(default_factory=BibIndex)
    bib_gen: dict[str, int] = dataclasses.field(default_factory=dict)  # per .bib URI: the newest read wins
    bib_paths: list[Path] = dataclasses.field(default_factory=list)  # workspace .bib files still to read
    bibs_ready: bool = True  # False until every workspace .bib's keys are known (no unknown-key claims before)
    loading: int = 0  # background .bib reads running
    pending_open: dict[str, Any] = dataclasses.field(default_factory=dict)  # uri -> analyse (large didOpen)


_ANSWERED = object()  # a request already answered with an error while decoding it


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


def _use_synced_documents(ls: LanguageServer) -> None:
    """Make the workspace create SyncedDocuments (pygls builds the Workspace itself during initialize)."""
    ws = ls.workspace
    kind = ws.position_encoding or "utf-16"
    enc = str(getattr(kind, "value", kind)).lower()

    def create(doc_uri: str, source: str | None = None, version: int | None = None,
               language_id: str | None = None) -> TextDocument:
        return SyncedDocument(doc_uri, source=source, version=version, language_id=language_id,
                              position_codec=ws.position_codec, encoding=enc)

    ws._create_text_document = create  # type: ignore[method-assign]


class RawChange(NamedTuple):
    """One incremental change of a large didChange, taken from the JSON as is (no typed objects per change)."""

    sl: int
    sc: int
    el: int
    ec: int
    text: str


FAST_CHANGES = 32  # a didChange with more changes than this skips the typed decoding of each change


def _raw_changes(items: Any) -> list[RawChange] | None:
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


class PaperLensProtocol(LanguageServerProtocol):
    """The LSP life cycle as the spec has it, errors without tracebacks, and requests with bad params answered.

    - before `initialize`: requests get -32002 (ServerNotInitialized), notifications are dropped (`exit` aside);
    - a second `initialize` gets InvalidRequest;
    - after `shutdown`: requests get InvalidRequest (pygls would never answer them), only `exit` is handled;
    - `exit` without `shutdown` ends the process with code 1 (see `exit_code`);
    - a request whose params do not decode gets an error response (pygls only logs it, and the client would wait
      forever)."""

    exit_code = 0
    _initialize_seen = False

    def structure_message(self, data: Any) -> Any:
        if (isinstance(data, dict) and data.get("method") == t.TEXT_DOCUMENT_DID_CHANGE
                and isinstance(data.get("params"), dict)):
            items = data["params"].get("contentChanges")
            raw = _raw_changes(items) if isinstance(items, list) and len(items) > FAST_CHANGES else None
            if raw is not None:
                msg = super().structure_message({**data, "params": {**data["params"], "contentChanges": []}})
                msg.params.content_changes = raw  # applied by SyncedDocument.apply_change
                return msg
        try:
            return super().structure_message(data)
        except JsonRpcException as e:
            if isinstance(data, dict) and "id" in data and isinstance(data.get("method"), str):
                err = e.to_response_error()
                err.message = f"{err.message}: {clean(data['method'], 100)}"
                self._send_response(data["id"], None, err)
                return _ANSWERED
            raise

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        is_request = method is not None and getattr(message, "id", None) is not None
        if method == t.EXIT:
            self.exit_code = 0 if self._shutdown else 1
        elif self._shutdown:
            if is_request:
                self._error(message.id, -32600, f"the server is shutting down; {method} not handled")
            return
        elif not self._initialize_seen:
            if method != t.INITIALIZE:
                if is_request:
                    self._error(message.id, -32002, f"the server is not initialized; {method} not handled")
                return
            self._initialize_seen = True
        elif method == t.INITIALIZE and is_request:
            self._error(message.id, -32600, "initialize was already received")
            return
        super().handle_message(message)

    def _error(self, msg_id: Any, code: int, message: str) -> None:
        self._send_response(msg_id, None, ResponseError(code=code, message=message))

    def _send_response(self, msg_id: Any, result: Any | None = None, error: ResponseError | None = None) -> None:
        if error is not None:
            # No tracebacks (file paths, code) to the client: the message names the error; details go to the log.
            error = ResponseError(code=error.code, message=clean(error.message or "error", 500))
        super()._send_response(msg_id, result, error)


class PaperLensServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("paperlens", __version__, protocol_cls=PaperLensProtocol)
        self.state = State()


server = PaperLensServer()


# ------------------------------------------------------------------ positions at the boundary


def _lines(ls: PaperLensServer, uri: str) -> list[str]:
    d = ls.state.docs.get(uri)
    if d is not None:
        return d.lines
    f = ls.state.bibs.files.get(uri)
    if f is not None:
        return f.text.split("\n")
    path = to_fs_path(uri)
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
    return []


def _pos_in(ls: PaperLensServer, doc: DocAnalysis, p: t.Position) -> tuple[int, int]:
    """Client units -> code points."""
    if p.line < 0 or p.line >= len(doc.lines):
        return p.line, p.character
    sp = ls.workspace.position_codec.position_from_client_units(doc.lines, t.Position(p.line, p.character))
    return sp.line, sp.character


def _pos_out(ls: PaperLensServer, lines: Sequence[str], p: t.Position) -> t.Position:
    """Code points -> client units."""
    if p.line >= len(lines):
        return p
    if lines[p.line].isascii():  # every encoding counts ASCII the same
        return p
    return ls.workspace.position_codec.position_to_client_units(lines, ServerTextPosition(p.line, p.character))


def _range_out(ls: PaperLensServer, lines: Sequence[str], r: t.Range) -> t.Range:
    return t.Range(start=_pos_out(ls, lines, r.start), end=_pos_out(ls, lines, r.end))


def _edit_out(ls: PaperLensServer, edit: t.WorkspaceEdit | None) -> t.WorkspaceEdit | None:
    """Positions to client units; and plain `changes` for a client that takes no `documentChanges`."""
    if edit is None or not edit.document_changes:
        return edit
    for ch in edit.document_changes:
        if isinstance(ch, t.TextDocumentEdit):
            lines = _lines(ls, ch.text_document.uri)
            for e in ch.edits:
                if isinstance(e, t.TextEdit):
                    e.range = _range_out(ls, lines, e.range)
    return _plain_changes(ls, edit)


def _plain_changes(ls: PaperLensServer, edit: t.WorkspaceEdit) -> t.WorkspaceEdit:
    """Plain `changes` for a client that takes no `documentChanges`."""
    caps = ls.client_capabilities.workspace
    we = caps.workspace_edit if caps else None
    if we is not None and not we.document_changes and edit.document_changes:
        changes: dict[str, list[t.TextEdit]] = {}
        for ch in edit.document_changes:
            if isinstance(ch, t.TextDocumentEdit):
                changes.setdefault(ch.text_document.uri, []).extend(
                    e for e in ch.edits if isinstance(e, t.TextEdit))
        return t.WorkspaceEdit(changes=changes)
    return edit


# ------------------------------------------------------------------ state helpers


def _doc(ls: PaperLensServer, uri: str) -> DocAnalysis | None:
    d = ls.state.docs.get(uri)
    if d is None and uri in ls.state.pending_open:  # a large document asked for before its analysis ran
        ls.state.pending_open.pop(uri)()
        d = ls.state.docs.get(uri)
    return d


def _catalog(ls: PaperLensServer) -> Catalog:
    assert ls.state.catalog is not None, "index not loaded"
    return ls.state.catalog


def _extra(ls: PaperLensServer) -> tuple[str, ...]:
    return ls.state.settings.cite_commands


def _show(ls: PaperLensServer, kind: t.MessageType, message: str) -> None:
    ls.window_show_message(t.ShowMessageParams(type=kind, message=f"PaperLens: {message}"))


def _load_index(ls: PaperLensServer) -> list[tuple[t.MessageType, str]]:
    """Open the index. A feed file that cannot be read is left out, and whatever else goes wrong falls back to
    the shipped papers: the server always has an index. Returns one message per problem (file and reason)."""
    settings = ls.state.settings
    problems: list[tuple[t.MessageType, str]] = []
    try:
        loaded = open_index(settings, skip_bad=True)
    except Exception as e:  # e.g. a huge feed that turns out to be broken half-way through
        log.exception("loading the feeds failed")
        problems.append((t.MessageType.Error, f"{e}; serving the shipped papers without the extra feeds"))
        loaded = open_index(dataclasses.replace(settings, feeds=()), skip_bad=True)
    ls.state.bib_index.repos = loaded.index.repos
    _swap_catalog(ls, Catalog(loaded.index, bib=ls.state.bib_index))
    ls.state.source = loaded.library_source
    problems += [(t.MessageType.Error, f"feed left out: {err}") for err in loaded.errors]
    for w in loaded.warnings:
        log.warning(w)
        if is_encoding_note(w):
            problems.append((t.MessageType.Warning, w))
    return problems


def _status(ls: PaperLensServer) -> dict[str, Any]:
    cat = ls.state.catalog
    return {"papers": cat.n_papers if cat else 0, "state": "refreshing" if ls.state.refreshing else "idle",
            "source": ls.state.source}


def _notify_status(ls: PaperLensServer) -> None:
    ls.protocol.notify(STATUS_NOTIFICATION, _status(ls))


def _apply_settings(ls: PaperLensServer, raw: Any, *, reload: bool) -> None:
    settings, errors = parse_settings(raw)
    old = ls.state.settings
    ls.state.settings = settings
    for e in errors:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning, message=f"PaperLens: {e}"))
    index_keys = ("feeds", "cache_dir")
    if reload and any(getattr(old, k) != getattr(settings, k) for k in index_keys):
        for kind, problem in _load_index(ls):
            _show(ls, kind, problem)
        _notify_status(ls)


def _read_bib(uri: str, text: str, encoding: str = "utf-8") -> BibFile:
    path = to_fs_path(uri)
    note = encoding_note(path or uri, encoding)
    return BibFile(uri, Path(path) if path else None, text, warnings=[note] if note else [], encoding=encoding)


def _cache_dir(ls: PaperLensServer) -> Path | None:
    try:
        return ls.state.settings.cache_path
    except Exception:  # an unusable cache setting costs the cache, nothing else
        return None


def _swap_catalog(ls: PaperLensServer, cat: Catalog) -> None:
    """Install a new catalog in one assignment and forget what documents matched against the old one."""
    ls.state.catalog = cat
    _docs_changed(ls, publish=False)


def _docs_changed(ls: PaperLensServer, publish: bool = True) -> None:
    """The papers changed (a new index, .bib entries read): documents match names again."""
    for d in ls.state.docs.values():
        d._line_cache.clear()
        d.invalidate()
    if publish:
        for uri in list(ls.state.docs):
            _publish(ls, uri)


def _index_now(ls: PaperLensServer, f: BibFile) -> None:
    """Index a small .bib inline (tests and small projects see every entry at once)."""
    ls.state.bibs.files[f.uri] = f
    bibload.index_file(f, ls.state.bib_index)
    if ls.state.bib_index.n <= SYNC_LIGHT_ENTRIES:
        build_content(ls.state.bib_index)
    else:
        _spawn(_build_content(ls))


async def _build_content(ls: PaperLensServer) -> None:
    """The related-papers index over the .bib entries' abstracts (small libraries only), in a worker thread."""
    bib = ls.state.bib_index
    if bib.n > CONTENT_MAX:
        bib.content = None
        return
    await asyncio.get_running_loop().run_in_executor(None, build_content, bib)


async def _reindex(ls: PaperLensServer, uri: str, text: str | None, encoding: str = "utf-8") -> None:
    """A .bib changed (opened, edited, saved, written by us, changed on disk): read it in a worker thread and
    swap its entries in; requests keep answering from the previous entries meanwhile, and the newest read wins."""
    st = ls.state
    gen = st.bib_gen[uri] = st.bib_gen.get(uri, 0) + 1
    if text is None:
        st.bibs.files.pop(uri, None)
        st.bib_index.remove_origin(uri)
        _docs_changed(ls)
        return
    loop = asyncio.get_running_loop()
    if len(text) <= SYNC_BIB_BYTES:
        _index_now(ls, _read_bib(uri, text, encoding))
        _docs_changed(ls)
        return
    _loading(ls, +1)
    try:
        f = await loop.run_in_executor(None, _read_bib, uri, text, encoding)
        if st.bib_gen.get(uri) != gen:
            return
        st.bibs.files[uri] = f
        await loop.run_in_executor(None, lambda: bibload.index_file(
            f, st.bib_index, still_wanted=lambda: st.bib_gen.get(uri) == gen))
    finally:
        _loading(ls, -1)
    _docs_changed(ls)
    await _build_content(ls)


def _loading(ls: PaperLensServer, step: int) -> None:
    """While a worker reads .bib files, hand the GIL over often, so requests do not wait behind it."""
    st = ls.state
    if st.loading == 0 and step > 0:
        ls._switch = sys.getswitchinterval()  # type: ignore[attr-defined]
        sys.setswitchinterval(LOADING_SWITCH_INTERVAL)
    st.loading += step
    if st.loading == 0:
        sys.setswitchinterval(getattr(ls, "_switch", 0.005))


def _spawn(coro: Any) -> None:
    """Run a background task; its failure is logged, never lost silently."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)

    def done(t_: asyncio.Future[Any]) -> None:
        _tasks.discard(task)
        if not t_.cancelled() and t_.exception() is not None:
            log.error("background task failed", exc_info=t_.exception())

    task.add_done_callback(done)


_tasks: set[asyncio.Future[Any]] = set()


def _show_bib_notes(ls: PaperLensServer, files: Sequence[BibFile]) -> None:
    """Tell the user which .bib files were read in another encoding than UTF-8."""
    for f in files:
        for w in f.warnings:
            if is_encoding_note(w):
                _show(ls, t.MessageType.Warning, w)


def _scan_workspace_bibs(ls: PaperLensServer) -> list[Path]:
    """Read the workspace's small .bib files now (within a small byte budget); return the rest, which are read
    in the background."""
    st = ls.state
    small, large, budget = [], [], SYNC_BIB_BYTES
    for p in bibload.workspace_bibs(st.root, MAX_BIB_SCAN):
        try:
            size = p.stat().st_size
        except OSError:
            continue
        if size <= budget:
            small.append(p)
            budget -= size
        else:
            large.append(p)
    entries = 0
    for p in small:
        uri = from_fs_path(str(p)) or p.as_uri()
        try:
            f, _, lights = bibload.read_bib_path(p, uri)
        except OSError as e:
            log.warning("%s: %s", p, e)
            continue
        st.bibs.files.setdefault(uri, f)
        if entries + len(f.doc.entries) <= SYNC_LIGHT_ENTRIES:
            bibload.index_file(f, st.bib_index)
        else:
            bibload.add_stubs(f, st.bib_index)  # its keys answer now; its records are read in the background
            large.append(p)
        entries += len(f.doc.entries)
    return large


async def _read_large_bibs(ls: PaperLensServer, paths: list[Path]) -> None:
    """The workspace's larger .bib files: scanned (keys known), then indexed, in worker threads."""
    st = ls.state
    loop = asyncio.get_running_loop()
    cache = _cache_dir(ls)
    _loading(ls, +1)
    try:
        read: list[tuple[BibFile, str, Any]] = []
        for p in paths:
            uri = from_fs_path(str(p)) or p.as_uri()
            known = st.bibs.files.get(uri)
            if uri in st.docs and known is not None:
                continue  # open in the editor: its text there wins
            try:
                f, digest, lights = await loop.run_in_executor(None, bibload.read_bib_path, p, uri, cache)
            except OSError as e:
                log.warning("%s: %s", p, e)
                continue
            if known is None or known.text == f.text:
                st.bibs.files[uri] = f
                read.append((f, digest, lights))
        _show_bib_notes(ls, [f for f, _, _ in read])
        st.bibs_ready = True  # every key is known now: diagnostics may call a key unknown
        for uri in list(st.docs):
            _publish(ls, uri)
        for f, digest, lights in read:
            gen = st.bib_gen.get(f.uri, 0)

            def wanted(uri: str = f.uri, gen: int = gen) -> bool:
                return st.bib_gen.get(uri, 0) == gen  # not re-read since (an edit, a change on disk)

            await loop.run_in_executor(None, functools.partial(
                bibload.index_file, f, st.bib_index, cache, digest, lights, wanted))
    finally:
        st.bibs_ready = True
        _loading(ls, -1)
    _docs_changed(ls)
    _notify_status(ls)
    await _build_content(ls)


def _schedule(ls: PaperLensServer, key: str, delay: float, fn: Any) -> None:
    """Debounce: run fn after `delay` seconds unless scheduled again first."""
    old = ls.state.pending.pop(key, None)
    if old is not None:
        old.cancel()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        fn()
        return
    ls.state.pending[key] = loop.call_later(delay, fn)


def _workspace_docs(ls: PaperLensServer) -> dict[str, DocAnalysis]:
    """The open documents, and the workspace's .tex and .md files from disk (for references, unused entries)."""
    docs = dict(ls.state.docs)
    root = ls.state.root
    if root is not None and root.is_dir():
        for p in list(root.rglob("*.tex"))[:500] + list(root.rglob("*.md"))[:500]:
            uri = from_fs_path(str(p)) or p.as_uri()
            if uri not in docs:
                try:
                    docs[uri] = DocAnalysis.from_text(uri, doc_kind(None, uri), p.read_text(errors="replace"))
                except OSError:
                    continue
    return docs


def _cited_keys(ls: PaperLensServer) -> set[str] | None:
    """Every key the workspace's documents cite; None when one of them has \\nocite{*} (everything is used)."""
    keys: set[str] = set()
    for d in _workspace_docs(ls).values():
        if d.kind == BIBTEX:
            continue
        if any("nocite" in line and NOCITE_ALL.search(line) for line in d.lines):
            return None
        keys.update(c.key for c in d.cites(_extra(ls)))
    return keys


def _check_in_background(ls: PaperLensServer, uri: str, f: BibFile) -> bool:
    """Check a large .bib's syntax in a worker thread (requests are answered meanwhile), then publish."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False

    async def check() -> None:
        await loop.run_in_executor(None, lambda: f.scan)
        if ls.state.bibs.files.get(uri) is f:  # not replaced by a newer version meanwhile
            _publish(ls, uri)

    asyncio.ensure_future(check())
    return True


def _publish(ls: PaperLensServer, uri: str) -> None:
    d = _doc(ls, uri)
    cat = ls.state.catalog
    if d is None or cat is None:
        return
    on = ls.state.settings.features.diagnostics
    if d.kind == BIBTEX:
        f = ls.state.bibs.files.get(uri)
        if f is None:
            return
        if on and not f.scanned and len(f.text) > SYNC_BIB_CHECK_CHARS and _check_in_background(ls, uri, f):
            return
        cfg = ls.state.settings.diagnostics
        cited = _cited_keys(ls) if on and cfg.unused_entry == "hint" else None
        items = bib_diagnostics(f, cfg, cited) if on else []
    elif on and _large(d) and _in_loop():
        _publish_large(ls, d, cat)
        return
    else:
        if not ls.state.bibs_ready:
            return  # a key may be defined in a .bib not read yet: publish once every key is known
        items = diagnostics(d, cat, ls.state.bibs, ls.state.settings.diagnostics, _extra(ls)) if on else []
    for x in items:
        x.range = _range_out(ls, d.lines, x.range)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, version=d.version, diagnostics=items))


LARGE_DOC_LINES = 20_000  # a document with more lines gets its diagnostics computed in a worker thread


def _large(d: DocAnalysis) -> bool:
    n = len(d.lines)
    return n > LARGE_DOC_LINES or (n < 1000 and sum(map(len, d.lines)) > LARGE_OPEN_CHARS)


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _publish_large(ls: PaperLensServer, d: DocAnalysis, cat: Catalog) -> None:
    """Diagnostics of a large document, computed in a worker thread on a snapshot of its lines (requests on
    other documents are answered meanwhile); published only if the document has not changed since."""
    snap = DocAnalysis(d.uri, d.kind, list(d.lines), d.version)  # own caches: the worker shares nothing mutable
    bibs, cfg, extra = ls.state.bibs, ls.state.settings.diagnostics, _extra(ls)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        items = await loop.run_in_executor(None, diagnostics, snap, cat, bibs, cfg, extra)
        now = ls.state.docs.get(d.uri)
        if now is not d or now.version != snap.version:
            return  # changed or closed meanwhile: a newer publish is scheduled
        for x in items:
            x.range = _range_out(ls, d.lines, x.range)
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=d.uri, version=d.version,
                                                                        diagnostics=items))

    asyncio.ensure_future(run())


# ------------------------------------------------------------------ life cycle


@server.feature(t.INITIALIZE)
def on_initialize(ls: PaperLensServer, params: t.InitializeParams) -> None:
    st = ls.state
    if params.workspace_folders:
        st.root = Path(to_fs_path(params.workspace_folders[0].uri) or ".")
    elif params.root_uri:
        st.root = Path(to_fs_path(params.root_uri) or ".")
    elif params.root_path:
        st.root = Path(params.root_path)
    hover_caps = params.capabilities.text_document.hover if params.capabilities.text_document else None
    formats = hover_caps.content_format if hover_caps and hover_caps.content_format else None
    st.markdown = formats is None or t.MarkupKind.Markdown in formats
    _use_synced_documents(ls)
    settings, errors = parse_settings(params.initialization_options)
    st.settings = settings
    st.pending.clear()
    st.bib_paths = _scan_workspace_bibs(ls)
    st.bibs_ready = not st.bib_paths
    if not st.bib_paths and st.bib_index.n:
        build_content(st.bib_index)
    ls._init_problems = _load_index(ls)  # type: ignore[attr-defined]  # shown once the client is initialized
    ls._init_errors = errors  # type: ignore[attr-defined]


@server.feature(t.INITIALIZED)
async def on_initialized(ls: PaperLensServer, params: t.InitializedParams) -> None:
    for e in getattr(ls, "_init_errors", []):
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning, message=f"PaperLens: {e}"))
    for kind, problem in getattr(ls, "_init_problems", []):
        _show(ls, kind, problem)
    _show_bib_notes(ls, list(ls.state.bibs.files.values()))
    caps = ls.client_capabilities
    if caps.workspace and caps.workspace.configuration:
        try:
            res = await ls.workspace_configuration_async(
                t.ConfigurationParams(items=[t.ConfigurationItem(section="paperlens")]))
            if res and isinstance(res[0], dict) and res[0]:
                _apply_settings(ls, res[0], reload=True)
        except Exception as e:  # a client that cannot answer keeps the initializationOptions
            log.info("workspace/configuration failed: %s", e)
    ws = caps.workspace
    if ws and ws.did_change_watched_files and ws.did_change_watched_files.dynamic_registration:
        # .bib files edited outside the editor (Zotero exports, git pulls) should update the overlay too.
        opts = t.DidChangeWatchedFilesRegistrationOptions(watchers=[t.FileSystemWatcher(glob_pattern="**/*.bib")])
        try:
            await ls.client_register_capability_async(t.RegistrationParams(registrations=[t.Registration(
                id="paperlens-bib-watcher", method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=opts)]))
        except Exception as e:
            log.info("file watcher registration failed: %s", e)
    _notify_status(ls)
    # What start-up built (pygls, lsprotocol's classes, the index) lives as long as the server: out of the
    # collector's way, so a 10k-change didChange does not pay for full collections over it.
    gc.collect()
    gc.freeze()
    if ls.state.bib_paths:
        _spawn(_read_large_bibs(ls, ls.state.bib_paths))
    if ls.state.settings.refresh_on_start:
        asyncio.ensure_future(_refresh(ls))


@server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_did_change_configuration(ls: PaperLensServer, params: t.DidChangeConfigurationParams) -> None:
    raw = params.settings
    caps = ls.client_capabilities
    if caps.workspace and caps.workspace.configuration:
        try:
            res = await ls.workspace_configuration_async(
                t.ConfigurationParams(items=[t.ConfigurationItem(section="paperlens")]))
            raw = res[0] if res else raw
        except Exception as e:
            log.info("workspace/configuration failed: %s", e)
    _apply_settings(ls, raw, reload=True)
    for uri in list(ls.state.docs):
        _publish(ls, uri)


@server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_did_change_watched_files(ls: PaperLensServer, params: t.DidChangeWatchedFilesParams) -> None:
    for ev in params.changes:
        if not ev.uri.endswith(".bib") or ev.uri in ls.state.docs:
            continue  # an open .bib is tracked through didChange
        _spawn(_reload_from_disk(ls, ev.uri))


async def _reload_from_disk(ls: PaperLensServer, uri: str) -> None:
    """A .bib changed on disk (or was deleted): read it again, in its own encoding."""
    path = to_fs_path(uri)
    if not path or not Path(path).is_file():
        await _reindex(ls, uri, None)
        return
    try:
        data = await asyncio.get_running_loop().run_in_executor(None, Path(path).read_bytes)
    except OSError as e:
        log.warning("%s: %s", path, e)
        return
    text, encoding = decode_bib_bytes(data)
    await _reindex(ls, uri, text, encoding)


LARGE_OPEN_CHARS = 1_000_000  # a larger document is split and analysed just after didOpen, not inside it


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def on_did_open(ls: PaperLensServer, params: t.DidOpenTextDocumentParams) -> None:
    td = params.text_document
    kind = doc_kind(td.language_id, td.uri)
    ls.state.language[td.uri] = td.language_id
    if len(td.text) > LARGE_OPEN_CHARS and kind != BIBTEX and _in_loop():
        # 20 MB opened: requests already sent (a hover elsewhere) are answered first; then the document is
        # split (from pygls' copy, which has every change made meanwhile) and its diagnostics computed.
        ls.state.docs.pop(td.uri, None)

        def analyse() -> None:
            ls.state.pending_open.pop(td.uri, None)
            try:
                doc = ls.workspace.get_text_document(td.uri)
            except Exception:
                return
            if td.uri in ls.state.docs or td.uri not in ls.state.language:
                return  # closed (or reopened) meanwhile
            ls.state.docs[td.uri] = DocAnalysis.from_text(td.uri, kind, doc.source, doc.version or td.version)
            _publish(ls, td.uri)

        ls.state.pending_open[td.uri] = analyse
        _schedule(ls, "open:" + td.uri, 0.1, analyse)
        return
    ls.state.docs[td.uri] = DocAnalysis.from_text(td.uri, kind, td.text, td.version)
    if kind == BIBTEX:
        known = ls.state.bibs.files.get(td.uri)
        if known is None or known.text != td.text:
            _spawn(_reindex(ls, td.uri, td.text, known.encoding if known else "utf-8"))
        else:  # the same text as on disk is read already: only its own diagnostics are new
            _publish(ls, td.uri)
    else:
        _publish(ls, td.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def on_did_change(ls: PaperLensServer, params: t.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    d = _doc(ls, uri)
    if d is None:
        return
    # pygls has applied the (incremental) change to its copy; re-split, and let the per-line cache
    # keep every unchanged line's analysis.
    text = ls.workspace.get_text_document(uri).source
    d.lines = text.split("\n")
    d.version = params.text_document.version
    d.invalidate()
    if d.kind == BIBTEX:
        _schedule(ls, "bib:" + uri, 0.3, lambda: _spawn(_reindex(ls, uri, text, _encoding(ls, uri))))
    else:
        def republish() -> None:
            _publish(ls, uri)
            if ls.state.settings.diagnostics.unused_entry == "hint":  # what is cited changed
                for u, other in list(ls.state.docs.items()):
                    if other.kind == BIBTEX:
                        _publish(ls, u)

        _schedule(ls, "diag:" + uri, 0.2, republish)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def on_did_save(ls: PaperLensServer, params: t.DidSaveTextDocumentParams) -> None:
    d = _doc(ls, params.text_document.uri)
    if d is not None and d.kind == BIBTEX:
        text = ls.workspace.get_text_document(d.uri).source
        known = ls.state.bibs.files.get(d.uri)
        if known is None or known.text != text:
            _spawn(_reindex(ls, d.uri, text, _encoding(ls, d.uri)))


def _encoding(ls: PaperLensServer, uri: str) -> str:
    f = ls.state.bibs.files.get(uri)
    return f.encoding if f else "utf-8"


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def on_did_close(ls: PaperLensServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    d = ls.state.docs.pop(uri, None)
    ls.state.language.pop(uri, None)
    ls.state.pending_open.pop(uri, None)
    if d is not None and d.kind != BIBTEX:
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# ------------------------------------------------------------------ features


@server.feature(t.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PaperLensServer, params: t.HoverParams) -> t.Hover | None:
    d = _doc(ls, params.text_document.uri)
    if d is None or not ls.state.settings.features.hover:
        return None
    line, col = _pos_in(ls, d, params.position)
    h = hover(d, _catalog(ls), line, col, markdown=ls.state.markdown, extra_cites=_extra(ls))
    if h is not None and h.range is not None:
        h.range = _range_out(ls, d.lines, h.range)
    return h


@server.feature(t.TEXT_DOCUMENT_COMPLETION,
                t.CompletionOptions(trigger_characters=["{", ",", "@", "`", ";"], resolve_provider=True))
async def on_completion(ls: PaperLensServer, params: t.CompletionParams) -> t.CompletionList | None:
    d = _doc(ls, params.text_document.uri)
    if d is None or not ls.state.settings.features.completion:
        return None
    await asyncio.sleep(0)  # a checkpoint: a $/cancelRequest that already arrived cancels us here
    line, col = _pos_in(ls, d, params.position)
    res = comp.completions(d, _catalog(ls), ls.state.bibs, line, col, extra_cites=_extra(ls))
    if res is not None:
        for it in res.items:
            if isinstance(it.text_edit, t.TextEdit):
                it.text_edit.range = _range_out(ls, d.lines, it.text_edit.range)
    return res


@server.feature(t.COMPLETION_ITEM_RESOLVE)
def on_completion_resolve(ls: PaperLensServer, item: t.CompletionItem) -> t.CompletionItem:
    return comp.resolve(item, _catalog(ls))


@server.feature(t.TEXT_DOCUMENT_CODE_ACTION,
                t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix, ca.RELATED_KIND]))
async def on_code_action(ls: PaperLensServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
    d = _doc(ls, params.text_document.uri)
    if d is None or not ls.state.settings.features.code_actions:
        return None
    await asyncio.sleep(0)
    sl, sc = _pos_in(ls, d, params.range.start)
    el, ec = _pos_in(ls, d, params.range.end)
    rng = t.Range(start=t.Position(line=sl, character=sc), end=t.Position(line=el, character=ec))
    actions = ca.code_actions(d, _catalog(ls), ls.state.bibs, rng, language_id=ls.state.language.get(d.uri, ""),
                              bib_setting=ls.state.settings.bib_file, root=ls.state.root, extra_cites=_extra(ls),
                              roots=_roots(ls))
    invoked = params.context.trigger_kind == t.CodeActionTriggerKind.Invoked
    actions += related.passage_actions(d, _catalog(ls), ls.state.bibs, rng,
                                       language_id=ls.state.language.get(d.uri, ""),
                                       bib_setting=ls.state.settings.bib_file, root=ls.state.root, roots=_roots(ls),
                                       invoked=invoked)
    for a in actions:
        a.edit = _edit_out(ls, a.edit)
    only = params.context.only
    if only:
        actions = [a for a in actions if a.kind and any(a.kind == k or a.kind.startswith(k + ".") for k in only)]
    return actions


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_LINK)
def on_document_link(ls: PaperLensServer, params: t.DocumentLinkParams) -> list[t.DocumentLink] | None:
    d = _doc(ls, params.text_document.uri)
    if d is None or not ls.state.settings.features.links:
        return None
    links = document_links(d, _catalog(ls))
    for link in links:
        link.range = _range_out(ls, d.lines, link.range)
    return links


@server.feature(t.WORKSPACE_SYMBOL)
def on_workspace_symbol(ls: PaperLensServer, params: t.WorkspaceSymbolParams) -> list[t.WorkspaceSymbol] | None:
    if not ls.state.settings.features.symbols:
        return None
    syms = workspace_symbols(_catalog(ls), ls.state.bibs, params.query)
    for s in syms:
        if isinstance(s.location, t.Location):
            s.location.range = _range_out(ls, _lines(ls, s.location.uri), s.location.range)
    return syms


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: PaperLensServer, params: t.DefinitionParams) -> t.Location | list[t.LocationLink] | None:
    d = _doc(ls, params.text_document.uri)
    if d is None or not ls.state.settings.features.definition:
        return None
    line, col = _pos_in(ls, d, params.position)
    td = ls.client_capabilities.text_document
    if td and td.definition and td.definition.link_support:
        link = definition_link(d, ls.state.bibs, line, col, _extra(ls))
        if link is None:
            return None
        target = _lines(ls, link.target_uri)
        link.target_range = _range_out(ls, target, link.target_range)
        link.target_selection_range = _range_out(ls, target, link.target_selection_range)
        if link.origin_selection_range is not None:
            link.origin_selection_range = _range_out(ls, d.lines, link.origin_selection_range)
        return [link]
    loc = definition(d, ls.state.bibs, line, col, _extra(ls))
    if loc is not None:
        loc.range = _range_out(ls, _lines(ls, loc.uri), loc.range)
    return loc


@server.feature(t.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: PaperLensServer, params: t.ReferenceParams) -> list[t.Location] | None:
    d = _doc(ls, params.text_document.uri)
    if d is None:
        return None
    line, col = _pos_in(ls, d, params.position)
    key = key_at(d, line, col, _extra(ls))
    if key is None and d.kind == BIBTEX:
        key = next((k for f in ls.state.bibs.files.values() if f.uri == d.uri
                    for k, r in f.ranges.items() if r[0] <= line <= r[2]), None)
    if key is None:
        return None
    docs = _workspace_docs(ls)
    locs = references(docs.values(), key, _extra(ls))
    for loc in locs:
        loc.range = _range_out(ls, docs[loc.uri].lines, loc.range)
    if params.context.include_declaration:
        decl = ls.state.bibs.key_locations(key) if d.kind == BIBTEX else declarations(d, ls.state.bibs, key)
        for loc in decl:
            loc.range = _range_out(ls, _lines(ls, loc.uri), loc.range)
        locs = decl + locs
    return locs


# ------------------------------------------------------------------ commands


@server.command(CMD_SEARCH)
def cmd_search(ls: PaperLensServer, query: str, *rest: Any) -> list[dict[str, Any]]:
    """Ranked matches for a client's quick pick; (query, limit?)."""
    # pygls unpacks arguments positionally and ignores defaults: an optional argument must be *rest.
    limit = rest[0] if rest and isinstance(rest[0], int) and not isinstance(rest[0], bool) else 20
    out = []
    for e in _catalog(ls).search(str(query), max(1, min(int(limit), 200))):
        out.append({"key": e.key, "title": clean(e.title, 300), "method": clean(e.method, 100) if e.method else None,
                    "year": e.year, "authors": clean(e.authors_short, 200), "upvotes": e.upvotes,
                    "repo": e.repo_name, "paperUrl": paper_url(e),
                    "repoUrl": safe_url(f"https://github.com/{e.repo_name}") if e.repo_name else None,
                    "inBib": ls.state.bibs.has_key(e.key)})
    return out


async def _show_external(ls: PaperLensServer, url: str) -> dict[str, Any]:
    """Every window/showDocument goes through the URL allow-list."""
    safe = safe_url(url)
    if safe is None:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning,
                                                   message=f"PaperLens: not opening {clean(url, 120)!r}: only "
                                                           "https links to GitHub, Hugging Face, arXiv and DOI"))
        return {"opened": None, "success": False}
    res = await ls.window_show_document_async(t.ShowDocumentParams(uri=safe, external=True))
    return {"opened": safe, "success": bool(res and res.success)}


def _repo_url(ls: PaperLensServer, target: str) -> str | None:
    from paperlens.analysis.document import GITHUB_URL
    from paperlens.core.model import valid_repo

    m = GITHUB_URL.search(target + " ")
    if m and valid_repo(m.group("repo")):
        return f"https://github.com/{m.group('repo')}"
    if valid_repo(target) and "/" in target:
        return f"https://github.com/{target}"
    e = _catalog(ls).lookup(target)
    if e is not None and e.repo_name:
        return f"https://github.com/{e.repo_name}"
    return None


@server.command(CMD_OPEN_REPO)
async def cmd_open_repo(ls: PaperLensServer, target: str) -> dict[str, Any]:
    """Ask the client to open a paper's repo outside the editor (name, key or URL)."""
    url = _repo_url(ls, str(target))
    if url is None:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Info,
                                                   message=f"PaperLens: no linked repo for {clean(target, 100)!r}"))
        return {"opened": None, "success": False}
    return await _show_external(ls, url)


@server.command(CMD_OPEN_PAPER)
async def cmd_open_paper(ls: PaperLensServer, target: str) -> dict[str, Any]:
    e = _catalog(ls).lookup(str(target))
    url = paper_url(e) if e else None
    if url is None:
        return {"opened": None, "success": False}
    return await _show_external(ls, url)


def _roots(ls: PaperLensServer) -> list[Path]:
    """The workspace folders (all of them), else the root the client named."""
    out = []
    try:
        for f in ls.workspace.folders.values():
            p = to_fs_path(f.uri)
            if p:
                out.append(Path(p))
    except RuntimeError:  # no workspace before initialize
        pass
    if not out and ls.state.root is not None:
        out.append(ls.state.root)
    return out


@server.command(CMD_ADD_BIB)
async def cmd_add_bib(ls: PaperLensServer, key: str, *rest: Any) -> dict[str, Any]:
    """Add a paper's BibTeX entry to the .bib the document uses (never touching existing entries).

    The one path for every .bib write: the target must pass the write policy (a .bib inside the workspace
    folders), and the edit is computed from the file as it is right now (the editor's copy with its version
    when open, else the bytes on disk in their own encoding and line endings)."""
    document_uri = rest[0] if rest and isinstance(rest[0], str) else ""  # optional: pygls ignores defaults
    e = _catalog(ls).by_key(str(key))
    if e is None:
        return {"applied": False, "reason": f"unknown key {clean(str(key), 80)!r}"}
    d = _doc(ls, document_uri) or DocAnalysis.from_text(document_uri or "untitled:", "text", "")
    uri, path = target_bib(d, ls.state.bibs, ls.state.settings.bib_file, ls.state.root)
    try:
        real = check_write_target(path, write_roots(_roots(ls), d.uri))
    except BibWriteRefused as err:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning, message=f"PaperLens: {err}"))
        return {"applied": False, "reason": str(err)}
    uri = from_fs_path(str(real)) or real.as_uri()
    open_doc = ls.state.docs.get(uri) or next((x for u, x in ls.state.docs.items() if _same_file(u, real)), None)
    if open_doc is not None:
        uri = open_doc.uri
        now = read_bib_now(real, ls.workspace.get_text_document(uri).source, open_doc.version)
    else:
        now = read_bib_now(real)
    edit = append_entry_edit(e, uri, now)
    if edit is None:
        return {"applied": False, "reason": "already in the .bib"}
    lines = re.split(r"\r\n|\r|\n", now.text or "")
    for ch in edit.document_changes or ():
        if isinstance(ch, t.TextDocumentEdit):
            for te in ch.edits:
                if isinstance(te, t.TextEdit):
                    te.range = _range_out(ls, lines, te.range)
    edit = _plain_changes(ls, edit)
    res = await ls.workspace_apply_edit_async(t.ApplyWorkspaceEditParams(edit=edit, label=f"Add {e.key}"))
    if res.applied and uri not in ls.state.docs and real.is_file():
        await _reload_from_disk(ls, uri)
    return {"applied": bool(res.applied), "bib": uri}


def _same_file(uri: str, path: Path) -> bool:
    p = to_fs_path(uri)
    try:
        return p is not None and Path(p).resolve() == path
    except OSError:
        return False


async def _refresh(ls: PaperLensServer) -> dict[str, Any]:
    from paperlens.library.refresh import refresh

    if ls.state.refreshing:
        return {"saved": False, "warnings": ["a refresh is already running"]}
    ls.state.refreshing = True
    _notify_status(ls)
    token = f"paperlens-refresh-{time.time_ns()}"
    progress_ok = bool(ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress)
    if progress_ok:
        try:
            await ls.work_done_progress.create_async(token)
            ls.work_done_progress.begin(token, t.WorkDoneProgressBegin(title="PaperLens: refreshing papers",
                                                                        cancellable=False, percentage=0))
        except Exception as e:
            log.info("progress not available: %s", e)
            progress_ok = False
    loop = asyncio.get_running_loop()
    lock = threading.Lock()

    def progress(done: int, total: int, what: str) -> None:
        if progress_ok:
            pct = int(100 * done / total) if total else 100
            with lock:
                loop.call_soon_threadsafe(ls.work_done_progress.report, token, t.WorkDoneProgressReport(
                    message=f"{done}/{total} repos · {what}", percentage=pct))

    try:
        summary = await loop.run_in_executor(None, refresh, ls.state.settings, progress)
        if summary.saved:
            # Swap in the new index atomically: requests keep the old catalog until this assignment.
            def build() -> tuple[Catalog, str]:
                loaded = open_index(ls.state.settings, skip_bad=True)
                ls.state.bib_index.repos = loaded.index.repos
                return Catalog(loaded.index, bib=ls.state.bib_index), loaded.library_source

            new_cat, source = await loop.run_in_executor(None, build)
            _swap_catalog(ls, new_cat)
            ls.state.source = source
        return summary.to_json()
    except Exception as e:  # a failed refresh keeps the good index; say why
        log.exception("refresh failed")
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=f"PaperLens refresh failed: {e}"))
        return {"saved": False, "warnings": [str(e)]}
    finally:
        ls.state.refreshing = False
        if progress_ok:
            ls.work_done_progress.end(token, t.WorkDoneProgressEnd(message="done"))
        _notify_status(ls)


@server.command(CMD_REFRESH)
async def cmd_refresh(ls: PaperLensServer) -> dict[str, Any]:
    """Fetch feeds and repos in the background, with progress; the new index is swapped in when complete."""
    return await _refresh(ls)


@server.command(CMD_STATUS)
def cmd_status(ls: PaperLensServer) -> dict[str, Any]:
    return _status(ls)


# ------------------------------------------------------------------ transports


async def _serve_stream(ls: PaperLensServer, reader: AsyncReader) -> None:
    """Read frames until the input ends or `exit`; a bad frame is answered (when it was a request) or skipped,
    never the end of the server."""
    proto = ls.protocol
    assert isinstance(proto, PaperLensProtocol)
    reader = Pushback(reader)
    stop = ls._stop_event
    while stop is None or not stop.is_set():
        try:
            body = await read_frame(reader)
        except FrameError as e:
            log.warning("%s", e)
            continue
        if body is None:
            break
        try:
            data = parse_body(body)
        except FrameError as e:
            log.warning("%s", e)
            proto._error(e.msg_id, -32700, str(e))
            if e.resync:  # a wrong Content-Length: the next message may start inside this body
                reader.unread(body)
            continue
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            msg_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), int | str) else None
            proto._error(msg_id, -32600, "not a JSON-RPC 2.0 message")
            continue
        try:
            # Only the message itself is decoded by pygls (not each nested object, as its object_hook would).
            proto.handle_message(proto.structure_message(data))
        except JsonRpcException as e:
            msg_id = data.get("id") if isinstance(data.get("id"), int | str) else None
            if msg_id is not None and "method" in data:
                proto._error(msg_id, e.code, e.message)
        except Exception:
            log.exception("message not handled")


def _start_io(ls: PaperLensServer) -> None:
    ls._stop_event = threading.Event()
    reader = StdinAsyncReader(sys.stdin.buffer, ls.thread_pool)
    ls.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    try:
        asyncio.run(_serve_stream(ls, reader))
    except BrokenPipeError:
        log.error("the client's pipe closed; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ls.shutdown()


def parse_tcp(spec: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, :PORT or PORT -> (host, port); no host means 127.0.0.1."""
    host, sep, port = spec.rpartition(":")
    if not sep:
        host, port = "", spec
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--tcp {spec!r}: expected HOST:PORT with a port from 1 to 65535")
    return host or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _start_tcp(ls: PaperLensServer, host: str, port: int) -> None:
    """Serve one client: the first connection gets the session; later ones are closed at once (a second local
    program must not take over the session, read its answers or end it)."""
    ls._stop_event = threading.Event()

    async def main() -> None:
        done = asyncio.Event()
        taken = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal taken
            peer = writer.get_extra_info("peername")
            if taken:
                log.warning("refused a second client from %s: this server serves one client", peer)
                writer.close()
                return
            taken = True
            log.info("client connected from %s", peer)
            ls.protocol.set_writer(writer)  # type: ignore[arg-type]
            try:
                await _serve_stream(ls, reader)
            finally:
                done.set()

        srv = await asyncio.start_server(connection, host, port)
        addrs = ", ".join(str(sock.getsockname()[:2]) for sock in srv.sockets)
        log.warning("PaperLens listening on %s (one client)", addrs)
        async with srv:
            await done.wait()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ls.shutdown()


def serve(tcp: str | None = None, allow_remote: bool = False) -> int:
    """Run over stdio, or TCP when given HOST:PORT (loopback only unless allow_remote); the exit code."""
    # stderr is the log; keep it quiet unless asked (a client that never reads stderr must not block us).
    # Each line names its level, so clients that show stderr (VS Code's output channel) can show it at that level
    # rather than as an error. force: the CLI configured logging for its one-line messages before this.
    level = os.environ.get("PAPERLENS_LOG", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    if tcp:
        host, port = parse_tcp(tcp)
        if not is_loopback(host) and not allow_remote:
            raise ValueError(f"--tcp {tcp}: {host} is not a loopback address; the server has no authentication, "
                             "so it listens on another interface only with --allow-remote")
        _start_tcp(server, host, port)
    else:
        _start_io(server)
    proto = server.protocol
    return proto.exit_code if isinstance(proto, PaperLensProtocol) else 0
