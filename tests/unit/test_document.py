"""Citations and mentions in documents; `|` marks the cursor."""

from __future__ import annotations

import pytest

from paperlens.analysis.cites import cite_context, find_cites
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN, PYTHON, RST, doc_kind
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.library.store import read_library, snapshot_file


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(Index.build(read_library(snapshot_file())))


@pytest.mark.parametrize(
    ("text", "kind", "prefix", "before"),
    [
        (r"see \cite{glo|", LATEX, "glo", ()),
        (r"see \citep[p.~3]{glo|", LATEX, "glo", ()),
        (r"see \cite{a, b,glo|", LATEX, "glo", ("a", "b")),
        (r"see \Citet*{|", LATEX, "", ()),
        (r"see \parencite[see][p.~1]{x|", LATEX, "x", ()),
        (r"as in [@glo|", MARKDOWN, "glo", ()),
        (r"as in [@a; @glo|", MARKDOWN, "glo", ()),
        (r"as shown by @glo|", MARKDOWN, "glo", ()),
        (r"see :cite:`glo|", RST, "glo", ()),
    ],
)
def test_cite_context(text: str, kind: str, prefix: str, before: tuple[str, ...]) -> None:
    col = text.index("|")
    ctx = cite_context(text.replace("|", ""), col, kind)
    assert ctx is not None and ctx.prefix == prefix and ctx.keys_before == before
    assert ctx.start == col - len(prefix)


@pytest.mark.parametrize(
    ("text", "kind"),
    [(r"see \textbf{glo|", LATEX), ("mail me at ada@exa|", MARKDOWN), (r"\cite{done} and more|", LATEX)],
)
def test_no_cite_context(text: str, kind: str) -> None:
    col = text.index("|")
    assert cite_context(text.replace("|", ""), col, kind) is None


def test_extra_cite_commands() -> None:
    assert cite_context(r"\mycite{glo", 11, LATEX) is None
    ctx = cite_context(r"\mycite{glo", 11, LATEX, ("mycite",))
    assert ctx is not None and ctx.prefix == "glo"


def test_find_cites_ranges() -> None:
    lines = [r"A~\cite{k1, k2} and [@k3]."]
    cites = find_cites(lines, MARKDOWN)
    assert [(c.key, lines[0][c.span.start:c.span.end]) for c in cites] == [("k1", "k1"), ("k2", "k2"), ("k3", "k3")]


def test_doc_kind() -> None:
    assert doc_kind("latex", "file:///a.tex") == LATEX
    assert doc_kind(None, "file:///a.qmd") == MARKDOWN
    assert doc_kind("python", "file:///a.py") == PYTHON
    assert doc_kind("rust", "file:///a.rs") == "code"


def _mentions(text: str, kind: str, catalog: Catalog) -> list[str]:
    doc = DocAnalysis.from_text("file:///x", kind, text)
    return [m.text for m in doc.all_mentions(catalog)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("DRCT keeps feature maps alive.", ["DRCT"]),
        ("We follow Glocal-IB and CS-IB.", ["Glocal-IB", "CS-IB"]),
        ("The Cauchy-Schwarz information bottleneck is neat.", ["Cauchy-Schwarz information bottleneck"]),
        ("The Block Transformer splits attention.", ["Block Transformer"]),
        ("Nexus disaggregates prefill and decode.", ["Nexus"]),
        ("the nexus of these works, the turbo mode, a block of memory.", []),
        ("Týr-the-Pruner 😀 prunes.", ["Týr-the-Pruner"]),
        (r"% TODO: compare with DRCT", ["DRCT"]),  # notes in comments get cards too
    ],
)
def test_prose_mentions(catalog: Catalog, text: str, found: list[str]) -> None:
    assert _mentions(text, LATEX, catalog) == found


def test_python_mentions(catalog: Catalog) -> None:
    src = 'import torch\nfrom drct.archs.DRCT_arch import DRCT\nself.data = DRCT()  # see Glocal-IB\n'
    assert _mentions(src, PYTHON, catalog) == ["drct", "DRCT", "DRCT", "Glocal-IB"]


def test_incremental_rescan_reuses_unchanged_lines(catalog: Catalog) -> None:
    doc = DocAnalysis.from_text("file:///x", LATEX, "DRCT here.\n" * 1000)
    assert len(doc.all_mentions(catalog)) == 1000
    cached = dict(doc._line_cache)
    doc.lines[500] = "PrefixKV now."
    doc.invalidate()
    assert len(doc.all_mentions(catalog)) == 1000
    assert set(cached) <= set(doc._line_cache)
