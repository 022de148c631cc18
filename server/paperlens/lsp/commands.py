"""`workspace/executeCommand`: search, open a repo or paper page, add a .bib entry, refresh, status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lsprotocol import types as t

from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.uris import path_uri, uri_path
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features.bib import (
    BibWriteRefused,
    append_entry_edit,
    check_write_target,
    read_bib_now,
    target_bib,
    write_roots,
)
from paperlens.features.card import paper_url, repo_url
from paperlens.features.code_actions import citation_at
from paperlens.lsp import progress, protocol
from paperlens.lsp.transport import PaperLensServer


def search(ls: PaperLensServer, query: str, *rest: Any) -> list[dict[str, Any]]:
    """Ranked matches for a client's quick pick; (query, limit?, documentUri?, position?): with a document and a
    position, each result says what citing it there inserts (in that document's syntax)."""
    limit = max(1, min(int(protocol.int_arg(rest, 20)), 200))
    d = ls.ws.doc(protocol.str_arg(rest, 1))
    at = protocol.position_arg(rest[2]) if len(rest) > 2 else None
    ctx = ls.context(d) if d is not None and at is not None else None
    pos = ls.convert.position_in(d.lines, t.Position(*at)) if d is not None and at is not None else (0, 0)
    return [protocol.search_result(e, ls.ws.bibs.has_key(e.key), citation_at(ctx, *pos, e) if ctx else None)
            for e in ls.ws.require_catalog().search(str(query), limit)]


async def _show_external(ls: PaperLensServer, url: str) -> dict[str, Any]:
    """Every window/showDocument goes through the URL allow-list."""
    safe = safe_url(url)
    if safe is None:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning,
                                                   message=f"PaperLens: not opening {clean(url, 120)!r}: only "
                                                           "https links to GitHub, Hugging Face, arXiv and DOI"))
        return protocol.opened(None, False)
    res = await ls.window_show_document_async(t.ShowDocumentParams(uri=safe, external=True))
    return protocol.opened(safe, bool(res and res.success))


async def open_repo(ls: PaperLensServer, target: str) -> dict[str, Any]:
    """Ask the client to open a paper's repo outside the editor (name, key or URL)."""
    url = repo_url(ls.ws.require_catalog(), str(target))
    if url is None:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Info,
                                                   message=f"PaperLens: no linked repo for {clean(target, 100)!r}"))
        return protocol.opened(None, False)
    return await _show_external(ls, url)


async def open_paper(ls: PaperLensServer, target: str) -> dict[str, Any]:
    e = ls.ws.require_catalog().lookup(str(target))
    url = paper_url(e) if e else None
    if url is None:
        return protocol.opened(None, False)
    return await _show_external(ls, url)


async def add_bib_entry(ls: PaperLensServer, key: str, *rest: Any) -> dict[str, Any]:
    """Add a paper's BibTeX entry to the .bib the document uses (never touching existing entries).

    The one path for every .bib write: the target must pass the write policy (a .bib inside the workspace
    folders), and the edit is computed from the file as it is right now (the editor's copy with its version
    when open, else the bytes on disk in their own encoding and line endings)."""
    ws = ls.ws
    document_uri = protocol.str_arg(rest)
    e = ws.require_catalog().by_key(str(key))
    if e is None:
        return {"applied": False, "reason": f"unknown key {clean(str(key), 80)!r}"}
    d = ws.doc(document_uri) or DocAnalysis.from_text(document_uri or "untitled:", "text", "")
    uri, path = target_bib(d, ws.bibs, ws.settings.bib_file, ws.root)
    try:
        real = check_write_target(path, write_roots(ls.roots(), d.uri))
    except BibWriteRefused as err:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning, message=f"PaperLens: {err}"))
        return {"applied": False, "reason": str(err)}
    uri = path_uri(real)
    open_doc = ws.docs.get(uri) or next((x for u, x in ws.docs.items() if _same_file(u, real)), None)
    if open_doc is not None:
        uri = open_doc.uri
        now = read_bib_now(real, ls.workspace.get_text_document(uri).source, open_doc.version)
    else:
        now = read_bib_now(real)
    change = append_entry_edit(e, uri, now)
    if change is None:
        return {"applied": False, "reason": "already in the .bib"}
    edit = ls.convert.edit([change], re.split(r"\r\n|\r|\n", now.text or ""))
    assert edit is not None
    res = await ls.workspace_apply_edit_async(t.ApplyWorkspaceEditParams(edit=edit, label=f"Add {e.key}"))
    if res.applied and uri not in ws.docs and real.is_file():
        await ws.reload_from_disk(uri)
    return {"applied": bool(res.applied), "bib": uri}


def _same_file(uri: str, path: Path) -> bool:
    p = uri_path(uri)
    try:
        return p is not None and Path(p).resolve() == path
    except OSError:
        return False


async def refresh(ls: PaperLensServer) -> dict[str, Any]:
    """Fetch feeds and repos in the background, with progress; the new index is swapped in when complete."""
    return await progress.refresh(ls)


def status(ls: PaperLensServer) -> dict[str, Any]:
    return ls.ws.status()


def register(ls: PaperLensServer) -> None:
    """Register every command on the server."""
    for name, fn in ((protocol.CMD_SEARCH, search), (protocol.CMD_OPEN_REPO, open_repo),
                     (protocol.CMD_OPEN_PAPER, open_paper), (protocol.CMD_ADD_BIB, add_bib_entry),
                     (protocol.CMD_REFRESH, refresh), (protocol.CMD_STATUS, status)):
        ls.command(name)(fn)
