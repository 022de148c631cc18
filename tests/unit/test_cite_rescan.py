"""A document's citations after an edit: the scan resumes at the first changed line and stops where the lines
and the scanner's state are those of the last scan (issue 10: a hover after typing in a 3,000-line paper scanned
every line again, ~5 ms). The same keys, ranges and order as a scan of the whole text, whatever the edits
(fuzzed over key lists spanning lines, comments, verbatim and \\iffalse blocks, Markdown fences, front matter
and HTML comments), and cites_on gives a line's keys as filtering them all would."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlens.analysis import cites as cites_mod
from paperlens.analysis.cites import find_cites
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN

LATEX_LINES = [
    r"See \cite{a} and \citep[p.~3]{b, c}.",
    r"Open \cite{d,",
    r"  e, f}",
    r"  g} then \citet{h}",
    r"% \cite{commented}",
    r"\begin{verbatim}",
    r"\cite{in_verbatim}",
    r"\end{verbatim}",
    r"\iffalse",
    r"\cite{in_iffalse}",
    r"\fi",
    r"\iffalse \cite{inline_off} \fi \cite{on}",
    r"\DeclareAcronym{x}{short=x, cite={acro_key}}",
    r"\cites[see][]{m1}{m2}",
    r"plain prose with {an unclosed brace",
    "",
    r"\nocite{*}",
]
MD_LINES = [
    "---",
    "title: x @front",
    "...",
    "As in [@a; @b] and @c.",
    "```",
    "@in_code",
    "```",
    "<!-- @in_comment",
    "still @hidden -->",
    "`@inline` and @shown",
    "See @fig:one and [@arxiv:1234.5678].",
    "",
]


def _check(d: DocAnalysis) -> None:
    full = find_cites(list(d.lines), d.kind)
    assert d.cites() == full
    for ln in range(len(d.lines)):
        assert d.cites_on(ln) == [c for c in full if c.span.line == ln]


EDIT = st.tuples(st.sampled_from(["replace", "insert", "delete", "in_place"]), st.integers(0, 40),
                 st.integers(0, 100))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([LATEX, MARKDOWN]), st.lists(st.integers(0, 100), min_size=1, max_size=40),
       st.lists(EDIT, max_size=8))
def test_citations_after_edits_are_those_of_a_whole_scan(kind: str, start: list[int],
                                                         edits: list[tuple[str, int, int]]) -> None:
    vocab = LATEX_LINES if kind == LATEX else MD_LINES
    d = DocAnalysis("file:///d", kind, [vocab[i % len(vocab)] for i in start])
    _check(d)
    for op, at, pick in edits:
        lines = list(d.lines)
        at %= len(lines) + 1
        new = vocab[pick % len(vocab)]
        if op == "insert" or not lines:
            lines.insert(at, new)
        elif op == "delete" and len(lines) > 1:
            del lines[min(at, len(lines) - 1)]
        elif op == "in_place":  # a caller changing a line of the same list, then invalidating
            d.lines[min(at, len(lines) - 1)] = new
            d.invalidate()
            _check(d)
            continue
        else:
            lines[min(at, len(lines) - 1)] = new
        d.lines = lines
        d.invalidate()
        _check(d)


def test_typing_in_a_line_scans_that_line_only(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["\\documentclass{article}"] + [f"See \\cite{{k{i}}} here." for i in range(3000)] + ["Now \\cite{"]
    d = DocAnalysis("file:///p.tex", LATEX, lines)
    assert len(d.cites()) == 3000
    scanned: list[int] = []
    real = cites_mod._scan_line

    def counting(line: str, ln: int, *a: Any) -> Any:
        scanned.append(ln)
        return real(line, ln, *a)

    monkeypatch.setattr(cites_mod, "_scan_line", counting)
    got = []
    for typed in ("Now \\cite{k", "Now \\cite{k1", "Now \\cite{k12}"):
        d.lines = [*d.lines[:-1], typed]
        d.invalidate()
        got = d.cites_on(len(d.lines) - 1)
        assert scanned == [len(d.lines) - 1]  # the edited line only
        scanned.clear()
    assert [c.key for c in got] == ["k12"] and len(d.cites()) == 3001
    d.lines = [*d.lines[:10], "See \\cite{new} here.", *d.lines[11:]]  # a line in the middle
    d.invalidate()
    assert [c.key for c in d.cites_on(10)] == ["new"] and scanned == [10, 11]  # (11: the same state again)
    scanned.clear()
    d.lines = [d.lines[0], "\\begin{verbatim}", *d.lines[1:]]  # an edit that changes every line below
    d.invalidate()
    assert d.cites() == [] and len(scanned) == len(d.lines) - 1
    assert find_cites(d.lines, LATEX) == []
