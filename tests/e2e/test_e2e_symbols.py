"""workspace/symbol end to end: a quick-open query finds papers by method name."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, copy_examples, start, uri
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_examples(tmp_path_factory.mktemp("symbols-ws"), "refs.bib")


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("symbols-cache"))
    yield
    await lsp_client.shutdown_session()


async def symbols(client: LanguageClient, query: str) -> list[t.WorkspaceSymbol | t.SymbolInformation]:
    res = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query=query))
    return list(res or [])


async def test_prefixkv(client: LanguageClient):
    res = await symbols(client, "PrefixKV")
    assert res
    first = res[0]
    assert first.name.startswith("PrefixKV")
    assert first.kind == t.SymbolKind.Class
    assert first.container_name == "prefixkv2024"
    assert first.location.uri == "https://github.com/THU-MIG/PrefixKV"  # not in refs.bib: its repo


async def test_a_paper_in_the_bib_points_at_its_entry(client: LanguageClient, ws: Path):
    res = await symbols(client, "DRCT")
    assert res and res[0].name.startswith("DRCT")
    loc = res[0].location
    assert loc.uri == uri(ws / "refs.bib")
    lines = (ws / "refs.bib").read_text(encoding="utf-8").split("\n")
    assert isinstance(loc, t.Location)
    assert lines[loc.range.start.line].startswith("@misc{hsu2024drct")


async def test_empty_query(client: LanguageClient):
    assert await symbols(client, "") == []
