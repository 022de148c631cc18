"""A large feed's index is built in a child process: the server answers from what it has meanwhile (the shipped
snapshot here), swaps the new index in when the child is done, and a killed build keeps the good index."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_lsp import _ENV, SERVER_COMMAND, start
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

SHARED = Path(__file__).resolve().parents[3] / "shared" / "realworld"
SNAPSHOT_PAPERS = 54
FEED_PAPERS = 1500
# Any feed counts as large here, so that a small one exercises the child process (its size is only a threshold).
CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, server_env={
    **_ENV, "PAPERLENS_LOG": "WARNING", "PAPERLENS_BACKGROUND_BUILD_BYTES": "1000"})


def _feed(path: Path) -> Path:
    """FEED_PAPERS real HF items under new ids and titles; the last one is the only QuokkaNet paper."""
    real = json.loads((SHARED / "hf" / "daily_papers-2024-10-25.json").read_text(encoding="utf-8"))
    items = []
    for i in range(FEED_PAPERS):
        it = copy.deepcopy(real[i % len(real)])
        it["paper"]["id"] = f"2501.{i:05d}"
        it["paper"]["title"] = it["title"] = f"{it['paper']['title'].split(':')[0]} variant {i}: {it['title']}"
        items.append(it)
    items[-1]["paper"]["title"] = items[-1]["title"] = "QuokkaNet: burrowing attention for marsupial video"
    items[-1]["paper"]["summary"] = "We propose QuokkaNet, a burrowing attention scheme for marsupial video."
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def _listen(client: LanguageClient) -> tuple[list[dict[str, Any]], list[t.ShowMessageParams]]:
    statuses: list[dict[str, Any]] = []
    messages: list[t.ShowMessageParams] = []

    @client.feature("paperlens/status")
    def _status(params: Any) -> None:
        statuses.append({"papers": params.papers, "state": params.state})

    @client.feature(t.WINDOW_SHOW_MESSAGE)
    def _message(params: t.ShowMessageParams) -> None:
        messages.append(params)

    return statuses, messages


def _children(pid: int) -> list[tuple[int, str]]:
    """The child processes of pid and their command lines."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for c in (task / "children").read_text().split():
            try:
                cmd = Path(f"/proc/{c}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            out.append((int(c), cmd))
    return out


def _rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _until(pred: Any, timeout: float = 180) -> None:
    t0 = time.monotonic()
    while not pred():
        assert time.monotonic() - t0 < timeout, "timed out"
        await asyncio.sleep(0.05)


async def _search(client: LanguageClient, query: str) -> list[dict[str, Any]]:
    res = await client.workspace_execute_command_async(t.ExecuteCommandParams(
        command="paperlens.search", arguments=[query, 5]))
    return list(res)


async def _status(client: LanguageClient) -> dict[str, Any]:
    return dict(await client.workspace_execute_command_async(t.ExecuteCommandParams(command="paperlens.status")))


@pytest.mark.asyncio
async def test_server_answers_during_the_build_and_swaps_the_new_index_in(tmp_path: Path) -> None:
    feed = _feed(tmp_path / "feed.json")
    client = LanguageClient()
    await client.start_io(*CONFIG.server_command, env=CONFIG.server_env)
    try:
        statuses, messages = _listen(client)
        await start(client, None, tmp_path / "cache", feeds=[str(feed)])
        server = client._server
        assert server is not None
        # Initialize answered before the feed's index exists: the shipped snapshot answers meanwhile.
        st = await _status(client)
        assert st == {**st, "papers": SNAPSHOT_PAPERS, "state": "refreshing"}
        assert (await _search(client, "DRCT"))[0]["title"].startswith("DRCT")
        assert await _search(client, "QuokkaNet") == []
        builders = [c for c in _children(server.pid) if "paperlens.library.background" in c[1]]
        assert len(builders) == 1, _children(server.pid)
        assert (await _status(client))["state"] == "refreshing"  # (those answers came while it was building)

        await _until(lambda: any(s["papers"] == SNAPSHOT_PAPERS + FEED_PAPERS for s in statuses))
        assert statuses[-1] == {"papers": SNAPSHOT_PAPERS + FEED_PAPERS, "state": "idle"}
        hits = await _search(client, "QuokkaNet")
        assert hits and hits[0]["title"].startswith("QuokkaNet")
        assert (await _search(client, "DRCT"))[0]["title"].startswith("DRCT")
        assert not [m for m in messages if m.type == t.MessageType.Error], [m.message for m in messages]
        # The build's memory was the child's: the server holds the memory-mapped index, not the build's peak.
        assert _rss_peak_mb(server.pid) < 400
        assert not [c for c in _children(server.pid) if "paperlens.library.background" in c[1]]
    finally:
        await client.shutdown_session()

    # Started again: the built index opens at once, no child process.
    client = LanguageClient()
    await client.start_io(*CONFIG.server_command, env=CONFIG.server_env)
    try:
        await start(client, None, tmp_path / "cache", feeds=[str(feed)])
        assert await _status(client) == {**(await _status(client)), "papers": SNAPSHOT_PAPERS + FEED_PAPERS,
                                         "state": "idle"}
        assert client._server is not None
        assert not [c for c in _children(client._server.pid) if "paperlens.library.background" in c[1]]
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_a_killed_build_keeps_the_index_and_names_the_feed(tmp_path: Path) -> None:
    feed = _feed(tmp_path / "big-feed.json")
    client = LanguageClient()
    await client.start_io(*CONFIG.server_command, env=CONFIG.server_env)
    try:
        statuses, messages = _listen(client)
        await start(client, None, tmp_path / "cache", feeds=[str(feed)])
        assert client._server is not None
        builders = [pid for pid, cmd in _children(client._server.pid) if "paperlens.library.background" in cmd]
        assert len(builders) == 1
        os.kill(builders[0], 9)
        await _until(lambda: any(m.type == t.MessageType.Error for m in messages))
        errors = [m.message for m in messages if m.type == t.MessageType.Error]
        assert len(errors) == 1
        assert str(feed) in errors[0] and "SIGKILL" in errors[0] and f"{SNAPSHOT_PAPERS} papers" in errors[0]
        await _until(lambda: bool(statuses) and statuses[-1]["state"] == "idle")
        assert await _status(client) == {**(await _status(client)), "papers": SNAPSHOT_PAPERS, "state": "idle"}
        assert (await _search(client, "DRCT"))[0]["title"].startswith("DRCT")
        assert [d for d in (tmp_path / "cache").glob("index-*") if ".tmp" not in d.name] == []  # nothing half-built
    finally:
        await client.shutdown_session()
