"""textDocument/codeAction end to end: cite this, related work, open the repo, add the BibTeX entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, DRCT_TITLE, apply_text_edits, find, open_doc, record_apply_edits, start, uri
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEX = r"""\documentclass{article}
\begin{document}
Transformer super-resolution saturates early: DRCT keeps the features.
The rest of this sentence is plain.
\bibliography{refs}
\end{document}
"""
MD = "# Notes\n\nDRCT keeps the features apart.\n"
PY = "import torch\n\nmodel = DRCT(upscale=4)\n"
BIB = """@article{tishby2000information,
  title   = {The information bottleneck method},
  author  = {Tishby, Naftali and Pereira, Fernando C. and Bialek, William},
  year    = {2000}
}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("actions-ws")
    (root / "paper.tex").write_text(TEX, encoding="utf-8")
    (root / "notes.md").write_text(MD, encoding="utf-8")
    (root / "model.py").write_text(PY, encoding="utf-8")
    (root / "refs.bib").write_text(BIB, encoding="utf-8")
    # A feed that knows DRCT's arXiv id (the shipped snapshot has none): the code comment links the paper.
    feed = {"version": 1, "papers": [{"title": DRCT_TITLE, "arxiv_id": "2404.00722", "repo": "ming053l/DRCT",
                                      "source": "json:test"}]}
    (root.parent / "actions-feed.json").write_text(json.dumps(feed), encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("actions-cache"), feeds=[str(ws.parent / "actions-feed.json")])
    lsp_client.applied = record_apply_edits(lsp_client, write=False)  # type: ignore[attr-defined]
    open_doc(lsp_client, ws / "paper.tex", "latex")
    open_doc(lsp_client, ws / "notes.md", "markdown")
    open_doc(lsp_client, ws / "model.py", "python")
    yield
    await lsp_client.shutdown_session()


async def actions_at(client: LanguageClient, path: Path, pos: t.Position) -> list[t.CodeAction]:
    res = await client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(path)), range=t.Range(start=pos, end=pos),
        context=t.CodeActionContext(diagnostics=[])))
    assert res is not None
    assert all(isinstance(a, t.CodeAction) for a in res)
    return [a for a in res if isinstance(a, t.CodeAction)]


def cite_action(actions: list[t.CodeAction]) -> tuple[t.CodeAction, str]:
    found = [(a, m.group(1)) for a in actions if (m := re.fullmatch(r"Cite DRCT \((\S+)\)", a.title))]
    assert len(found) == 1, [a.title for a in actions]
    return found[0]


def edits_for(action: t.CodeAction, target: str) -> list[t.TextEdit]:
    assert action.edit is not None and action.edit.document_changes is not None
    out: list[t.TextEdit] = []
    for ch in action.edit.document_changes:
        if isinstance(ch, t.TextDocumentEdit) and ch.text_document.uri == target:
            out.extend(e for e in ch.edits if isinstance(e, t.TextEdit))
    return out


async def test_cite_in_latex_inserts_the_citation_after_the_mention(client: LanguageClient, ws: Path):
    actions = await actions_at(client, ws / "paper.tex", find(TEX, "DRCT keeps", offset=1))
    action, key = cite_action(actions)
    assert action.kind == t.CodeActionKind.QuickFix
    assert action.is_preferred
    new = apply_text_edits(TEX, edits_for(action, uri(ws / "paper.tex")))
    assert f"early: DRCT~\\cite{{{key}}} keeps the features." in new
    assert new.replace(f"~\\cite{{{key}}}", "", 1) == TEX
    # The key is not in refs.bib yet: the action's command appends the entry there, computed when it runs.
    assert edits_for(action, uri(ws / "refs.bib")) == []
    bib = await run_add_entry(client, action, key, ws)
    assert bib.startswith(BIB) and f"{{{key}," in bib[len(BIB):]


async def run_add_entry(client: LanguageClient, action: t.CodeAction, key: str, ws: Path) -> str:
    """Run the action's add-entry command like an editor; the .bib text it would produce (disk unchanged)."""
    cmd = action.command
    assert cmd is not None and cmd.command == "paperlens.addBibEntry"
    assert list(cmd.arguments or ()) == [key, uri(ws / "paper.tex")]
    seen = client.applied  # type: ignore[attr-defined]
    res = await client.workspace_execute_command_async(t.ExecuteCommandParams(command=cmd.command,
                                                                              arguments=list(cmd.arguments or ())))
    assert res == {"applied": True, "bib": uri(ws / "refs.bib")}
    changes = seen[-1].edit.document_changes or ()
    edits = [e for ch in changes if isinstance(ch, t.TextDocumentEdit) and ch.text_document.uri == uri(ws / "refs.bib")
             for e in ch.edits if isinstance(e, t.TextEdit)]
    return apply_text_edits(BIB, edits)


async def test_cite_in_markdown(client: LanguageClient, ws: Path):
    action, key = cite_action(await actions_at(client, ws / "notes.md", find(MD, "DRCT", offset=2)))
    new = apply_text_edits(MD, edits_for(action, uri(ws / "notes.md")))
    assert f"DRCT [@{key}] keeps the features apart." in new


async def test_cite_in_python_adds_a_comment_with_the_paper_url(client: LanguageClient, ws: Path):
    action, _ = cite_action(await actions_at(client, ws / "model.py", find(PY, "DRCT(", offset=1)))
    edits = edits_for(action, uri(ws / "model.py"))
    new = apply_text_edits(PY, edits)
    line = new.split("\n")[2]
    assert line.startswith("model = DRCT(upscale=4)  # ")
    assert "https://arxiv.org/abs/2404.00722" in line
    # Code gets no .bib edit.
    assert edits_for(action, uri(ws / "refs.bib")) == []


async def test_related_actions(client: LanguageClient, ws: Path):
    actions = await actions_at(client, ws / "paper.tex", find(TEX, "DRCT keeps", offset=1))
    related = [a for a in actions if a.title.startswith("Related: ")]
    assert 1 <= len(related) <= 5
    assert all(a.edit is not None for a in related)
    assert all(DRCT_TITLE not in a.title for a in related)


async def test_open_repo_action_asks_the_editor_to_open_github(client: LanguageClient, ws: Path):
    actions = await actions_at(client, ws / "paper.tex", find(TEX, "DRCT keeps", offset=1))
    [action] = [a for a in actions if a.title == "Open ming053l/DRCT on GitHub"]
    assert action.command is not None
    # Every action has a real kind or none: "" is no kind a client can group or filter by.
    assert all(a.kind is None or a.kind != "" for a in actions)
    assert action.kind is None
    n = len(client.shown_documents)
    res = await client.workspace_execute_command_async(t.ExecuteCommandParams(
        command=action.command.command, arguments=list(action.command.arguments or ())))
    assert res == {"opened": "https://github.com/ming053l/DRCT", "success": True}
    assert client.shown_documents[n:] == [t.ShowDocumentParams(uri="https://github.com/ming053l/DRCT",
                                                               external=True)]


async def test_add_bibtex_entry_action(client: LanguageClient, ws: Path):
    actions = await actions_at(client, ws / "paper.tex", find(TEX, "DRCT keeps", offset=1))
    _, key = cite_action(actions)
    [action] = [a for a in actions if a.title == f"Add BibTeX entry for {key} to refs.bib"]
    assert action.edit is None
    bib = await run_add_entry(client, action, key, ws)
    assert bib.startswith(BIB)
    assert re.search(r"@\w+\{" + re.escape(key) + ",", bib[len(BIB):])
    assert "DRCT" in bib[len(BIB):]


async def test_no_actions_on_plain_words(client: LanguageClient, ws: Path):
    assert await actions_at(client, ws / "paper.tex", find(TEX, "plain", offset=2)) == []
