"""Issue 11 end to end, over stdio: tokens stay on their hosts, writes stay in the workspace, links stay on the
allowed hosts. Each test sets up a hostile workspace the way a cloned repository could."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import bibtexparser
import pytest
import pytest_lsp
from e2e_lsp import _ENV, SERVER_COMMAND, find, hover, open_doc, record_apply_edits, start, uri, wait_until
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

from paperlens.core.urls import safe_url
from support.fixture_server import FixtureServer

CANARY = "ghp_CANARYcanaryCANARY0123456789abcdef"
TOKEN_CONFIG = ClientServerConfig(server_command=SERVER_COMMAND,
                                  server_env={**_ENV, "GITHUB_TOKEN": CANARY, "HF_TOKEN": CANARY,
                                              "PAPERLENS_LOG": "WARNING"})
LINK = re.compile(r"(?<!\\)\]\(([^)]*)\)")  # an escaped "\](" is text, not a link


def links_in(markdown: str) -> list[str]:
    return LINK.findall(markdown)


async def run(client: LanguageClient, command: str, *args: object):
    return await client.workspace_execute_command_async(t.ExecuteCommandParams(command=command,
                                                                               arguments=list(args)))


# ------------------------------------------------------------------ 1: tokens


@pytest_lsp.fixture(config=TOKEN_CONFIG)
async def token_client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_workspace_base_urls_with_refresh_on_start_get_no_token(token_client: LanguageClient, tmp_path: Path,
                                                                      fixture_server: FixtureServer):
    """A cloned repository's settings point both base URLs at another host and refresh at start."""
    fixture_server.hf_routes["/api/daily_papers"] = lambda q: []
    await start(token_client, tmp_path, tmp_path / "cache", offline=False, refreshOnStart=True,
                githubBaseUrl=fixture_server.base_url, hfBaseUrl=fixture_server.base_url)
    await wait_until(lambda: fixture_server.requests, what="the refresh's first request")
    for _ in range(300):  # the refresh runs in the background; wait for it to finish
        if (await run(token_client, "paperlens.status"))["state"] == "idle":
            break
        await asyncio.sleep(0.1)
    assert fixture_server.requests
    assert all("authorization" not in r.headers for r in fixture_server.requests)
    assert all(CANARY not in json.dumps(r.headers) for r in fixture_server.requests)
    assert all(CANARY not in p.read_text(errors="replace") for p in (tmp_path / "cache").rglob("*") if p.is_file())


# ------------------------------------------------------------------ 3, 4: writes


BIB = "@article{tishby2000information,\n  title = {The information bottleneck method},\n  year = {2000}\n}\n"
TEX = "\\documentclass{article}\n\\begin{document}\nDRCT keeps the features.\n\\bibliography{refs}\n\\end{document}\n"


@pytest_lsp.fixture(config=TOKEN_CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_entry_goes_after_an_entry_another_tool_prepended(client: LanguageClient, tmp_path: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "refs.bib").write_text(BIB, encoding="utf-8")
    (ws / "paper.tex").write_text(TEX, encoding="utf-8")
    seen = record_apply_edits(client)
    await start(client, ws, tmp_path / "cache")
    open_doc(client, ws / "paper.tex", "latex")
    # Zotero re-exports: a new entry with a long abstract now comes first. The server is not told.
    prepended = "@misc{zotero2024x,\n  title = {X},\n  abstract = {" + "words " * 300 + "}\n}\n\n" + BIB
    (ws / "refs.bib").write_text(prepended, encoding="utf-8")
    res = await run(client, "paperlens.addBibEntry", "drct2024", uri(ws / "paper.tex"))
    assert res["applied"] is True
    text = (ws / "refs.bib").read_text(encoding="utf-8")
    assert text.startswith(prepended)
    assert [e.key for e in bibtexparser.parse_string(text).entries] == ["zotero2024x", "tishby2000information",
                                                                          "drct2024"]
    # Added again (the server's view may be stale): no duplicate.
    res = await run(client, "paperlens.addBibEntry", "drct2024", uri(ws / "paper.tex"))
    assert res["applied"] is False
    assert len(seen) == 1


@pytest.mark.parametrize(("setting", "doc", "name"), [
    ("{tmp}/.bashrc", TEX, "paper.tex"),
    ("../../x.bib", TEX, "paper.tex"),
    ("notes.sh", TEX, "paper.tex"),
    ("", TEX.replace("{refs}", "{../../x}"), "paper.tex"),
    ("", TEX.replace("\\bibliography{refs}", "\\addbibresource{{tmp}/abs.bib}"), "paper.tex"),
    ("", "---\nbibliography: {tmp}/front.bib\n---\n\nDRCT keeps the features.\n", "notes.md"),
])
async def test_writes_outside_the_workspace_are_refused(client: LanguageClient, tmp_path: Path, setting: str,
                                                        doc: str, name: str):
    ws = tmp_path / "a" / "b" / "ws"
    ws.mkdir(parents=True)
    (tmp_path / ".bashrc").write_text("echo hi\n", encoding="utf-8")
    doc = doc.replace("{tmp}", str(tmp_path))
    (ws / name).write_text(doc, encoding="utf-8")
    seen = record_apply_edits(client)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    await start(client, ws, tmp_path / "cache", bibFile=setting.replace("{tmp}", str(tmp_path)))
    open_doc(client, ws / name, "markdown" if name.endswith(".md") else "latex")
    res = await run(client, "paperlens.addBibEntry", "drct2024", uri(ws / name))
    assert res["applied"] is False and "not writing to" in res["reason"]
    assert seen == []  # no edit was even proposed
    # The code actions offer no .bib write either.
    actions = await client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(ws / name)),
        range=t.Range(start=find(doc, "DRCT", offset=1), end=find(doc, "DRCT", offset=1)),
        context=t.CodeActionContext(diagnostics=[])))
    assert actions
    for a in actions:
        assert isinstance(a, t.CodeAction)
        assert not a.title.startswith("Add BibTeX entry")
        assert a.command is None or a.command.command != "paperlens.addBibEntry"
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "cache" not in p.parts}
    assert after == {p: b for p, b in before.items() if "cache" not in p.parts}


# ------------------------------------------------------------------ 5: links


HOSTILE_BIB = r"""@misc{evil`key,
  title = {Evil One},
  url = {command:workbench.action.terminal.new},
  year = {2024}
}
@misc{evil2024two,
  title = {Evil Two)](command:x) <img src=x onerror=alert(1)>},
  url = {https://github.com/a)
<img src=x onerror=alert(1)>},
  year = {2024}
}
@misc{evil2024three,
  title = {Evil Three},
  url = {http://evil.example/x},
  year = {2024}
}
"""


async def test_cards_link_only_to_allowed_hosts(client: LanguageClient, tmp_path: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "refs.bib").write_text(HOSTILE_BIB, encoding="utf-8")
    text = "\\cite{evil`key} \\cite{evil2024two} \\cite{evil2024three}\n"
    (ws / "p.tex").write_text(text, encoding="utf-8")
    await start(client, ws, tmp_path / "cache")
    u = open_doc(client, ws / "p.tex", "latex")
    for key in ("evil`key", "evil2024two", "evil2024three"):
        h = await hover(client, u, find(text, key, offset=2))
        assert h is not None and isinstance(h.contents, t.MarkupContent)
        md = h.contents.value
        # An ordinary .bib entry has no paper page to link to (no made-up HF search link, issue 10): whatever
        # links the card has go to allowed hosts only.
        for target in links_in(md):
            assert safe_url(target) == target, (key, target)
        outside_code = re.sub(r"(?<![\\`])(`+)(?!`).*?(?<!`)\1(?!`)", "", md, flags=re.S)
        assert not re.search(r"(?<!\\)<", outside_code), md  # no HTML: every < is escaped or in a code span
        assert not re.search(r"(?<!\\)\]\((command|http:)", md), md
    assert "`http://evil.example/x`" in md  # shown, as text
    h = await hover(client, u, find(text, "evil`key", offset=2))
    assert h is not None and isinstance(h.contents, t.MarkupContent)
    assert "`` evil`key ``" in h.contents.value  # the key stays inside its code span
    # openPaper never asks the editor to open a URL off the allow-list.
    # (These .bib entries have no allowed page at all; a feed paper's page is opened, for contrast.)
    for key in ("evil`key", "evil2024two", "evil2024three", "drct2024"):
        await run(client, "paperlens.openPaper", key)
    assert [d.uri for d in client.shown_documents] == [
        "https://huggingface.co/papers?q=DRCT%3A%20Saving%20Image%20Super-resolution%20away%20from%20Information"
        "%20Bottleneck"]
    assert all(safe_url(d.uri) == d.uri for d in client.shown_documents)
