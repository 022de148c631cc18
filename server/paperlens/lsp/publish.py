"""textDocument/publishDiagnostics: which diagnostics a document gets, computed off the request path when large."""

from __future__ import annotations

import asyncio
import dataclasses

from lsprotocol import types as t

from paperlens.analysis.bibs import BibFile
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX
from paperlens.analysis.workspace import LARGE_OPEN_CHARS, in_loop
from paperlens.features.diagnostics import bib_diagnostics, diagnostics
from paperlens.features.results import Diagnostic
from paperlens.index.catalog import Catalog
from paperlens.lsp.transport import PaperLensServer

SYNC_BIB_CHECK_CHARS = 500_000  # larger .bib files are syntax-checked in a worker thread
LARGE_DOC_LINES = 20_000  # a document with more lines gets its diagnostics computed in a worker thread


def publish(ls: PaperLensServer, uri: str) -> None:
    ws = ls.ws
    d = ws.doc(uri)
    cat = ws.catalog
    if d is None or cat is None:
        return
    on = ws.settings.features.diagnostics
    if d.kind == BIBTEX:
        f = ws.bibs.files.get(uri)
        if f is None:
            return
        if on and not f.scanned and len(f.text) > SYNC_BIB_CHECK_CHARS and _check_in_background(ls, uri, f):
            return
        cfg = ws.settings.diagnostics
        cited = ws.cited_keys() if on and cfg.unused_entry == "hint" else None
        items = bib_diagnostics(f, cfg, cited) if on else []
    elif on and _large(d) and in_loop():
        _publish_large(ls, d, cat)
        return
    else:
        if not ws.bibs_ready:
            return  # a key may be defined in a .bib not read yet: publish once every key is known
        items = diagnostics(ls.context(d)) if on else []
    _send(ls, d, items)


def _send(ls: PaperLensServer, d: DocAnalysis, items: list[Diagnostic]) -> None:
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(
        uri=d.uri, version=d.version, diagnostics=ls.convert.diagnostics(items, d.lines)))


def clear(ls: PaperLensServer, uri: str) -> None:
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _check_in_background(ls: PaperLensServer, uri: str, f: BibFile) -> bool:
    """Check a large .bib's syntax in a worker thread (requests are answered meanwhile), then publish."""
    if not in_loop():
        return False

    async def check() -> None:
        if await ls.ws.check_bib(f):  # (not replaced by a newer version meanwhile)
            publish(ls, uri)

    asyncio.ensure_future(check())
    return True


def _large(d: DocAnalysis) -> bool:
    n = len(d.lines)
    return n > LARGE_DOC_LINES or (n < 1000 and sum(map(len, d.lines)) > LARGE_OPEN_CHARS)


def _publish_large(ls: PaperLensServer, d: DocAnalysis, cat: Catalog) -> None:
    """Diagnostics of a large document, computed in a worker thread on a snapshot of its lines (requests on
    other documents are answered meanwhile); published only if the document has not changed since."""
    snap = DocAnalysis(d.uri, d.kind, list(d.lines), d.version)  # own caches: the worker shares nothing mutable
    ws = ls.ws
    ctx = dataclasses.replace(ls.context(d), doc=snap, catalog=cat)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        items = await loop.run_in_executor(None, diagnostics, ctx)
        now = ws.docs.get(d.uri)
        if now is not d or now.version != snap.version:
            return  # changed or closed meanwhile: a newer publish is scheduled
        _send(ls, d, items)

    asyncio.ensure_future(run())
