"""Real bibliographies: LaTeX that keeps the words, dates as precise as the entry, crossref/xdata, the lazy
BibDocument and the BibIndex that serves a large library."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paperlens.analysis.bibload import index_file, install_cached, read_bib_path
from paperlens.index.bibindex import BibIndex
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.library.store import read_library, snapshot_file
from paperlens.sources.bibtex import BibDocument, parse_bib
from paperlens.sources.latex import latex_to_text

REAL_BIB = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "bib"


@pytest.mark.parametrize(("tex", "text"), [
    (r"\texttt{Davos}: A Python package", "Davos: A Python package"),
    (r"{\TeX}: The Program", "TeX: The Program"),
    (r"The {\TeX book}", "The TeXbook"),
    (r"\LaTeX\ for beginners", "LaTeX for beginners"),
    (r"methodology\hyphen independent", "methodology-independent"),
    (r"$\lambda$-Calculus", "λ-Calculus"),
    (r"A$\beta$25-35", "Aβ25-35"),
    (r"G{\"o}del and {\"O}zt{\"u}rk, \c{C}a\u{g}lar, \'{\i}ndice, Ma{\ss}e", "Gödel and Öztürk, Çağlar, índice, Maße"),
    (r"{\em structurally} and \emph{Tight} \textsc{Sigma}", "structurally and Tight Sigma"),
    (r"\noopsort{1973b}The Art", "The Art"),
    (r"\href{http://x.org}{Link text} and \url{https://x.org/a_b}", "Link text and https://x.org/a_b"),
    (r"pages 1--10, ---", "pages 1–10, —"),
    (r"Unknown \foo{kept} here", "Unknown kept here"),
    ("plain   text\n no tex", "plain text no tex"),
    (r"{unclosed", "unclosed"),
])
def test_latex_to_text_keeps_the_words(tex: str, text: str) -> None:
    assert latex_to_text(tex) == text


def test_biblatex_examples_titles_dates_and_crossref() -> None:
    papers, _ = parse_bib((REAL_BIB / "biblatex-examples.bib").read_text(encoding="utf-8"), "ex.bib")
    by_key = {p.bib_key: p for p in papers}
    assert by_key["knuth:ct:a"].title == "The TeXbook"
    assert by_key["knuth:ct:b"].title == "TeX: The Program"
    # A chapter with crossref (and no date of its own) inherits its book's date, and the book's title is its
    # venue.
    chapter = by_key["westfahl:space"]
    assert (chapter.title, chapter.venue, chapter.year, chapter.date_precision) == (
        "The True Frontier", "Space and Beyond", 2000, "year")
    assert all("\\" not in p.title and "{" not in p.title for p in papers), [p.title for p in papers
                                                                             if "\\" in p.title]


def test_dates_are_only_as_precise_as_the_entry() -> None:
    text = ("@misc{a, title={A}, year=2015}\n@misc{b, title={B}, year=2014, month=oct}\n"
            "@misc{c, title={C}, date={2020-03-07}}\n@misc{d, title={D}, date={2019-11}}\n")
    got = {p.bib_key: (p.date, p.date_precision) for p in parse_bib(text, "x.bib")[0]}
    assert got == {"a": (dt.date(2015, 1, 1), "year"), "b": (dt.date(2014, 10, 1), "month"),
                   "c": (dt.date(2020, 3, 7), None), "d": (dt.date(2019, 11, 1), "month")}


def test_xdata_and_crossref_fill_missing_fields() -> None:
    text = r"""@xdata{lncs, publisher = {Springer}, series = {LNCS}}
@proceedings{conf99, title = {Proceedings of Conf}, year = 1999, editor = {Ed Itor}}
@inproceedings{paper99, title = {A Paper}, author = {Au Thor}, crossref = {CONF99}, xdata = {lncs}}
"""
    doc = BibDocument(text, "x.bib")
    f = doc.fields(doc.by_key["paper99"])
    assert (f["booktitle"], f["year"], f["publisher"], f["title"]) == ("Proceedings of Conf", "1999", "Springer",
                                                                       "A Paper")


def test_cryptobib_macros_expand() -> None:
    macros = BibDocument((REAL_BIB / "cryptobib-abbrev3.bib").read_text(encoding="utf-8"), "a.bib").macros
    assert len(macros) > 10_000
    assert macros["crypto87name"] == "CRYPTO'87"  # cryptoname # "'87"
    text = (REAL_BIB / "cryptobib-abbrev3.bib").read_text(encoding="utf-8") + \
        '\n@InProceedings{C:BonFra01, author = "Dan Boneh and Matthew K. Franklin", title = "Identity-Based ' \
        'Encryption from the {Weil} Pairing", booktitle = crypto01name, month = crypto01month, year = 2001}\n'
    (p,), warnings = parse_bib(text, "c.bib")
    assert warnings == []
    assert (p.title, p.venue, p.date_precision) == ("Identity-Based Encryption from the Weil Pairing", "CRYPTO 2001",
                                                    "month")


def test_entries_are_found_without_reading_fields_and_keys_never_lost() -> None:
    text = (REAL_BIB / "akhirsch_main.bib").read_text(encoding="utf-8")
    doc = BibDocument(text, "main.bib")
    papers, warnings = doc.papers()
    assert len(doc.entries) == 562 + sum(1 for w in warnings if "could not read" in w or "skipped" in w)
    assert {p.bib_key for p in papers} <= set(doc.by_key)


def test_bib_index_search_and_incremental_changes(tmp_path: Path) -> None:
    src = tmp_path / "main.bib"
    src.write_bytes((REAL_BIB / "akhirsch_main.bib").read_bytes())
    cache = tmp_path / "cache"
    r = read_bib_path(src, "file:///main.bib", cache)
    f, digest = r.file, r.digest
    assert r.lights is None and not r.installed
    bib = BibIndex()
    index_file(f, bib, cache, digest, stat_key=r.stat_key)
    assert bib.n == len(f.doc.entries)
    base = Index.build(read_library(snapshot_file()))
    cat = Catalog(base, bib=bib)
    e = cat.by_key("BatesN24")
    assert e is not None and e.title.startswith("We Know I Know You Know")
    assert "BatesN24" in [x.key for x in cat.search("choreographic multicast", 10)]
    assert [x.key for x in cat.search("BatesN2", 3)][0] == "BatesN24"
    # A second start finds the records in the cache (by content hash): nothing is parsed again.
    r2 = read_bib_path(src, "file:///main.bib", cache)
    assert r2.digest == digest and r2.lights is not None and len(r2.lights) == len(r2.file.doc.entries)
    bib2 = BibIndex()
    index_file(r2.file, bib2, cache, r2.digest, r2.lights)
    assert bib2.n == bib.n and Catalog(base, bib=bib2).by_key("BatesN24") is not None
    # Warm, in bulk: the same size and mtime install the cached records before the file is read at all.
    bib3 = BibIndex()
    hit = install_cached(src, "file:///main.bib", bib3, cache)
    assert hit is not None and hit[0] == digest and bib3.n == bib.n
    cat3 = Catalog(base, bib=bib3)
    assert [x.key for x in cat3.search("choreographic multicast", 10)] == \
        [x.key for x in cat.search("choreographic multicast", 10)]
    assert [x.key for x in cat3.search("BatesN2", 3)][0] == "BatesN24"
    assert cat3.by_key("BatesN24").title.startswith("We Know I Know You Know")  # type: ignore[union-attr]
    r3 = read_bib_path(src, "file:///main.bib", cache, bib3, hit)
    assert r3.installed and bib3.n == bib.n
    assert cat3.by_key("BatesN24").paper.authors  # type: ignore[union-attr]  # the card reads the text now
    # A file changed since: its cached records are dropped when the read finds other content.
    src.write_bytes(src.read_bytes().replace(b"BatesN24", b"BatesN99"))
    bib4 = BibIndex()
    hit4 = install_cached(src, "file:///main.bib", bib4, cache)
    assert hit4 is None or read_bib_path(src, "file:///main.bib", cache, bib4, hit4).installed is False
    bib.remove("BatesN24")
    assert cat.by_key("BatesN24") is None
    assert "BatesN24" not in [x.key for x in cat.search("choreographic multicast", 10)]


def test_card_dates_links_and_one_code_line() -> None:
    from paperlens.features.card import card_markdown, card_plain

    text = ("@article{old1972, title={An Old Article}, author={Ann Author}, journal={J. Old}, year=1972}\n"
            "@misc{tool2014, title={Tool: A Thing}, author={Bo Coder}, year=2014, month=oct,"
            " howpublished={\\url{https://github.com/acme/tool}}}\n")
    bib = BibIndex()
    for p in parse_bib(text, "x.bib")[0]:
        from paperlens.index.bibindex import rec_from_paper
        bib.add(rec_from_paper(p, "x.bib"))
    cat = Catalog(Index.build(read_library(snapshot_file())), bib=bib)
    old, tool = cat.by_key("old1972"), cat.by_key("tool2014")
    assert old is not None and tool is not None
    md = card_markdown(old)
    assert "huggingface.co/papers?q=" not in md and "1972" in md and "Jan 1" not in md
    plain = card_plain(tool)
    assert "Oct 2014" in plain and "Oct 1" not in plain
    assert plain.count("Code:") == 1 and "https://github.com/acme/tool" in plain


def test_empty_prefix_ranks_cited_then_own_entries_before_the_feed() -> None:
    from paperlens.analysis.document import DocAnalysis
    from paperlens.features.completion import ranked
    from paperlens.features.context import FeatureContext
    from paperlens.index.bibindex import rec_from_paper

    text = ("@article{smith2017exercise, title={Exercise and mental health}, author={Jane Smith}, year=2017}\n"
            "@book{knuth1984, title={The {\\TeX}book}, author={Donald Knuth}, year=1984}\n")
    bib = BibIndex()
    for p in parse_bib(text, "x.bib")[0]:
        bib.add(rec_from_paper(p, "x.bib"))
    cat = Catalog(Index.build(read_library(snapshot_file())), bib=bib)
    tex = "As shown \\cite{knuth1984}.\n\nMore \\cite{\n"
    doc = DocAnalysis.from_text("file:///p.tex", "latex", tex)
    keys = [e.key for e in ranked(FeatureContext(doc, cat), 2, 11, "", 10)]
    assert keys[:2] == ["knuth1984", "smith2017exercise"]  # cited here, then the user's own entries
    assert len(keys) == 10  # then the feed's papers
    assert [e.key for e in ranked(FeatureContext(doc, cat), 2, 11, "sm", 10)][0] == "smith2017exercise"
    # A feed paper mentioned in the same paragraph still comes first.
    tex2 = "As shown \\cite{knuth1984}.\n\nDRCT keeps features \\cite{\n"
    doc2 = DocAnalysis.from_text("file:///p.tex", "latex", tex2)
    first = ranked(FeatureContext(doc2, cat), 2, len("DRCT keeps features \\cite{"), "", 10)[0]
    assert first.title.startswith("DRCT")
