"""The pygls wiring: each handler finds the document, converts the position, calls a feature and converts back."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX
from paperlens.analysis.textsync import covering
from paperlens.analysis.workspace import spawn
from paperlens.core.config import parse_settings
from paperlens.core.rope import Text
from paperlens.features.code_actions import RELATED_KIND, code_actions
from paperlens.features.completion import card, completions
from paperlens.features.hover import hover
from paperlens.features.links import document_links
from paperlens.features.navigation import definition, references_at
from paperlens.features.related import passage_actions
from paperlens.features.symbols import workspace_symbols
from paperlens.index.build import one_heap_for_threads
from paperlens.index.core import preload_lazy_imports
from paperlens.lsp import commands, progress, protocol, publish
from paperlens.lsp.convert import Json
from paperlens.lsp.documents import SyncedDocument, use_synced_documents
from paperlens.lsp.transport import PaperLensProtocol, PaperLensServer, is_loopback, parse_tcp, start_io, start_tcp

log = logging.getLogger(__name__)

server = PaperLensServer()
commands.register(server)

_LEVEL = {"error": t.MessageType.Error, "warning": t.MessageType.Warning, "info": t.MessageType.Info}


def _show(ls: PaperLensServer, level: str, message: str) -> None:
    ls.window_show_message(t.ShowMessageParams(type=_LEVEL.get(level, t.MessageType.Info),
                                               message=f"PaperLens: {message}"))


def _wire(ls: PaperLensServer) -> None:
    """What the workspace does when documents must be shown again: publish, send the status, show a message."""
    ls.ws.publish = lambda uri: publish.publish(ls, uri)
    ls.ws.status_changed = lambda: ls.protocol.notify(protocol.STATUS_NOTIFICATION, ls.ws.status())
    ls.ws.show = lambda level, message: _show(ls, level, message)


_wire(server)


def _doc(ls: PaperLensServer, uri: str, flag: bool = True) -> DocAnalysis | None:
    """The open document, when its feature is on."""
    return ls.ws.doc(uri) if flag else None


# ------------------------------------------------------------------ settings


def _apply_settings(ls: PaperLensServer, raw: Any, *, reload: bool) -> None:
    settings, errors = parse_settings(raw)
    old, ls.ws.settings = ls.ws.settings, settings
    for e in errors:
        _show(ls, "warning", e)
    if reload and any(getattr(old, k) != getattr(settings, k) for k in ("feeds", "cache_dir")):
        for level, problem in ls.ws.load_index():
            _show(ls, level, problem)
        ls.ws.status_changed()
        _index_in_background(ls)


def _index_in_background(ls: PaperLensServer) -> None:
    """The index being built in a child process, if load_index started one: its progress, then the swap."""
    if ls.ws.build_job is not None:
        spawn(progress.indexing(ls))


async def _client_settings(ls: PaperLensServer, fallback: Any) -> Any:
    """The `paperlens` section from workspace/configuration; `fallback` when the client cannot answer."""
    caps = ls.client_capabilities
    if not (caps.workspace and caps.workspace.configuration):
        return fallback
    try:
        res = await ls.workspace_configuration_async(
            t.ConfigurationParams(items=[t.ConfigurationItem(section="paperlens")]))
        return res[0] if res else fallback
    except Exception as e:  # a client that cannot answer keeps what it sent before
        log.info("workspace/configuration failed: %s", e)
        return fallback


async def _watch_bib_files(ls: PaperLensServer) -> None:
    """.bib files edited outside the editor (Zotero exports, git pulls) should update the overlay too."""
    ws = ls.client_capabilities.workspace
    if not (ws and ws.did_change_watched_files and ws.did_change_watched_files.dynamic_registration):
        return
    opts = t.DidChangeWatchedFilesRegistrationOptions(watchers=[t.FileSystemWatcher(glob_pattern="**/*.bib")])
    try:
        await ls.client_register_capability_async(t.RegistrationParams(registrations=[t.Registration(
            id="paperlens-bib-watcher", method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=opts)]))
    except Exception as e:
        log.info("file watcher registration failed: %s", e)


def _root(params: t.InitializeParams) -> Path | None:
    if params.workspace_folders:
        return Path(to_fs_path(params.workspace_folders[0].uri) or ".")
    if params.root_uri:
        return Path(to_fs_path(params.root_uri) or ".")
    return Path(params.root_path) if params.root_path else None


def _takes_markdown(params: t.InitializeParams) -> bool:
    hover_caps = params.capabilities.text_document.hover if params.capabilities.text_document else None
    formats = hover_caps.content_format if hover_caps and hover_caps.content_format else None
    return formats is None or t.MarkupKind.Markdown in formats


# ------------------------------------------------------------------ life cycle


@server.feature(t.INITIALIZE)
def on_initialize(ls: PaperLensServer, params: t.InitializeParams) -> None:
    ws = ls.ws
    ws.root, ws.markdown = _root(params), _takes_markdown(params)
    use_synced_documents(ls)
    ws.settings, errors = parse_settings(params.initialization_options)
    ws.start()
    ws.start_messages = [("warning", e) for e in errors] + ws.load_index()  # shown once the client is initialized
    gc.collect()  # start-up's garbage, before on_initialized freezes what is left (~70 ms: here, not on the loads)


async def _warm_then_freeze(ls: PaperLensServer) -> None:
    """Load in worker threads what the first requests would otherwise wait for (numpy's lazy imports, the word
    frequencies of the related-papers line, the stored vectors), then freeze the collector again: what they
    made lives as long as the server too. Unfrozen, the word frequencies (a dict of ~1M entries) were walked
    by every full collection (~2.5 ms inside whichever request met it: the first hover of a 1M session)."""
    await asyncio.to_thread(preload_lazy_imports)
    await ls.ws.warm_up()
    gc.freeze()


@server.feature(t.INITIALIZED)
async def on_initialized(ls: PaperLensServer, params: t.InitializedParams) -> None:
    # What start-up built (pygls, lsprotocol's classes, the index) lives as long as the server: out of the
    # collector's way, so a 10k-change didChange does not pay for full collections over it.
    gc.freeze()
    spawn(_warm_then_freeze(ls))
    # The .bib files start loading first: their keys should answer as soon as possible (the round trips below
    # wait on the client).
    if ls.ws.bib_paths:
        spawn(ls.ws.read_large_bibs())
    spawn(ls.ws.prefetch_columns())
    for level, message in ls.ws.start_messages + ls.ws.bib_notes():
        _show(ls, level, message)
    _index_in_background(ls)
    raw = await _client_settings(ls, None)
    if raw and isinstance(raw, dict):
        _apply_settings(ls, raw, reload=True)
    await _watch_bib_files(ls)
    ls.ws.status_changed()
    if ls.ws.settings.refresh_on_start:
        asyncio.ensure_future(progress.refresh(ls))


@server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_did_change_configuration(ls: PaperLensServer, params: t.DidChangeConfigurationParams) -> None:
    _apply_settings(ls, await _client_settings(ls, params.settings), reload=True)
    ls.ws.republish()


@server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_did_change_watched_files(ls: PaperLensServer, params: t.DidChangeWatchedFilesParams) -> None:
    ls.ws.files_changed([ev.uri for ev in params.changes])


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def on_did_open(ls: PaperLensServer, params: t.DidOpenTextDocumentParams) -> None:
    td = params.text_document

    def current() -> tuple[str, int | None] | None:
        try:
            doc = ls.workspace.get_text_document(td.uri)
        except Exception:
            return None
        return doc.source, doc.version

    proto = ls.protocol
    text = proto.take_text(td.uri, td.text) if isinstance(proto, PaperLensProtocol) else td.text
    doc = ls.workspace.get_text_document(td.uri)
    if text is not td.text and isinstance(doc, SyncedDocument):
        doc.use_text(text)  # (a huge didOpen: decoded in pieces by the transport, its params carry "")
    same = ls.ws.open(td.uri, td.language_id, text, td.version, current)
    if same is not None and isinstance(doc, SyncedDocument):
        doc.share(same)  # one copy of a large .bib, not the editor's and the one read from disk


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def on_did_change(ls: PaperLensServer, params: t.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    span = covering(doc.take_spans()) if isinstance(doc, SyncedDocument) else None
    if ls.ws.doc(uri) is not None:  # pygls has applied the change to its copy (a large .bib's rope: not joined)
        ls.ws.change(uri, _body(doc), params.text_document.version, params.content_changes, span)


def _body(doc: TextDocument) -> Text:
    return doc.body if isinstance(doc, SyncedDocument) else doc.source


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def on_did_save(ls: PaperLensServer, params: t.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.ws.saved(uri, lambda: _body(ls.workspace.get_text_document(uri)))


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def on_did_close(ls: PaperLensServer, params: t.DidCloseTextDocumentParams) -> None:
    d = ls.ws.close(params.text_document.uri)
    if d is not None and d.kind != BIBTEX:
        publish.clear(ls, d.uri)


# ------------------------------------------------------------------ features


@server.feature(t.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PaperLensServer, params: t.HoverParams) -> t.Hover | None:
    d = _doc(ls, params.text_document.uri, ls.ws.settings.features.hover)
    if d is None:
        return None
    h = hover(ls.context(d), *ls.convert.position_in(d.lines, params.position))
    return None if h is None else ls.convert.hover(h, d.lines)


@server.feature(t.TEXT_DOCUMENT_COMPLETION,
                t.CompletionOptions(trigger_characters=["{", ",", "@", "`", ";"], resolve_provider=True))
async def on_completion(ls: PaperLensServer, params: t.CompletionParams) -> Json | None:
    d = _doc(ls, params.text_document.uri, ls.ws.settings.features.completion)
    if d is None:
        return None
    await asyncio.sleep(0)  # a checkpoint: a $/cancelRequest that already arrived cancels us here
    items = completions(ls.context(d), *ls.convert.position_in(d.lines, params.position))
    return None if items is None else ls.convert.completions_json(items, d.lines)  # (a CompletionList)


@server.feature(t.COMPLETION_ITEM_RESOLVE)
def on_completion_resolve(ls: PaperLensServer, item: t.CompletionItem) -> t.CompletionItem:
    text = card(ls.ws.require_catalog(), item.data.get("key") if isinstance(item.data, dict) else None)
    if text is not None:
        item.documentation = t.MarkupContent(kind=t.MarkupKind.Markdown, value=text)
    return item


@server.feature(t.TEXT_DOCUMENT_CODE_ACTION,
                t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix, RELATED_KIND]))
async def on_code_action(ls: PaperLensServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
    d = _doc(ls, params.text_document.uri, ls.ws.settings.features.code_actions)
    if d is None:
        return None
    await asyncio.sleep(0)
    ctx, rng = ls.context(d), ls.convert.region_in(d.lines, params.range)
    invoked = params.context.trigger_kind == t.CodeActionTriggerKind.Invoked
    actions = code_actions(ctx, rng) + passage_actions(ctx, rng, invoked)
    only = params.context.only
    if only:  # the kinds asked for, and their sub-kinds
        actions = [a for a in actions if a.kind and any(a.kind == k or a.kind.startswith(k + ".") for k in only)]
    return ls.convert.actions(actions)


@server.feature(t.TEXT_DOCUMENT_DOCUMENT_LINK)
def on_document_link(ls: PaperLensServer, params: t.DocumentLinkParams) -> list[t.DocumentLink] | None:
    d = _doc(ls, params.text_document.uri, ls.ws.settings.features.links)
    return None if d is None else ls.convert.links(document_links(ls.context(d)), d.lines)


@server.feature(t.WORKSPACE_SYMBOL)
def on_workspace_symbol(ls: PaperLensServer, params: t.WorkspaceSymbolParams) -> list[t.WorkspaceSymbol] | None:
    if not ls.ws.settings.features.symbols:
        return None
    return ls.convert.symbols(workspace_symbols(ls.ws.require_catalog(), ls.ws.bibs, params.query))


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: PaperLensServer, params: t.DefinitionParams) -> t.Location | list[t.LocationLink] | None:
    d = _doc(ls, params.text_document.uri, ls.ws.settings.features.definition)
    if d is None:
        return None
    found = definition(ls.context(d), *ls.convert.position_in(d.lines, params.position))
    td = ls.client_capabilities.text_document
    link = bool(td and td.definition and td.definition.link_support)
    return None if found is None else ls.convert.definition(found, d.lines, link)


@server.feature(t.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: PaperLensServer, params: t.ReferenceParams) -> list[t.Location] | None:
    d = ls.ws.doc(params.text_document.uri)
    if d is None:
        return None
    line, col = ls.convert.position_in(d.lines, params.position)
    found = references_at(ls.context(d), ls.ws.all_documents, line, col, params.context.include_declaration)
    return None if found is None else ls.convert.locations(found)


# ------------------------------------------------------------------ running


def serve(tcp: str | None = None, allow_remote: bool = False) -> int:
    """Run over stdio, or TCP when given HOST:PORT (loopback only unless allow_remote); the exit code."""
    # stderr is the log; keep it quiet unless asked (a client that never reads stderr must not block us).
    # Each line names its level, so clients that show stderr (VS Code's output channel) can show it at that level
    # rather than as an error. force: the CLI configured logging for its one-line messages before this.
    level = os.environ.get("PAPERLENS_LOG", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    one_heap_for_threads()
    if tcp:
        host, port = parse_tcp(tcp)
        if not is_loopback(host) and not allow_remote:
            raise ValueError(f"--tcp {tcp}: {host} is not a loopback address; the server has no authentication, "
                             "so it listens on another interface only with --allow-remote")
        start_tcp(server, host, port)
    else:
        start_io(server)
    proto = server.protocol
    return proto.exit_code if isinstance(proto, PaperLensProtocol) else 0
