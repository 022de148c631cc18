"""Life cycle end to end: bad settings are named and survived; refresh with progress against a loopback
GitHub/HF server swaps in the new index; a failing refresh keeps the old one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest_lsp
from e2e_lsp import CONFIG, DRCT_TITLE, find, hover, open_doc, start, unescaped, wait_until
from lsprotocol import types as t
from pytest_lsp import LanguageClient

from support.fixture_server import FixtureServer

TEX = "DRCT keeps the features apart \\cite{nosuchkey2020}.\n"
PY = "from drct.archs.DRCT_arch import DRCT\n\nnet = DRCT_arch.DRCT()\n"

DAILY = [
    {"paper": {"id": "2404.00722", "title": DRCT_TITLE, "summary": "Dense residual connected transformer.",
               "authors": [{"name": "Chih-Chung Hsu"}, {"name": "Chia-Ming Lee"}],
               "publishedAt": "2024-03-31T00:00:00.000Z", "upvotes": 7,
               "githubRepo": "https://github.com/ming053l/DRCT"},
     "publishedAt": "2024-04-01T00:00:00.000Z", "title": DRCT_TITLE},
    {"paper": {"id": "2501.01234", "title": "QuokkaNet: Small Marsupial Networks for Everything",
               "summary": "We propose QuokkaNet.", "authors": [{"name": "A. Person"}],
               "publishedAt": "2025-01-02T00:00:00.000Z", "upvotes": 3},
     "publishedAt": "2025-01-03T00:00:00.000Z", "title": "QuokkaNet: Small Marsupial Networks for Everything"},
]


def workspace(root: Path) -> Path:
    (root / "paper.tex").write_text(TEX, encoding="utf-8")
    (root / "train.py").write_text(PY, encoding="utf-8")
    return root


async def run(client: LanguageClient, command: str, *args: object):
    return await client.workspace_execute_command_async(t.ExecuteCommandParams(command=command,
                                                                               arguments=list(args)))


# -- invalid settings ---------------------------------------------------------------------------------------


@pytest_lsp.fixture(config=CONFIG)
async def bad_settings_client(lsp_client: LanguageClient, tmp_path: Path):
    (tmp_path / "ws").mkdir()
    root = workspace(tmp_path / "ws")
    await start(lsp_client, root, tmp_path / "cache", offline="yes", diagnostics={"unknownKey": "loud"})
    yield
    await lsp_client.shutdown_session()


async def test_invalid_settings_are_named_and_the_server_keeps_working(bad_settings_client: LanguageClient,
                                                                       tmp_path: Path):
    client = bad_settings_client
    await wait_until(lambda: len(client.messages) >= 2, what="two showMessage warnings")
    text = "\n".join(m.message for m in client.messages)
    assert "paperlens.offline" in text and "'yes'" in text
    assert "paperlens.diagnostics.unknownKey" in text and "'loud'" in text
    assert all(m.type == t.MessageType.Warning for m in client.messages)

    u = open_doc(client, tmp_path / "ws" / "paper.tex", "latex")
    h = await hover(client, u, find(TEX, "DRCT", offset=1))
    assert h is not None and DRCT_TITLE in unescaped(h)
    # The bad value fell back to the default ("warning").
    diags = await wait_until(lambda: client.diagnostics.get(u), what="diagnostics")
    assert any("nosuchkey2020" in d.message and d.severity == t.DiagnosticSeverity.Warning for d in diags)

    n = len(client.messages)
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings={"paperlens": {
        "cacheDir": str(tmp_path / "cache"), "offline": True, "citeCommands": "mycite"}}))
    await wait_until(lambda: len(client.messages) > n, what="a showMessage for citeCommands")
    assert "paperlens.citeCommands" in client.messages[-1].message
    assert await hover(client, u, find(TEX, "DRCT", offset=1)) is not None


# -- refresh --------------------------------------------------------------------------------------------------


@pytest_lsp.fixture(config=CONFIG)
async def online_client(lsp_client: LanguageClient, fixture_server: FixtureServer, tmp_path: Path):
    fixture_server.hf_routes["/api/daily_papers"] = DAILY
    root = tmp_path / "ws"
    root.mkdir()
    workspace(root)
    await start(lsp_client, root, tmp_path / "cache", offline=False, githubBaseUrl=fixture_server.base_url,
                hfBaseUrl=fixture_server.base_url)
    yield
    await lsp_client.shutdown_session()


def progress_kinds(client: LanguageClient) -> list[list[str]]:
    return [[type(v).__name__ for v in values] for values in client.progress_reports.values()]


async def test_refresh_with_progress_then_hover_on_a_repo_identifier(online_client: LanguageClient,
                                                                     fixture_server: FixtureServer, tmp_path: Path):
    client = online_client
    u = open_doc(client, tmp_path / "ws" / "train.py", "python")
    before = await hover(client, u, find(PY, "DRCT_arch.DRCT", offset=6))
    assert before is None  # the shipped snapshot knows nothing of the repo's modules

    summary = await run(client, "paperlens.refresh")
    assert summary["saved"] is True
    assert summary["feedsOk"] == 1
    assert summary["papers"] == 55  # QuokkaNet is new; DRCT merged into the snapshot's entry
    assert summary["reposFetched"] >= 1
    assert fixture_server.requests_to("/api/daily_papers")
    assert fixture_server.requests_to("/repos/ming053l/DRCT")

    [kinds] = progress_kinds(client)
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert "WorkDoneProgressReport" in kinds

    h = await hover(client, u, find(PY, "DRCT_arch.DRCT", offset=6))
    assert h is not None
    assert DRCT_TITLE in unescaped(h)
    assert "Jupyter Notebook" in h.contents.value
    status = await run(client, "paperlens.status")
    assert status == {"papers": 55, "state": "idle", "source": str(tmp_path / "cache" / "library.json")}


async def test_refresh_counts_only_new_papers_as_new(online_client: LanguageClient):
    summary = await run(online_client, "paperlens.refresh")
    assert summary["papers"] == 55
    assert summary["newPapers"] == 1  # QuokkaNet only


@pytest_lsp.fixture(config=CONFIG)
async def failing_client(lsp_client: LanguageClient, fixture_server: FixtureServer, tmp_path: Path):
    root = tmp_path / "ws"
    root.mkdir()
    workspace(root)
    # A library from an earlier refresh: one paper, one repo (keeps the failing refresh's retries short).
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "library.json").write_text(json.dumps({"version": 1, "papers": [
        {"title": DRCT_TITLE, "repo": "ming053l/DRCT", "date": "2024-03-31", "source": "json:earlier"}],
        "repos": []}), encoding="utf-8")
    fixture_server.fail_next(200)
    await start(lsp_client, root, cache, offline=False, githubBaseUrl=fixture_server.base_url,
                hfBaseUrl=fixture_server.base_url)
    yield
    await lsp_client.shutdown_session()


async def test_failing_refresh_keeps_the_old_index(failing_client: LanguageClient, fixture_server: FixtureServer,
                                                   tmp_path: Path):
    client = failing_client
    summary = await run(client, "paperlens.refresh")
    assert summary["saved"] is False
    assert fixture_server.requests  # it did try
    assert fixture_server.requests_to("/api/daily_papers") and fixture_server.requests_to("/repos/ming053l/DRCT")
    [kinds] = progress_kinds(client)
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    u = open_doc(client, tmp_path / "ws" / "paper.tex", "latex")
    h = await hover(client, u, find(TEX, "DRCT", offset=1))
    assert h is not None and DRCT_TITLE in unescaped(h)
    assert (await run(client, "paperlens.status"))["papers"] == 1
    assert json.loads((tmp_path / "cache" / "library.json").read_text(encoding="utf-8"))["papers"][0]["source"] \
        == "json:earlier"
