"""Shared pieces of the end-to-end tests: the server command, client capabilities, a session starter, waits."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVER_COMMAND = [sys.executable, "-m", "paperlens", "serve"]
# server_env replaces the environment: keep it, but never let a token reach a test server.
_ENV = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN")}
CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, server_env={**_ENV, "PAPERLENS_LOG": "WARNING"})

DRCT_TITLE = "DRCT: Saving Image Super-resolution away from Information Bottleneck"
REAL_LIBRARY = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "bib" / "akhirsch_main.bib"


def copied_library(enough: Callable[[int, list[str]], bool], note: Callable[[int], str] = lambda n: "") -> str:
    """The real akhirsch library, then copies of its entries with keys prefixed `c1`, `c2`, ... (each followed by
    note(n)) until enough(copies, parts): a large .bib of real entries."""
    real = REAL_LIBRARY.read_text(encoding="utf-8")
    body = real[real.index("\n@", real.rindex("@string")):]
    parts = [real]
    n = 0
    while not enough(n, parts):
        n += 1
        parts.append(body.replace("@inproceedings{", f"@inproceedings{{c{n}").replace("@article{", f"@article{{c{n}")
                     .replace("@misc{", f"@misc{{c{n}") + note(n))
    return "".join(parts)


def capabilities(*, hover_formats: Sequence[t.MarkupKind] = (t.MarkupKind.Markdown, t.MarkupKind.PlainText),
                 encodings: Sequence[t.PositionEncodingKind] | None = None,
                 progress: bool = True) -> t.ClientCapabilities:
    """What a capable editor declares: Markdown hovers, showDocument, applyEdit with file creation, progress."""
    return t.ClientCapabilities(
        general=t.GeneralClientCapabilities(position_encodings=list(encodings)) if encodings else None,
        workspace=t.WorkspaceClientCapabilities(
            apply_edit=True, workspace_folders=True,
            workspace_edit=t.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=[t.ResourceOperationKind.Create])),
        text_document=t.TextDocumentClientCapabilities(
            hover=t.HoverClientCapabilities(content_format=list(hover_formats)),
            completion=t.CompletionClientCapabilities(completion_item=t.ClientCompletionItemOptions(
                snippet_support=False, documentation_format=[t.MarkupKind.Markdown],
                resolve_support=t.ClientCompletionItemResolveOptions(properties=["documentation"]))),
            code_action=t.CodeActionClientCapabilities(
                code_action_literal_support=t.ClientCodeActionLiteralOptions(
                    code_action_kind=t.ClientCodeActionKindOptions(value_set=list(t.CodeActionKind)))),
            publish_diagnostics=t.PublishDiagnosticsClientCapabilities(),
            definition=t.DefinitionClientCapabilities(),
            references=t.ReferenceClientCapabilities(),
            document_link=t.DocumentLinkClientCapabilities(tooltip_support=True),
        ),
        window=t.WindowClientCapabilities(show_document=t.ShowDocumentClientCapabilities(support=True),
                                          work_done_progress=progress),
    )


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def copy_examples(dest: Path, *names: str) -> Path:
    """Copy some of examples/ into a tmp workspace (the user's own files, as an editor would see them)."""
    dest.mkdir(parents=True, exist_ok=True)
    for n in names or ("draft.tex", "refs.bib", "train.py", "notes.md"):
        shutil.copy(EXAMPLES / n, dest / n)
    return dest


def _fix_code_action_decoding(client: LanguageClient) -> None:
    # lsprotocol decodes every codeAction item that has a "command" key as a Command (client-side bug).
    conv = client.protocol._converter
    conv.register_structure_hook(t.Command | t.CodeAction, lambda o, _: conv.structure(
        o, t.Command if isinstance(o.get("command"), str) else t.CodeAction))


def record_apply_edits(client: LanguageClient, *, write: bool = True) -> list[t.ApplyWorkspaceEditParams]:
    """Answer workspace/applyEdit like an editor (applying it to the files on disk), keeping each request."""
    seen: list[t.ApplyWorkspaceEditParams] = []

    @client.feature(t.WORKSPACE_APPLY_EDIT)
    def _apply(params: t.ApplyWorkspaceEditParams) -> t.ApplyWorkspaceEditResult:
        seen.append(params)
        if write:
            for ch in params.edit.document_changes or ():
                if isinstance(ch, t.CreateFile):
                    p = Path(to_fs_path(ch.uri) or "")
                    if not p.exists():
                        p.write_text("", encoding="utf-8")
                elif isinstance(ch, t.TextDocumentEdit):
                    p = Path(to_fs_path(ch.text_document.uri) or "")
                    p.write_text(apply_text_edits(p.read_text(encoding="utf-8"), ch.edits), encoding="utf-8")
        return t.ApplyWorkspaceEditResult(applied=True)

    return seen


async def start(client: LanguageClient, root: Path | None, cache: Path, *, offline: bool = True,
                caps: t.ClientCapabilities | None = None, **options: Any) -> t.InitializeResult:
    """initialize + initialized with an isolated cache dir (and offline unless asked otherwise)."""
    _fix_code_action_decoding(client)
    init = {"cacheDir": str(cache), "offline": offline, **options}
    folders = [t.WorkspaceFolder(uri=uri(root), name=root.name)] if root else None
    return await client.initialize_session(t.InitializeParams(
        capabilities=caps or capabilities(), workspace_folders=folders, root_uri=uri(root) if root else None,
        initialization_options=init))


async def start_with_bib(client: LanguageClient, tmp_path: Path, tex: str, bib: str) -> t.InitializeResult:
    """A workspace `ws` of paper.tex and library.bib under tmp_path, started with its own cache."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "paper.tex").write_text(tex, encoding="utf-8")
    (ws / "library.bib").write_text(bib, encoding="utf-8")
    return await start(client, ws, tmp_path / "cache")


async def complete_line_1(client: LanguageClient, uri: str, text: str, version: int = 2) -> list[str]:
    """Replace line 1 of an open document with `text` (didChange) and return the labels completed at its end."""
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[t.TextDocumentContentChangePartial(
            range=t.Range(start=t.Position(line=1, character=0), end=t.Position(line=1, character=99)),
            text=text)]))
    res = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=1, character=len(text))))
    assert isinstance(res, t.CompletionList)
    return [it.label for it in res.items]


async def complete_until(client: LanguageClient, uri: str, text: str, want: str, tries: int = 200) -> list[str]:
    """complete_line_1 until its labels hold `want` (the server reads a changed .bib on its own schedule), at most
    `tries` times 0.1 s; the last labels."""
    got: list[str] = []
    for _ in range(tries):
        got = await complete_line_1(client, uri, text)
        if want in got:
            break
        await asyncio.sleep(0.1)
    return got


def change(client: LanguageClient, uri: str, version: int, start: t.Position, end: t.Position, text: str) -> None:
    """One range edit (didChange) of an open document."""
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[t.TextDocumentContentChangePartial(range=t.Range(start=start, end=end), text=text)]))


def open_doc(client: LanguageClient, path: Path, language_id: str, text: str | None = None,
             version: int = 1) -> str:
    """didOpen for a file (its text on disk unless given); returns its URI."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    u = uri(path)
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=u, language_id=language_id, version=version, text=text)))
    return u


def find(text: str, needle: str, nth: int = 0, offset: int = 0) -> t.Position:
    """Position (UTF-16, the LSP default) of the nth occurrence of needle, plus offset characters."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return position_at(text, i + offset)


def position_at(text: str, i: int) -> t.Position:
    """Position (UTF-16) of the character at index i."""
    line = text.count("\n", 0, i)
    col = i - (text.rfind("\n", 0, i) + 1)
    before = text[i - col:i]
    return t.Position(line=line, character=len(before.encode("utf-16-le")) // 2)


def span(text: str, needle: str, nth: int = 0) -> t.Range:
    start = find(text, needle, nth)
    end = t.Position(line=start.line, character=start.character + len(needle.encode("utf-16-le")) // 2)
    return t.Range(start=start, end=end)


async def hover(client: LanguageClient, u: str, pos: t.Position) -> t.Hover | None:
    return await client.text_document_hover_async(t.HoverParams(text_document=t.TextDocumentIdentifier(uri=u),
                                                                position=pos))


async def send_raw_request(client: LanguageClient, method: str, params: Any, msg_id: str,
                           timeout: float = 10.0) -> Any:
    """A request exactly as given, bypassing the client's typed serialisation (which cannot send malformed
    params for a known method); the answer resolves through the client's own response handling."""
    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = fut
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)  # a server that never answers fails


def unescaped(h: t.Hover | None) -> str:
    """A hover's text with Markdown backslash escapes removed (what the user reads)."""
    assert h is not None and isinstance(h.contents, t.MarkupContent)
    return re.sub(r"\\(.)", r"\1", h.contents.value)


async def wait_until(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll (the server answers on its own schedule: notifications, debounced diagnostics)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def apply_text_edits(text: str, edits: Sequence[t.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 positions) to text, last first, as an editor would."""
    lines = text.split("\n")

    def offset(p: t.Position) -> int:
        base = sum(len(ln) + 1 for ln in lines[:p.line])
        if p.line >= len(lines):
            return len(text)
        units = lines[p.line].encode("utf-16-le")[: p.character * 2].decode("utf-16-le")
        return base + len(units)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        a, b = offset(e.range.start), offset(e.range.end)
        text = text[:a] + e.new_text + text[b:]
    return text
