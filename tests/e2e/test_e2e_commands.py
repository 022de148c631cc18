"""workspace/executeCommand end to end: search, openRepo, openPaper, status."""

from __future__ import annotations

import bibtexparser
import pytest
import pytest_lsp
from e2e_lsp import CONFIG, record_apply_edits, start
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

DRCT_REPO = "https://github.com/ming053l/DRCT"


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("commands-ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    lsp_client.seen_edits = record_apply_edits(lsp_client)  # type: ignore[attr-defined]
    res = await start(lsp_client, root, tmp_path_factory.mktemp("commands-cache"))
    lsp_client.commands = res.capabilities.execute_command_provider.commands  # type: ignore[attr-defined,union-attr]
    yield
    await lsp_client.shutdown_session()


async def run(client: LanguageClient, command: str, *args: object):
    return await client.workspace_execute_command_async(t.ExecuteCommandParams(command=command,
                                                                               arguments=list(args)))


async def test_commands_are_advertised(client: LanguageClient):
    assert set(client.commands) >= {  # type: ignore[attr-defined]
        "paperlens.search", "paperlens.openRepo", "paperlens.openPaper", "paperlens.addBibEntry",
        "paperlens.refresh", "paperlens.status"}


async def test_search_returns_ranked_dicts(client: LanguageClient):
    res = await run(client, "paperlens.search", "PrefixKV", 5)
    assert isinstance(res, list) and 1 <= len(res) <= 5
    first = res[0]
    assert {"key", "title", "method", "year", "authors", "upvotes", "repo", "paperUrl", "repoUrl"} <= first.keys()
    assert first["key"] == "prefixkv2024"
    assert first["title"].startswith("PrefixKV:")
    assert first["repoUrl"] == "https://github.com/THU-MIG/PrefixKV"
    assert len({r["key"] for r in res}) == len(res)


async def test_search_default_limit(client: LanguageClient):
    res = await run(client, "paperlens.search", "information bottleneck")
    assert 1 < len(res) <= 20
    assert "Information Bottleneck" in res[0]["title"] or "information bottleneck" in res[0]["title"].lower()


@pytest.mark.parametrize("target", ["DRCT", "drct2024", DRCT_REPO, "ming053l/DRCT"])
async def test_open_repo_by_name_key_or_url(client: LanguageClient, target: str):
    n = len(client.shown_documents)
    assert await run(client, "paperlens.openRepo", target) == {"opened": DRCT_REPO, "success": True}
    assert client.shown_documents[n:] == [t.ShowDocumentParams(uri=DRCT_REPO, external=True)]


async def test_open_repo_unknown(client: LanguageClient):
    n, m = len(client.shown_documents), len(client.messages)
    res = await run(client, "paperlens.openRepo", "no such method anywhere")
    assert res["success"] is False
    assert len(client.shown_documents) == n
    assert any("no such method anywhere" in x.message for x in client.messages[m:])


async def test_open_paper(client: LanguageClient):
    n = len(client.shown_documents)
    res = await run(client, "paperlens.openPaper", "PrefixKV")
    assert res["success"] is True and res["opened"].startswith("https://huggingface.co/papers")
    assert [d.uri for d in client.shown_documents[n:]] == [res["opened"]]


async def test_status(client: LanguageClient):
    res = await run(client, "paperlens.status")
    assert res["papers"] == 54
    assert res["state"] == "idle"
    assert res["source"].endswith("papers.json")


async def test_add_bib_entry_with_only_a_key(client: LanguageClient):
    """documentUri is optional: the entry goes to refs.bib at the workspace root."""
    res = await run(client, "paperlens.addBibEntry", "prefixkv2024")
    assert res["applied"] is True
    bib = client.root / "refs.bib"  # type: ignore[attr-defined]
    assert res["bib"] == bib.resolve().as_uri()
    assert [e.key for e in bibtexparser.parse_string(bib.read_text(encoding="utf-8")).entries] == ["prefixkv2024"]
    assert (await run(client, "paperlens.addBibEntry", "prefixkv2024"))["applied"] is False


async def test_add_bib_entry_unknown_key(client: LanguageClient):
    res = await run(client, "paperlens.addBibEntry", "nosuchkey1999", "file:///nowhere/x.tex")
    assert res["applied"] is False and "nosuchkey1999" in res["reason"]
