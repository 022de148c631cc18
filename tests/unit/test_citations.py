"""Where citations are and are not (LaTeX, Markdown), silencing comments, the .bib syntax check, bibliography
resources; `|` marks the cursor."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperlens.analysis.bibs import BibFile, Bibs, resource_names, resources
from paperlens.analysis.cites import cite_context, find_cites, manubot_id, silenced_lines
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN
from paperlens.core.config import parse_settings
from paperlens.features.diagnostics import bib_diagnostics
from paperlens.sources.bibcheck import scan_bib
from paperlens.sources.bibtex import existing_keys

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"


def keys(text: str, kind: str = LATEX) -> list[tuple[str, int, int]]:
    return [(c.key, c.span.line, c.span.start) for c in find_cites(text.split("\n"), kind)]


@pytest.mark.parametrize(("text", "found"), [
    (r"% \citet{dropped} and \cite{a}", []),
    (r"50\% of \cite{a} % \cite{b}", [("a", 0, 14)]),
    (r"\\% \cite{b}", []),  # a line break, then a comment
    (r"\nocite{*} \nocite{x}", [("x", 0, 19)]),
    (r"\renewcommand\cite{\citep}", []),
    (r"\newcommand{\mycite}[1]{\citet[p.~#1]{#1}}", []),
    ("\\cite{a,\n  b, c}\n\\cite{d}", [("a", 0, 6), ("b", 1, 2), ("c", 1, 5), ("d", 2, 6)]),
    ("\\cite{a,\n  b", []),  # never closed: still being typed
    ("\\cite{\nsome prose, then \\cite{z}", [("z", 1, 23)]),
    (r"\cites(all)[see][]{a}[p.~4]{b,c}{d} \textcite*[p.~3]{e}", [("a", 0, 19), ("b", 0, 28), ("c", 0, 30),
                                                                 ("d", 0, 33), ("e", 0, 53)]),
    (r"\citeauthor{a} \fullcite{b} \footcite[3]{c}", [("a", 0, 12), ("b", 0, 25), ("c", 0, 41)]),
    ("\\DeclareAcronym{ml}{\n  short = ML,\n  cite = {k1, k2},\n}", [("k1", 2, 10), ("k2", 2, 14)]),
    (r"\DeclareAcronym{x}{cite=[p.~2]{k3}}", [("k3", 0, 31)]),
    ("\\begin{comment}\n\\cite{gone}\n\\end{comment}\n\\cite{kept}", [("kept", 3, 6)]),
    ("\\cite{a} \\begin{verbatim}\n\\cite{gone}\n\\end{verbatim} \\cite{b}", [("a", 0, 6)]),
    ("\\iffalse\n\\cite{gone}\n\\fi\n\\cite{kept}", [("kept", 3, 6)]),
    ("\\begin{lstlisting}[language=TeX] \\cite{x} \\end{lstlisting} \\cite{y}",
     [("x", 0, 39), ("y", 0, 65)]),  # opened and closed on one line: read as usual
])
def test_latex_cites(text: str, found: list[tuple[str, int, int]]) -> None:
    assert keys(text) == found


MD = """---
title: x
author: '@someone'
---
See @fig:one, [@tbl:two; @eq:three] and @Sec:four; [@arxiv:2410.17243; @doi:10.1/x; @k1].
```python
@torch.no_grad()
```
Inline `@not_a_key`, <!-- @hidden --> and <!--
@hidden_too
--> then @k2.
"""


def test_markdown_cites() -> None:
    assert [k for k, _, _ in keys(MD, MARKDOWN)] == ["arxiv:2410.17243", "doi:10.1/x", "k1", "k2"]
    assert manubot_id("arxiv:2410.17243") == ("arxiv", "2410.17243") and manubot_id("k1") is None


def test_cached_scan_matches_the_plain_one() -> None:
    text = "\\cite{a,\n b}\n% \\cite{c}\n\\cites{d}{e}\n" * 3
    doc = DocAnalysis.from_text("file:///x.tex", LATEX, text)
    assert doc.cites() == find_cites(text.split("\n"), LATEX)
    doc.lines[1] = " b, f}"
    doc.invalidate()
    assert [c.key for c in doc.cites()][:3] == ["a", "b", "f"]


@pytest.mark.parametrize(("above", "line", "prefix", "before"), [
    (["\\cite{foo:2019,"], "  |", "", ("foo:2019",)),
    (["\\cite{a,", "  b,"], "  ba|", "ba", ("a", "b")),
    ([], r"\cites[see][]{one}[p.~4]{t|", "t", ()),
    ([], r"\DeclareAcronym{foo}{cite={|}}", "", ()),
    (["\\DeclareAcronym{foo}{", "  short = F,"], "  cite = {k|", "k", ()),
])
def test_cite_context_over_lines(above: list[str], line: str, prefix: str, before: tuple[str, ...]) -> None:
    col = line.index("|")
    ctx = cite_context(line.replace("|", ""), col, LATEX, (), above)
    assert ctx is not None and (ctx.prefix, ctx.keys_before) == (prefix, before)


@pytest.mark.parametrize(("above", "line"), [
    (["\\cite{unfinished and some prose,"], "more prose|"),
    ([], r"\cite{}|"),
    (["% \\cite{a,"], "  |"),
])
def test_no_cite_context_over_lines(above: list[str], line: str) -> None:
    assert cite_context(line.replace("|", ""), line.index("|"), LATEX, (), above) is None


def test_silenced_lines() -> None:
    tex = ["% texlab: ignore", r"\cite{a}", "x", r"\cite{b} % paperlens: ignore", "y", "z",
           "% paperlens: warnings off", r"\cite{c}", "% paperlens: warnings on", r"\cite{d}", r"50\% paperlens: ignore"]
    assert silenced_lines(tex, LATEX) == {0, 1, 3, 4, 6, 7}
    md = ["@a <!-- paperlens: ignore -->", "@b", "", "paperlens: ignore outside a comment", "@c"]
    assert silenced_lines(md, MARKDOWN) == {0, 1}


# ---------------------------------------------------------------- .bib syntax


@pytest.mark.parametrize(("text", "at", "code"), [
    ("@article\n", (0, 8), "expecting-lbrace"),
    ("@article{foo,\n", (0, 13), "expecting-rbrace"),
    ("@article{\n", (0, 9), "expecting-key"),
    ("@article{foo,\n    field\n}\n", (1, 9), "expecting-eq"),
    ("@article{foo,\n    field =\n}\n", (1, 11), "expecting-value"),
    ("@article{foo bar, title = {x}}\n", (0, 12), "expecting-comma"),
    ("@article{foo, title = {x}\n@article{bar, title = {y}}\n", (0, 25), "expecting-rbrace"),
    ("@article{foo, title = {x {y}\n@article{bar, title = {y}}\n", (0, 22), "unbalanced-braces"),
    ("@article{Foo, title = {A}}\n@article{foo, title = {B}}\n", (1, 9), "duplicate-key"),
])
def test_bib_problems(text: str, at: tuple[int, int], code: str) -> None:
    [p] = scan_bib(text).problems
    assert (p.start, p.code) == (at, code), p
    assert p.message


@pytest.mark.parametrize(("text", "problems"), [
    ("@article{o'brien2020, title = {x}}\n", []),  # the key bibraw reads is the key the check reads
    ("@article{a, note = {mail me @home or @misc}}\n", []),  # '@word' inside a value is text
    ("@article{a, title = {x}} @misc\n", [((0, 30), "expecting-lbrace")]),  # ... outside an entry it is not
    ("@article{a, title = {x}}, note = {y}}\n", []),  # after the closing brace: comment text, as in BibTeX
    ('@article{a, title = "x } y"}\n', [((0, 20), "unbalanced-braces")]),  # BibTeX: unbalanced braces
    ("@preamble{ \"\\newcommand{\\x}{y}\" \n@misc{b,}\n", [((0, 10), "expecting-rbrace")]),
    ("@string{acm = {ACM}\n@misc{b, publisher = acm}\n", [((0, 19), "expecting-rbrace")]),
])
def test_bib_check_reads_as_bibraw_does(text: str, problems: list[tuple[tuple[int, int], str]]) -> None:
    assert [(p.start, p.code) for p in scan_bib(text).problems] == problems


def test_bib_scan_keeps_going_after_an_error() -> None:
    s = scan_bib("@article{a, title = {x}\n@article{b, title = {y}}\n@misc{c,}\n")
    assert [e.key for e in s.entries] == ["a", "b", "c"]
    assert s.entry("b") is not None and s.entry("b").key_start == (1, 9)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["bib/akhirsch_main.bib", "bib/biblatex-examples.bib", "bib/xampl.bib",
                                  "papers/do-we-need-attention/anthology.bib", "papers/gmr-joss/paper.bib"])
def test_real_bibs_have_no_problems(name: str) -> None:
    path = REALWORLD / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    s = scan_bib(text)
    assert s.problems == ()
    assert {e.key for e in s.entries} == existing_keys(text)


def _bibfile(text: str) -> BibFile:
    return BibFile("file:///ws/refs.bib", Path("/ws/refs.bib"), text)


def test_bib_diagnostics_unused_off_by_default_and_silenceable() -> None:
    text = "@misc{cited,}\n@misc{unused,}\n% paperlens: ignore\n@misc{quiet,}\n"
    off = parse_settings({})[0].diagnostics
    assert bib_diagnostics(_bibfile(text), off, {"cited"}) == []
    on = parse_settings({"diagnostics": {"unusedEntry": "hint"}})[0].diagnostics
    got = bib_diagnostics(_bibfile(text), on, {"cited"})
    assert [(d.code, d.region.start_line, d.region.start, d.region.end) for d in got] == [
        ("unused-entry", 1, 6, 12)]
    assert bib_diagnostics(_bibfile(text), on, None) == []  # \nocite{*}: everything is used


def test_resources() -> None:
    tex = DocAnalysis.from_text("file:///ws/main.tex", LATEX, "\\bibliography{a, sub/b}\n\\addbibresource[x]{c.bib}")
    assert resource_names(tex) == ["a.bib", "sub/b.bib", "c.bib"]
    md_list = DocAnalysis.from_text("file:///ws/p.md", MARKDOWN, "---\nbibliography:\n  - one.bib\n  - 'two.bib'\n---")
    md_inline = DocAnalysis.from_text("file:///ws/p.md", MARKDOWN, "---\nbibliography: [one.bib, two.bib]\n---")
    assert resource_names(md_list) == resource_names(md_inline) == ["one.bib", "two.bib"]
    bibs = Bibs({u: BibFile(u, Path(u[7:]), "") for u in ("file:///ws/c.bib", "file:///ws/other.bib")})
    assert resources(tex, bibs) == ["file:///ws/c.bib"]
    assert resources(DocAnalysis.from_text("file:///ws/s.tex", LATEX, "no resources"), bibs) is None


@pytest.mark.parametrize("head", [
    r"\cite{", r"\citep[see][p.~3]{", r"\citet*{", r"\citeauthor{", r"\textcite{", r"\fullcite{",
    r"\footcite[3]{", r"\nocite{", r"\parencite*[p.~1]{", r"\autocites(all)[1]{a}[2]{", r"\Textcite{x,",
    r"\supercite{", r"\citeyear{",
])
def test_every_cite_form_completes_a_title_less_entry(head: str) -> None:
    from paperlens.features.completion import completions
    from paperlens.features.context import FeatureContext
    from paperlens.index.catalog import Catalog
    from paperlens.index.core import Index
    from paperlens.library.store import read_library, snapshot_file

    cat = Catalog(Index.build(read_library(snapshot_file())))
    bib = "@online{zeta2020, url = {https://example.org}}\n"
    bibs = Bibs({"file:///ws/refs.bib": BibFile("file:///ws/refs.bib", Path("/ws/refs.bib"), bib,
                                                 ranges={"zeta2020": (0, 0, 0, 45)})})
    line = head + "zet"
    doc = DocAnalysis.from_text("file:///ws/main.tex", LATEX, line)
    res = completions(FeatureContext(doc, cat, bibs), 0, len(line))
    assert res is not None and res[0].label == "zeta2020" and res[0].detail == "@online"


def test_new_entries_go_to_the_bib_pandoc_lists() -> None:
    from paperlens.features.bib import target_bib

    md = DocAnalysis.from_text("file:///ws/p.md", MARKDOWN, "---\nbibliography:\n  - refs/main.bib\n---\ntext")
    assert target_bib(md, Bibs(), "", Path("/ws"))[1] == Path("/ws/refs/main.bib")
    tex = DocAnalysis.from_text("file:///ws/p.tex", LATEX, "\\bibliography{lib}")
    assert target_bib(tex, Bibs(), "", Path("/ws"))[1] == Path("/ws/lib.bib")
