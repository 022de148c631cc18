"""The same texlab cases (cases.py) against the pure feature functions, without a server: completion, hover,
definition and diagnostics computed from the fixture's files in memory, and checked as over the wire."""

from __future__ import annotations

from pathlib import Path

import pytest
from cases import CASES, ISSUE_CASES, Case
from fixture import Fixture, Mark, parse

from paperlens.analysis.bibs import BibFile, Bibs
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX, doc_kind
from paperlens.core.config import parse_settings
from paperlens.features.completion import card, completions
from paperlens.features.context import FeatureContext
from paperlens.features.diagnostics import bib_diagnostics, diagnostics
from paperlens.features.hover import hover
from paperlens.features.navigation import definition
from paperlens.features.results import Diagnostic, Region
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.library.store import read_library, snapshot_file
from paperlens.sources.bibtex import bib_entry_ranges, parse_bib

ROOT = Path("/ws")
PURE = [c for c in CASES + ISSUE_CASES if c.request in ("completion", "resolve", "hover", "definition", "diagnostics")]


@pytest.fixture(scope="module")
def base() -> Index:
    return Index.build(read_library(snapshot_file()))


def world(fx: Fixture, base: Index) -> tuple[dict[str, DocAnalysis], Bibs, Catalog]:
    docs: dict[str, DocAnalysis] = {}
    bibs = Bibs()
    for name, text in fx.files.items():
        u = (ROOT / name).as_uri()
        docs[name] = DocAnalysis.from_text(u, doc_kind(None, u), text)
        if name.endswith(".bib"):
            papers, warnings = parse_bib(text, name)
            bibs.files[u] = BibFile(u, ROOT / name, text, papers, bib_entry_ranges(text), warnings)
    return docs, bibs, Catalog(base, bibs.papers())


def rng(m: Mark) -> Region:
    return Region.on_line(m.line, m.start, m.end)


@pytest.mark.parametrize("case", PURE, ids=[c.id for c in PURE])
def test_pure(case: Case, base: Index) -> None:
    fx = parse(case.fixture)
    docs, bibs, catalog = world(fx, base)
    cur = fx.cursor
    if case.request in ("completion", "resolve"):
        assert cur is not None
        res = completions(FeatureContext(docs[cur.file], catalog, bibs), cur.line, cur.start)
        items = res or []
        if case.nothing and case.request == "completion":
            assert items == []
            return
        labels = [i.label for i in items]
        assert set(case.offered) <= set(labels) and not set(case.not_offered) & set(labels), labels[:10]
        [expected] = fx.ranges_in(cur.file) or [cur]
        assert all(i.region == rng(expected) for i in items)
        if case.request == "resolve":
            text = card(catalog, next(i for i in items if i.label == case.offered[0]).key) or ""
            assert (not text) if case.nothing else all(w in text for w in case.contains), text
    elif case.request == "hover":
        assert cur is not None
        h = hover(FeatureContext(docs[cur.file], catalog, bibs), cur.line, cur.start)
        if case.nothing:
            assert h is None
            return
        assert h is not None and h.markdown and h.region == rng(fx.ranges[0])
        assert all(w in h.text.replace("\\", "") for w in case.contains)
    elif case.request == "definition":
        assert cur is not None
        link = definition(FeatureContext(docs[cur.file], catalog, bibs), cur.line, cur.start)
        assert link is not None and link.uri == (ROOT / case.target).as_uri()
        selection, whole = fx.ranges_in(case.target)
        assert (link.selection, link.region) == (rng(selection), rng(whole))
    else:
        settings = parse_settings(case.settings)[0]
        cfg = settings.diagnostics
        cited = {c.key for d in docs.values() for c in d.cites()}
        got: list[tuple[str, Diagnostic]] = []
        for name, d in docs.items():
            if d.kind == BIBTEX:
                got += [(name, x) for x in bib_diagnostics(bibs.files[d.uri], cfg, cited)]
            else:
                got += [(name, x) for x in diagnostics(FeatureContext(d, catalog, bibs, settings))]
        if case.nothing:
            assert got == []
            return
        assert [(f, x.code) for f, x in got] == list(case.diagnostics)
        for (_, x), mark in zip(got, fx.ranges, strict=True):
            r = x.region
            assert (r.start_line, r.start) == (mark.line, mark.start) and (mark.start == mark.end or r == rng(mark))
