""".bib diagnostics through the wire: a real library's file stays clean, an edit that breaks an entry is reported
at its line and cleared when fixed, and a large file is checked without holding up other requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, open_doc, start, uri, wait_until
from e2e_lsp import REAL_LIBRARY as REAL_BIB
from lsprotocol import types as t
from pytest_lsp import LanguageClient


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def change(client: LanguageClient, u: str, version: int, text: str) -> None:
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=u, version=version),
        content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)]))


async def test_real_bib_clean_then_broken_then_fixed(client: LanguageClient, tmp_path: Path):
    if not REAL_BIB.is_file():
        pytest.skip(f"{REAL_BIB} not found")
    root = tmp_path / "ws"
    root.mkdir()
    text = REAL_BIB.read_text(encoding="utf-8")
    (root / "main.bib").write_text(text, encoding="utf-8")
    await start(client, root, tmp_path / "cache")
    u = open_doc(client, root / "main.bib", "bibtex", text)
    await wait_until(lambda: u in client.diagnostics, what="diagnostics for the .bib")
    assert list(client.diagnostics[u]) == []  # 562 entries, 163 @string macros, an `@url = {…}` field: all fine
    # Break the first entry: drop the '=' of its first field.
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("@") and "{" in line
                 and not line.lstrip().lower().startswith(("@string", "@comment", "@preamble")))
    field_line = next(i for i in range(first + 1, len(lines)) if "=" in lines[i])
    broken = lines[:]
    broken[field_line] = broken[field_line].replace("=", " ", 1)
    change(client, u, 2, "\n".join(broken))
    diags = await wait_until(lambda: client.diagnostics.get(u), what="the syntax error")
    [d] = diags
    assert d.code == "expecting-eq" and d.severity == t.DiagnosticSeverity.Error
    assert d.range.start.line == field_line and "expected '='" in d.message
    change(client, u, 3, text)
    await wait_until(lambda: list(client.diagnostics.get(u, [1])) == [], what="the error cleared")


async def test_large_bib_is_checked_in_the_background(client: LanguageClient, tmp_path: Path):
    root = tmp_path / "ws"
    root.mkdir()
    # Long `keywords` fields make the file large without making the entries slow to read.
    words = "information bottleneck, super-resolution, imputation, " * 7
    entries = [f"@article{{key{i},\n  title = {{Paper number {i}}},\n  author = {{Ann Author}},\n"
               f"  year = {{2020}},\n  keywords = {{{words}}}\n}}\n" for i in range(1500)]
    entries.append("@article{key7,\n  title = {Again}\n}\n")  # a duplicate key
    entries.append("@article{broken,\n  title = {No closing brace},\n")
    text = "\n".join(entries)
    assert len(text) > 500_000
    (root / "big.bib").write_text(text, encoding="utf-8")
    (root / "paper.tex").write_text("\\cite{key1}\n", encoding="utf-8")
    await start(client, root, tmp_path / "cache")
    tex = open_doc(client, root / "paper.tex", "latex")
    bib = open_doc(client, root / "big.bib", "bibtex", text)
    # A request sent right away is answered (the check runs in a worker thread).
    hover = client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=tex), position=t.Position(line=0, character=8)))
    h = await asyncio.wait_for(hover, 10)
    assert h is not None and "Paper number 1" in str(h.contents)
    diags = await wait_until(lambda: client.diagnostics.get(bib), timeout=30, what="the large file's diagnostics")
    lines = text.split("\n")
    got = sorted((str(d.code), lines[d.range.start.line].strip()) for d in diags)
    assert got == [("duplicate-key", "@article{key7,"), ("expecting-rbrace", "title = {No closing brace},")]
    assert uri(root / "big.bib") == bib
