"""An edit in a large open .bib (over the 1 MB read-at-once budget) reaches completion and hover through the
wire without the file being read again: the edited entry's new title completes, a renamed key answers under its
new name only, and the editor's lines stay right for hover inside the .bib."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest_lsp
from e2e_lsp import (
    CONFIG,
    change,
    complete_line_1,
    complete_until,
    copied_library,
    find,
    hover,
    open_doc,
    position_at,
    start_with_bib,
    unescaped,
    wait_until,
)
from lsprotocol import types as t
from pytest_lsp import LanguageClient

TEX = "See \\cite{BatesN24}.\nNow \\cite{\n"


def big_bib() -> str:
    """The real library, then copies of it with renamed keys, to about 1.5 MB."""
    return copied_library(lambda n, parts: sum(map(len, parts)) >= 1_500_000)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    await start_with_bib(lsp_client, tmp_path, TEX, big_bib())
    yield
    await lsp_client.shutdown_session()


async def test_an_edit_in_a_large_open_bib_is_seen_at_once(client: LanguageClient, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    text = (ws / "library.bib").read_text(encoding="utf-8")
    assert len(text) > 1_000_000
    tex = open_doc(client, ws / "paper.tex", "latex")
    h = None
    for _ in range(100):
        h = await hover(client, tex, find(TEX, "BatesN24", offset=2))
        if h is not None and "We Know I Know" in unescaped(h):
            break
        await asyncio.sleep(0.1)
    assert h is not None and "We Know I Know" in unescaped(h)
    bu = open_doc(client, ws / "library.bib", "bibtex", text)
    # The title of BatesN24 changed by one range edit on its title line.
    at = text.index("{BatesN24,")
    title = position_at(text, text.index("title", at))
    change(client, bu, 2, title, title, "title = {Zyxwvutsrq Choreographies},\n  old")
    # At once when the file's records are all read; else after it is read again.
    await complete_until(client, tex, "Now \\cite{zyxwvuts", "BatesN24")
    assert "BatesN24" in await complete_line_1(client, tex, "Now \\cite{zyxwvuts")
    # A key renamed: the old key is gone, the new one completes.
    key = position_at(text, at + 1)
    change(client, bu, 3, key, t.Position(line=key.line, character=key.character + 8), "BatesRenamed24")
    got = await complete_until(client, tex, "Now \\cite{Bates", "BatesRenamed24")
    assert "BatesRenamed24" in got and "BatesN24" not in got, got
    # Hover inside the .bib on the renamed key reads the edited entry (the editor's lines were spliced).
    h = await hover(client, bu, t.Position(line=key.line, character=key.character + 3))
    assert h is not None and "Zyxwvutsrq Choreographies" in unescaped(h)


def _insert(client: LanguageClient, u: str, version: int, line: int, character: int, text: str) -> None:
    at = t.Position(line=line, character=character)
    change(client, u, version, at, at, text)


async def test_a_new_entry_completes_and_a_typed_brace_is_reported_then_cleared(client: LanguageClient,
                                                                                 tmp_path: Path) -> None:
    # A large library without duplicate keys: each edit re-reads and re-checks only the entries it touches.
    words = "information bottleneck, super-resolution, imputation, " * 3
    text = "".join(f"@article{{own{i},\n  title = {{Own paper {i}}},\n  author = {{Ann Author}},\n"
                   f"  year = {{2020}},\n  keywords = {{{words}}}\n}}\n\n" for i in range(4500))
    assert len(text) > 1_000_000
    ws = tmp_path / "ws"
    (ws / "own.bib").write_text(text, encoding="utf-8")
    tex = open_doc(client, ws / "paper.tex", "latex")
    bu = open_doc(client, ws / "own.bib", "bibtex", text)

    def syntax() -> list[tuple[str, int]]:
        return [(str(d.code), d.range.start.line) for d in client.diagnostics.get(bu, [])]

    await wait_until(lambda: bu in client.diagnostics, timeout=60, what="the .bib checked")
    assert syntax() == []
    # A new entry typed before own2000: its key completes.
    line = text.count("\n", 0, text.index("@article{own2000,"))
    _insert(client, bu, 2, line, 0, "@misc{Brandnew2026,\n  title = {Qwertzuiop Things},\n}\n\n")
    got = await complete_until(client, tex, "Now \\cite{Brandnew", "Brandnew2026")
    assert "Brandnew2026" in got
    # An opening brace typed in its title: the brace takes the entry's closing brace, so the entry is not
    # closed, reported at its last line ...
    _insert(client, bu, 3, line + 1, len("  title = {Qwertzuiop"), " {open")
    await wait_until(lambda: syntax(), timeout=30, what="the unclosed entry")
    assert syntax() == [("expecting-rbrace", line + 2)]
    # ... and nothing once it is closed again.
    _insert(client, bu, 4, line + 1, len("  title = {Qwertzuiop {open"), "}")
    await wait_until(lambda: syntax() == [], timeout=30, what="the error cleared")
    h = await hover(client, bu, t.Position(line=line, character=10))
    assert h is not None and "Qwertzuiop" in unescaped(h) and "Things" in unescaped(h)
