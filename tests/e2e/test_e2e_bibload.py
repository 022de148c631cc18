"""A large workspace .bib through the wire, as a first start reads it: its keys complete before its records are
read (in a worker process), no cite of one of its keys is ever called unknown meanwhile, then its title words
complete and the hover shows the entry; the records are cached for the next start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest_lsp
from e2e_lsp import CONFIG, complete_line_1, copied_library, find, hover, open_doc, start_with_bib, unescaped
from lsprotocol import types as t
from pytest_lsp import LanguageClient

KEY = "c10BatesN24"  # the last copy's BatesN24
TEX = f"See \\cite{{{KEY}}}.\nNow \\cite{{\n"


def big_bib() -> str:
    """The real library, then ten copies of its entries with their keys prefixed: over 5,000 entries."""
    return copied_library(lambda n, parts: n == 10)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    await start_with_bib(lsp_client, tmp_path, TEX, big_bib())
    yield
    await lsp_client.shutdown_session()


async def test_a_large_bib_answers_by_key_first_then_by_title(client: LanguageClient, tmp_path: Path) -> None:
    from paperlens.sources.bibtex import BibDocument

    text = (tmp_path / "ws" / "library.bib").read_text(encoding="utf-8")
    assert len(BibDocument(text, "x").entries) >= 5000  # read in a worker process
    tex = open_doc(client, tmp_path / "ws" / "paper.tex", "latex")
    version = 1
    seen: list[t.Diagnostic] = []  # the document's diagnostics as published along the way
    got: list[str] = []
    for _ in range(300):
        version += 1
        got = await complete_line_1(client, tex, "Now \\cite{c10BatesN2", version)
        seen += client.diagnostics.get(tex, [])
        if KEY in got:
            break
        await asyncio.sleep(0.05)
    assert KEY in got
    by_title: list[str] = []
    for _ in range(1200):  # the records: once the worker has read them all
        version += 1
        by_title = await complete_line_1(client, tex, "Now \\cite{choreographic multicast", version)
        seen += client.diagnostics.get(tex, [])
        if KEY in by_title:
            break
        await asyncio.sleep(0.1)
    assert KEY in by_title and "BatesN24" in by_title  # the original and every copy
    h = await hover(client, tex, find(TEX, KEY, offset=2))
    assert h is not None and "We Know I Know" in unescaped(h)
    # Never an unknown-key warning for a key the .bib defines, not even while it was being read.
    await asyncio.sleep(0.5)
    seen += client.diagnostics.get(tex, [])
    assert not any(KEY in d.message for d in seen), seen
    # The next start finds the records in the cache (a stat line naming the file's content hash).
    cache = tmp_path / "cache" / "bib"
    assert list(cache.glob("stat-*.txt")) and list(cache.glob("*.scan.pickle"))
