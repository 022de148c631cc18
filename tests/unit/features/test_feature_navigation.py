"""definition and references for citation keys: the entry in the .bib, every citation in the workspace."""

from __future__ import annotations

from cursor import ROOT, context, region

from paperlens.analysis.document import DocAnalysis
from paperlens.features.navigation import definition, key_at, references_at
from paperlens.features.results import Region
from paperlens.index.core import Index

BIB_URI = (ROOT / "refs.bib").as_uri()


def test_definition_of_a_cited_key(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("As shown~\\cite{tishby2000information, hsu20$024drct}.\n", base, bib=refs)
    d = definition(ctx, line, col)
    assert d is not None and d.uri == BIB_URI
    lines = refs["refs.bib"].split("\n")
    first = lines.index("@misc{hsu2024drct,")
    assert d.selection == Region.on_line(first, len("@misc{"), len("@misc{hsu2024drct"))
    assert (d.region.start_line, d.region.start) == (first, 0) and lines[d.region.end_line].startswith("}")
    assert d.origin == region(ctx, "hsu2024drct")


def test_definition_of_a_bibliography_resource(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("\\bibliography{re$0fs}\n", base, bib=refs)
    d = definition(ctx, line, col)
    assert d is not None and d.uri == BIB_URI and d.origin == region(ctx, "refs")


def test_nothing_to_define_outside_a_citation(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("Plain w$0ords.\n", base, bib=refs)
    assert definition(ctx, line, col) is None


def test_references_across_documents_with_the_declaration(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("A~\\cite{hsu2024d$0rct}.\nB~\\cite{tishby2000information}.\n", base, bib=refs)
    other = DocAnalysis.from_text((ROOT / "notes.md").as_uri(), "markdown", "See [@hsu2024drct].\n")
    docs = {ctx.doc.uri: ctx.doc, other.uri: other}
    refs_only = references_at(ctx, lambda: docs, line, col)
    assert refs_only is not None
    assert [(p.uri, p.region) for p in refs_only] == [
        (ctx.doc.uri, region(ctx, "hsu2024drct")), (other.uri, Region.on_line(0, 6, 17))]
    with_decl = references_at(ctx, lambda: docs, line, col, include_declaration=True)
    assert with_decl is not None and with_decl[0].uri == BIB_URI and with_decl[1:] == refs_only


def test_in_a_bib_the_entry_under_the_cursor_is_the_key(base: Index, refs: dict[str, str]) -> None:
    lines = refs["refs.bib"].split("\n")
    line = lines.index("@misc{hsu2024drct,") + 2  # inside the entry, on its author line
    text = "\n".join(lines[:line]) + "\n$0" + "\n".join(lines[line:])
    ctx, at_line, col = context(text, base, name="refs.bib", bib=refs)
    assert at_line == line and key_at(ctx, at_line, col) == "hsu2024drct"
