"""citation_at(ctx, line, col, entry): what picking a paper in "Search Papers…" inserts at the cursor. The server
says it (in the document's own syntax); the client only inserts it (it used to re-implement this table)."""

from __future__ import annotations

import pytest
from cursor import context

from paperlens.features.code_actions import citation_at
from paperlens.index.core import Index


@pytest.mark.parametrize(("name", "text", "inserted", "keyed"), [
    ("main.tex", "as shown by $0", "\\cite{hsu2024drct}", True),
    ("main.tex", "as shown by \\citep[p.~3]{$0", "hsu2024drct", True),
    ("main.tex", "\\cite{a,$0", "hsu2024drct", True),
    ("main.tex", "\\textcite{$0", "hsu2024drct", True),
    ("main.tex", "\\cite{a} and $0", "\\cite{hsu2024drct}", True),
    ("main.tex", "\\section{$0", "\\cite{hsu2024drct}", True),
    ("notes.md", "see $0", "[@hsu2024drct]", True),
    ("notes.qmd", "see [@a; @$0", "hsu2024drct", True),
    ("notes.rst", "see $0", ":cite:`hsu2024drct`", True),
    ("train.py", "# $0", "DRCT: https://huggingface.co/papers/2404.00722", False),
])
def test_the_citation_in_the_documents_syntax(base: Index, refs: dict[str, str], name: str, text: str,
                                              inserted: str, keyed: bool) -> None:
    ctx, line, col = context(text, base, name=name, bib=refs)
    e = ctx.catalog.by_key("hsu2024drct")
    assert e is not None
    c = citation_at(ctx, line, col, e)
    assert (c.text, c.keyed) == (inserted, keyed)


def test_without_a_page_the_title_and_key(base: Index) -> None:
    bib = {"refs.bib": "@article{plain1972, title = {A Plain Article}, year = 1972}\n"}  # no link, no id
    ctx, line, col = context("note: $0", base, name="notes.txt", bib=bib)
    e = ctx.catalog.by_key("plain1972")
    assert e is not None
    c = citation_at(ctx, line, col, e)
    assert (c.text, c.keyed) == ("A Plain Article (plain1972)", False)
