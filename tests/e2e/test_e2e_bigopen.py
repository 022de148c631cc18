"""A large .bib opened in the editor (a didOpen over the transport's 4 MB threshold, its text decoded in pieces,
never one string) works as one opened whole: the same text as on disk, or other text (an entry only the editor
has), with non-ASCII characters and characters beyond the BMP across the pieces; hover inside it, an edit, and
completion see it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import (
    CONFIG,
    change,
    complete_until,
    copied_library,
    find,
    hover,
    open_doc,
    position_at,
    start_with_bib,
    unescaped,
)
from lsprotocol import types as t
from pytest_lsp import LanguageClient

from paperlens.lsp.framing import BIG_TEXT

TEX = "See \\cite{BatesN24}.\nNow \\cite{\n"


def big_bib() -> str:
    """The real library, then copies of its entries with renamed keys (and a few wide characters), past the
    transport's threshold."""
    return copied_library(lambda n, parts: sum(len(p.encode()) for p in parts) >= BIG_TEXT + (1 << 20),
                          lambda n: f"\n% copy {n}: “quoted” — 𝔘 ’\n")


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    await start_with_bib(lsp_client, tmp_path, TEX, big_bib())
    yield
    await lsp_client.shutdown_session()


async def _card(client: LanguageClient, u: str, pos: t.Position, want: str) -> str:
    """The hover card at pos once it shows `want` (at most 150 times 0.1 s); the last card."""
    card = ""
    for _ in range(150):
        h = await hover(client, u, pos)
        card = unescaped(h) if h is not None else ""
        if want in card:
            break
        await asyncio.sleep(0.1)
    return card


@pytest.mark.parametrize("changed", [False, True])
async def test_a_huge_open_bib_hovers_edits_and_completes(client: LanguageClient, tmp_path: Path,
                                                         changed: bool) -> None:
    ws = tmp_path / "ws"
    text = (ws / "library.bib").read_text(encoding="utf-8")
    assert len(text.encode()) > BIG_TEXT
    tex = open_doc(client, ws / "paper.tex", "latex")
    assert "We Know I Know" in await _card(client, tex, find(TEX, "BatesN24", offset=2), "We Know I Know")
    if changed:  # the editor's text is not the file's: an entry only it has, after the last wide character
        text += "\n@misc{OnlyInEditor25,\n  title = {Qwertyuiop Editor Only},\n  year = 2025,\n}\n"
    bu = open_doc(client, ws / "library.bib", "bibtex", text)
    # Hover inside the .bib, on a key after many pieces (positions counted in the editor's text).
    last = "OnlyInEditor25" if changed else f"c{text.count('% copy ')}"
    key_at = text.rindex("{" + last) + 1
    card = await _card(client, bu, position_at(text, key_at + 1), last)
    assert last in card
    if changed:
        assert "Qwertyuiop" in card
        labels = await complete_until(client, tex, "Now \\cite{OnlyInEd", "OnlyInEditor25", tries=150)
        assert "OnlyInEditor25" in labels
    # An edit: a title changed by one range edit reaches completion.
    title = position_at(text, text.index("title", text.index("{BatesN24,")))
    change(client, bu, 2, title, title, "title = {Zyxwvutsrq Choreographies},\n  old")
    got = await complete_until(client, tex, "Now \\cite{zyxwvuts", "BatesN24")
    assert "BatesN24" in got
