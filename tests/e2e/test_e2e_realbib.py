"""Researchers' own material end to end: bad feed files never stop the server, non-UTF-8 .bib files are read
(and the encoding named), and every .bib key stays findable."""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from e2e_lsp import CONFIG, DRCT_TITLE, find, hover, open_doc, start, unescaped, uri, wait_until
from lsprotocol import types as t
from pytest_lsp import LanguageClient

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"

GBK_BIB = """@article{zhang2020deep,
  title = {深度学习图像超分辨率研究},
  author = {张三 and 李四},
  journal = {计算机学报},
  year = {2020}
}
"""

TEX = "DRCT keeps the features apart \\cite{zhang2020deep}.\nSee \\cite{zhang\n"


async def completion_labels(client: LanguageClient, u: str, pos: t.Position) -> list[str]:
    res = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=u), position=pos))
    assert isinstance(res, t.CompletionList)
    return [it.label for it in res.items]


@pytest_lsp.fixture(config=CONFIG)
async def bad_feeds_client(lsp_client: LanguageClient, tmp_path: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "paper.tex").write_text(TEX, encoding="utf-8")
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    (tmp_path / "adir.bib").mkdir()
    (tmp_path / "gbk.bib").write_bytes(GBK_BIB.encode("gbk"))
    feeds = [str(REALWORLD / "hf" / "not-hf-api-jsonfeed.json"), str(tmp_path / "missing.json"),
             str(tmp_path / "empty.json"), str(tmp_path / "adir.bib"), str(tmp_path / "gbk.bib")]
    await start(lsp_client, ws, tmp_path / "cache", feeds=feeds)
    yield
    await lsp_client.shutdown_session()


async def test_bad_feed_files_are_named_and_everything_else_works(bad_feeds_client: LanguageClient,
                                                                  tmp_path: Path):
    client = bad_feeds_client
    await wait_until(lambda: len(client.messages) >= 5, what="one showMessage per bad feed")
    msgs = [m.message for m in client.messages]
    by_file = {name: [m for m in msgs if name in m] for name in
               ("not-hf-api-jsonfeed.json", "missing.json", "empty.json", "adir.bib", "gbk.bib")}
    assert all(len(v) == 1 for v in by_file.values()), msgs
    assert "JSON Feed" in by_file["not-hf-api-jsonfeed.json"][0]
    assert "no such file" in by_file["missing.json"][0]
    assert "empty" in by_file["empty.json"][0]
    assert "directory" in by_file["adir.bib"][0]
    # The GBK file is read, not refused: the message says in which encoding.
    assert "read as gb18030" in by_file["gbk.bib"][0]

    u = open_doc(client, tmp_path / "ws" / "paper.tex", "latex")
    h = await hover(client, u, find(TEX, "DRCT", offset=1))
    assert h is not None and DRCT_TITLE in unescaped(h)
    h = await hover(client, u, find(TEX, "zhang2020deep", offset=2))
    assert h is not None and "深度学习图像超分辨率研究" in unescaped(h)
    assert "zhang2020deep" in await completion_labels(client, u, find(TEX, "{zhang", offset=6))


@pytest_lsp.fixture(config=CONFIG)
async def gbk_ws_client(lsp_client: LanguageClient, tmp_path: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "paper.tex").write_text(TEX, encoding="utf-8")
    (ws / "refs.bib").write_bytes(GBK_BIB.replace("\n", "\r\n").encode("gbk"))
    await start(lsp_client, ws, tmp_path / "cache")
    yield
    await lsp_client.shutdown_session()


async def test_workspace_bib_in_gbk_is_read_and_named(gbk_ws_client: LanguageClient, tmp_path: Path):
    client = gbk_ws_client
    await wait_until(lambda: client.messages, what="a showMessage about the encoding")
    assert [m.message for m in client.messages] == [
        f"PaperLens: {tmp_path / 'ws' / 'refs.bib'}: not UTF-8; read as gb18030"]
    u = open_doc(client, tmp_path / "ws" / "paper.tex", "latex")
    h = await hover(client, u, find(TEX, "zhang2020deep", offset=2))
    assert h is not None and "深度学习图像超分辨率研究" in unescaped(h) and "张三" in unescaped(h)
    loc = await client.text_document_definition_async(t.DefinitionParams(
        text_document=t.TextDocumentIdentifier(uri=u), position=find(TEX, "zhang2020deep", offset=2)))
    assert isinstance(loc, t.Location) and loc.uri == uri(tmp_path / "ws" / "refs.bib")
