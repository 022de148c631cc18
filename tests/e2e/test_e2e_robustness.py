"""Robustness end to end: UTF-16 and UTF-8 positions, incremental edits, unknown documents, malformed
requests and cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import (
    CONFIG,
    DRCT_TITLE,
    capabilities,
    find,
    hover,
    open_doc,
    send_raw_request,
    start,
    unescaped,
    uri,
)
from lsprotocol import types as t
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

LINE = "Týr-the-Pruner 😀 DRCT keeps the features."
TEXT = f"{LINE}\nSee \\cite{{glo\n"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("robust-ws")
    (root / "uni.tex").write_text(TEXT, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    res = await start(lsp_client, ws, tmp_path_factory.mktemp("robust-cache"))
    lsp_client.encoding = res.capabilities.position_encoding  # type: ignore[attr-defined]
    open_doc(lsp_client, ws / "uni.tex", "latex")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def utf8_client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    res = await start(lsp_client, ws, tmp_path_factory.mktemp("robust-utf8-cache"),
                      caps=capabilities(encodings=[t.PositionEncodingKind.Utf8]))
    lsp_client.encoding = res.capabilities.position_encoding  # type: ignore[attr-defined]
    open_doc(lsp_client, ws / "uni.tex", "latex")
    yield
    await lsp_client.shutdown_session()


def units(s: str, encoding: str) -> int:
    return len(s.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(s.encode("utf-8"))


async def check_positions_after_non_ascii(c: LanguageClient, ws: Path, encoding: str) -> None:
    before = LINE[: LINE.index("DRCT")]
    start_col = units(before, encoding)
    assert start_col != len(before)  # the test means something only if the units differ from code points
    h = await hover(c, uri(ws / "uni.tex"), t.Position(line=0, character=start_col + 2))
    assert h is not None
    assert DRCT_TITLE in unescaped(h)
    assert h.range == t.Range(start=t.Position(line=0, character=start_col),
                              end=t.Position(line=0, character=start_col + 4))
    # The method name with the non-ASCII letter is found too, with its own range.
    h = await hover(c, uri(ws / "uni.tex"), t.Position(line=0, character=1))
    assert h is not None and "Týr-the-Pruner" in unescaped(h)
    assert h.range.start.character == 0 and h.range.end.character == units("Týr-the-Pruner", encoding)


async def test_utf16_positions(client: LanguageClient, ws: Path):
    assert client.encoding in (None, t.PositionEncodingKind.Utf16)  # type: ignore[attr-defined]
    await check_positions_after_non_ascii(client, ws, "utf-16")


async def test_utf8_negotiated_when_the_client_offers_only_utf8(utf8_client: LanguageClient, ws: Path):
    assert utf8_client.encoding == t.PositionEncodingKind.Utf8  # type: ignore[attr-defined]
    await check_positions_after_non_ascii(utf8_client, ws, "utf-8")


async def test_incremental_change_shifts_the_mention(client: LanguageClient, ws: Path):
    u = uri(ws / "tracked.tex")
    text = "Intro.\nWe use DRCT here.\n"
    open_doc(client, ws / "tracked.tex", "latex", text)
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=u, version=2),
        content_changes=[t.TextDocumentContentChangePartial(
            range=t.Range(start=t.Position(line=1, character=3), end=t.Position(line=1, character=3)),
            text="🙂 happily ")]))
    new = "Intro.\nWe 🙂 happily use DRCT here.\n"
    pos = find(new, "DRCT", offset=1)
    h = await hover(client, u, pos)
    assert h is not None and DRCT_TITLE in unescaped(h)
    assert h.range.start == find(new, "DRCT")
    # The old position now points at other words.
    assert await hover(client, u, find(text, "DRCT", offset=1)) is None


async def test_hover_on_unknown_and_closed_documents(client: LanguageClient, ws: Path):
    assert await hover(client, uri(ws / "never-opened.tex"), t.Position(line=0, character=0)) is None
    u = open_doc(client, ws / "closing.tex", "latex", "DRCT\n")
    assert await hover(client, u, t.Position(line=0, character=1)) is not None
    client.text_document_did_close(t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=u)))
    assert await hover(client, u, t.Position(line=0, character=1)) is None
    # A position past the end of the document.
    assert await hover(client, uri(ws / "uni.tex"), t.Position(line=99, character=3)) is None


async def test_malformed_params_get_an_error_and_the_server_goes_on(client: LanguageClient, ws: Path):
    with pytest.raises(JsonRpcInvalidParams):  # no textDocument
        await send_raw_request(client, t.TEXT_DOCUMENT_HOVER, {"position": {"line": 0, "character": 1}}, "bad-1")
    with pytest.raises(JsonRpcInvalidParams):  # a position that is not one
        await send_raw_request(client, t.TEXT_DOCUMENT_HOVER, {"textDocument": {"uri": uri(ws / "uni.tex")},
                                                               "position": {"line": "x"}}, "bad-2")
    with pytest.raises(JsonRpcException):  # a command without its argument
        await client.protocol.send_request_async(t.WORKSPACE_EXECUTE_COMMAND, t.ExecuteCommandParams(
            command="paperlens.openRepo", arguments=[]))
    h = await hover(client, uri(ws / "uni.tex"), find(TEXT, "DRCT", offset=1))
    assert h is not None and DRCT_TITLE in unescaped(h)


async def test_cancelled_completion(client: LanguageClient, ws: Path):
    params = t.CompletionParams(text_document=t.TextDocumentIdentifier(uri=uri(ws / "uni.tex")),
                                position=find(TEXT, r"\cite{glo", offset=len(r"\cite{glo")))
    fut = asyncio.ensure_future(client.protocol.send_request_async(t.TEXT_DOCUMENT_COMPLETION, params,
                                                                   msg_id="cancel-me"))
    await asyncio.sleep(0)
    client.cancel_request(t.CancelParams(id="cancel-me"))
    try:
        res = await fut
    except JsonRpcRequestCancelled:
        pass
    else:  # the server finished first: a normal answer
        assert res is not None and res.items
    # Still alive and answering.
    res = await client.text_document_completion_async(params)
    assert res is not None and res.items[0].label == "glocalib2025"
