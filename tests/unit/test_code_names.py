"""Method names in code: two-letter identifiers (`gt` for ground truth) never link unless written exactly as the
paper's own name and standing alone; a paper's own class (`BlockTransformer`, from its repo) links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperlens.analysis.document import PYTHON, DocAnalysis
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.library.store import read_library, snapshot_file

REPO = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "github" / "repos"


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog(Index.build(read_library(snapshot_file())))


def names(cat: Catalog, code: str) -> list[list[str]]:
    d = DocAnalysis.from_text("file:///x.py", PYTHON, code)
    return [[m.text for m in d.line_mentions(ln, cat)] for ln in range(len(d.lines))]


def test_two_letter_identifiers_are_ordinary(cat: Catalog) -> None:
    assert cat.mention("GT", "gt") is not None  # "Graph Transformers for Large Graphs" is GT in the snapshot
    code = "gt = load(path)\nimg_gt = self.gt\nGT_size = 4\nloss = l1(out, self.GT)\nmodel = GT(cfg)\n"
    assert names(cat, code) == [[], [], [], [], ["GT"], []]


def test_a_papers_class_from_its_own_repo_links(cat: Catalog) -> None:
    symbols = json.loads((REPO / "itsnamgyu" / "block-transformer" / "symbols.json").read_text(encoding="utf-8"))
    classes = {s["name"] for syms in symbols.values() for s in syms if s["kind"] == "class"}
    assert "BlockTransformer" in classes
    code = "from model.block_transformer import BlockTransformer\nmodel = BlockTransformer(config)\n"
    got = names(cat, code)
    assert got == [["BlockTransformer"], ["BlockTransformer"], []]
    d = DocAnalysis.from_text("file:///x.py", PYTHON, code)
    m = d.line_mentions(1, cat)[0]
    assert m.mention.entries[0].title.startswith("Block Transformer: Global-to-Local")
    # Its other classes are not the paper's name.
    assert names(cat, "w = BlockTransformerWrapper(m)\n") == [[], []]
