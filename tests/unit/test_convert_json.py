"""Completion lists are sent in their JSON shape, made directly (convert.completions_json): the same JSON pygls'
converter makes of the lsprotocol CompletionList, on real results (feed papers, .bib entries, the add-entry
command, label details, positions after non-ASCII text in UTF-16, UTF-8 and UTF-32)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pygls.protocol import default_converter
from pygls.workspace.position_codec import PositionCodec

from paperlens.features.completion import completions
from paperlens.index.core import Index
from paperlens.lsp.convert import Convert

sys.path.insert(0, str(Path(__file__).parent / "features"))
from cursor import context  # noqa: E402

REFS = (Path(__file__).resolve().parents[2] / "examples" / "refs.bib").read_text(encoding="utf-8")
REAL = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "bib" / "akhirsch_main.bib"


@pytest.fixture(scope="module")
def base() -> Index:
    from paperlens.library.store import read_library, snapshot_file

    return Index.build(read_library(snapshot_file()))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
@pytest.mark.parametrize(("text", "bib"), [
    ("For time series \\cite{$0}.\n", {"refs.bib": REFS}),
    ("Ünïcödé 𝔘 first — \\cite{glo$0}.\n", {"refs.bib": REFS}),
    ("Ünïcödé 𝔘 then \\citep[see][p.~3]{tishby2000information, $0}.\n", {"refs.bib": REFS}),
    ("Real library 𝔘 \\cite{a$0}\n", {"main.bib": REAL.read_text(encoding="utf-8")}),
    ("Markdown 𝔘 [@$0].\n", {"refs.bib": REFS}),
])
def test_the_json_is_the_converters(base: Index, text: str, bib: dict[str, str], encoding: str) -> None:
    name = "notes.md" if "[@" in text else "main.tex"
    ctx, line, col = context(text, base, name=name, bib=bib)
    items = completions(ctx, line, col)
    assert items
    conv = Convert(PositionCodec(encoding), lambda _: ctx.doc.lines)
    want = default_converter().unstructure(conv.completions(items, ctx.doc.lines))
    got = conv.completions_json(items, ctx.doc.lines).value
    assert got == want
    assert json.loads(json.dumps(got)) == want  # (plain JSON values only)
    if not ctx.doc.lines[line].isascii():  # positions in the client's units, not code points
        start = got["items"][0]["textEdit"]["range"]["start"]["character"]
        assert (start == items[0].region.start) == (encoding == "utf-32")


def test_the_lists_hold_what_the_json_must_carry(base: Index) -> None:
    """(The cases above include the add-entry command and label details: the comparison covers them.)"""
    ctx, line, col = context("For time series \\cite{$0}.\n", base, bib={"refs.bib": REFS})
    items = completions(ctx, line, col)
    assert items and any(it.command for it in items) and any(it.description for it in items)
