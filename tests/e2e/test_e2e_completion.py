"""textDocument/completion end to end: ranked cite keys in LaTeX, Markdown and reST; resolve; adding the entry."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
import pytest
import pytest_lsp
from e2e_lsp import CONFIG, apply_text_edits, copy_examples, find, open_doc, record_apply_edits, start, uri
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

GLOCAL_KEY = "glocalib2025"
GLOCAL_TITLE = "Glocal Information Bottleneck for Time Series Imputation"
PREFIXKV_KEY = "prefixkv2024"

TEX = r"""\documentclass{article}
\begin{document}
A \cite{glo

B \citep[p.~3]{glo

C \cite{hsu2024drct,tishby2000information,glo

D \Citet*{glo

E \parencite{glo

F \mycite{glo

G \cite{glocl

PrefixKV prunes the KV cache per layer.
H \cite{

\bibliography{refs}
\end{document}
"""

MD = """# Notes

See [@glo
and also @glo
write to a@glo
"""

RST = """Notes
=====

As shown in :cite:`glo
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_examples(tmp_path_factory.mktemp("completion-ws"), "refs.bib")
    (root / "comp.tex").write_text(TEX, encoding="utf-8")
    (root / "comp.md").write_text(MD, encoding="utf-8")
    (root / "comp.rst").write_text(RST, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    seen = record_apply_edits(lsp_client)
    await start(lsp_client, ws, tmp_path_factory.mktemp("completion-cache"), citeCommands=["mycite"])
    open_doc(lsp_client, ws / "comp.tex", "latex")
    open_doc(lsp_client, ws / "comp.md", "markdown")
    open_doc(lsp_client, ws / "comp.rst", "restructuredtext")
    lsp_client.seen_edits = seen  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def complete(client: LanguageClient, path: Path, text: str, needle: str,
                   trigger: str | None = None) -> t.CompletionList | None:
    pos = find(text, needle, offset=len(needle))
    ctx = t.CompletionContext(trigger_kind=t.CompletionTriggerKind.TriggerCharacter, trigger_character=trigger) \
        if trigger else t.CompletionContext(trigger_kind=t.CompletionTriggerKind.Invoked)
    res = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(path)), position=pos, context=ctx))
    assert res is None or isinstance(res, t.CompletionList)
    return res


def check_list(res: t.CompletionList | None, prefix: str) -> list[t.CompletionItem]:
    """What every citation list must satisfy: incomplete (server-ranked), bounded, ordered, client-filterable."""
    assert res is not None
    assert res.is_incomplete is True
    items = list(res.items)
    assert 0 < len(items) <= 50
    assert [i.sort_text for i in items] == sorted(i.sort_text for i in items)
    assert len({i.sort_text for i in items}) == len(items)
    assert all(i.filter_text and i.filter_text.startswith(prefix) for i in items)
    return items


async def test_cite_prefix_ranks_glocal_first(client: LanguageClient, ws: Path):
    items = check_list(await complete(client, ws / "comp.tex", TEX, r"A \cite{glo"), "glo")
    assert items[0].label == GLOCAL_KEY
    assert GLOCAL_TITLE in (items[0].detail or "")
    # The edit replaces exactly what was typed of the key.
    edit = items[0].text_edit
    assert isinstance(edit, t.TextEdit)
    assert edit.new_text == GLOCAL_KEY
    assert edit.range.start == find(TEX, r"A \cite{glo", offset=len(r"A \cite{"))
    assert edit.range.end == find(TEX, r"A \cite{glo", offset=len(r"A \cite{glo"))


@pytest.mark.parametrize("needle", [r"B \citep[p.~3]{glo", r"D \Citet*{glo", r"E \parencite{glo",
                                    r"F \mycite{glo", r"G \cite{glocl"])
async def test_cite_command_variants(client: LanguageClient, ws: Path, needle: str):
    prefix = needle.rsplit("{", 1)[1]
    items = check_list(await complete(client, ws / "comp.tex", TEX, needle), prefix)
    assert items[0].label == GLOCAL_KEY


async def test_keys_already_in_the_citation_are_skipped(client: LanguageClient, ws: Path):
    items = check_list(await complete(client, ws / "comp.tex", TEX, r"tishby2000information,glo", ","), "glo")
    assert items[0].label == GLOCAL_KEY
    labels = [i.label for i in items]
    assert "hsu2024drct" not in labels and "tishby2000information" not in labels


async def test_empty_prefix_ranks_the_paper_mentioned_just_before(client: LanguageClient, ws: Path):
    items = check_list(await complete(client, ws / "comp.tex", TEX, r"H \cite{", "{"), "")
    assert items[0].label == PREFIXKV_KEY


async def test_no_completion_outside_a_citation(client: LanguageClient, ws: Path):
    assert await complete(client, ws / "comp.tex", TEX, "PrefixKV prunes") is None


@pytest.mark.parametrize("needle", ["See [@glo", "and also @glo"])
async def test_markdown_citations(client: LanguageClient, ws: Path, needle: str):
    items = check_list(await complete(client, ws / "comp.md", MD, needle), "glo")
    assert items[0].label == GLOCAL_KEY


async def test_markdown_email_is_not_a_citation(client: LanguageClient, ws: Path):
    res = await complete(client, ws / "comp.md", MD, "write to a@glo", "@")
    assert res is None or not res.items


async def test_rst_cite_role(client: LanguageClient, ws: Path):
    items = check_list(await complete(client, ws / "comp.rst", RST, ":cite:`glo"), "glo")
    assert items[0].label == GLOCAL_KEY


async def test_resolve_adds_the_card(client: LanguageClient, ws: Path):
    items = check_list(await complete(client, ws / "comp.tex", TEX, r"A \cite{glo"), "glo")
    assert items[0].documentation is None  # filled lazily
    resolved = await client.completion_item_resolve_async(items[0])
    doc = resolved.documentation
    assert isinstance(doc, t.MarkupContent)
    assert doc.kind == t.MarkupKind.Markdown
    assert GLOCAL_TITLE in doc.value
    assert "Muyiiiii/NeurIPS\\-25\\-Glocal\\-IB" in doc.value or "Muyiiiii/NeurIPS-25-Glocal-IB" in doc.value


async def test_accepting_a_paper_missing_from_the_bib_appends_its_entry(client: LanguageClient, ws: Path):
    bib = ws / "refs.bib"
    original = bib.read_text(encoding="utf-8")
    items = check_list(await complete(client, ws / "comp.tex", TEX, r"A \cite{glo"), "glo")
    cmd = items[0].command
    assert cmd is not None and cmd.command == "paperlens.addBibEntry"
    assert cmd.arguments is not None and cmd.arguments[0] == GLOCAL_KEY
    # A key already in the .bib needs no command.
    drct = check_list(await complete(client, ws / "comp.tex", TEX, r"H \cite{", "{"), "")
    in_bib = [i for i in drct if i.label in ("hsu2024drct", "tishby2000information")]
    assert in_bib and all(i.command is None for i in in_bib)

    seen: list[t.ApplyWorkspaceEditParams] = client.seen_edits  # type: ignore[attr-defined]
    n = len(seen)
    result = await client.workspace_execute_command_async(t.ExecuteCommandParams(
        command=cmd.command, arguments=list(cmd.arguments)))
    assert result["applied"] is True
    assert len(seen) == n + 1
    changes = seen[-1].edit.document_changes
    assert changes is not None
    text_edits = [c for c in changes if isinstance(c, t.TextDocumentEdit)]
    assert [c.text_document.uri for c in text_edits] == [uri(bib)]
    assert not any(isinstance(c, t.CreateFile) for c in changes)  # the file exists
    new = apply_text_edits(original, text_edits[0].edits)
    assert new.startswith(original)
    assert bib.read_text(encoding="utf-8") == new  # our "editor" applied it
    lib = bibtexparser.parse_string(new)
    assert not lib.failed_blocks
    keys = [e.key for e in lib.entries]
    assert keys == ["tishby2000information", "hsu2024drct", GLOCAL_KEY]
    entry = lib.entries[-1]
    assert "Glocal" in entry.fields_dict["title"].value

    # Now the key is in the .bib: no command on the item, and running it again changes nothing.
    again = check_list(await complete(client, ws / "comp.tex", TEX, r"A \cite{glo"), "glo")
    assert again[0].label == GLOCAL_KEY and again[0].command is None
    result = await client.workspace_execute_command_async(t.ExecuteCommandParams(
        command="paperlens.addBibEntry", arguments=[GLOCAL_KEY, uri(ws / "comp.tex")]))
    assert result["applied"] is False
    assert len(seen) == n + 1


@pytest.fixture(scope="module")
def bare_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("completion-bare-ws")
    (root / "note.md").write_text("Some notes [@glo\n", encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def bare_client(lsp_client: LanguageClient, bare_ws: Path, tmp_path_factory: pytest.TempPathFactory):
    lsp_client.seen_edits = record_apply_edits(lsp_client)  # type: ignore[attr-defined]
    await start(lsp_client, bare_ws, tmp_path_factory.mktemp("completion-bare-cache"))
    open_doc(lsp_client, bare_ws / "note.md", "markdown")
    yield
    await lsp_client.shutdown_session()


async def test_adding_an_entry_creates_refs_bib_when_there_is_none(bare_client: LanguageClient, bare_ws: Path):
    items = check_list(await complete(bare_client, bare_ws / "note.md", "Some notes [@glo\n", "[@glo"), "glo")
    cmd = items[0].command
    assert cmd is not None and cmd.command == "paperlens.addBibEntry"
    result = await bare_client.workspace_execute_command_async(t.ExecuteCommandParams(
        command=cmd.command, arguments=list(cmd.arguments or ())))
    assert result["applied"] is True
    seen: list[t.ApplyWorkspaceEditParams] = bare_client.seen_edits  # type: ignore[attr-defined]
    changes = seen[-1].edit.document_changes or ()
    bib_uri = uri(bare_ws / "refs.bib")
    assert isinstance(changes[0], t.CreateFile) and changes[0].uri == bib_uri
    assert isinstance(changes[1], t.TextDocumentEdit) and changes[1].text_document.uri == bib_uri
    text = (bare_ws / "refs.bib").read_text(encoding="utf-8")
    assert [e.key for e in bibtexparser.parse_string(text).entries] == [GLOCAL_KEY]
