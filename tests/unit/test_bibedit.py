"""An edit in an open .bib re-reads only the entries it touches: the result is what a fresh read of the new text
gives (blocks, entries, keys, the index's answers, the editor's lines), on a real library and made-up edits."""

from __future__ import annotations

import random
from pathlib import Path
from typing import NamedTuple

import pytest

from paperlens.analysis.bibload import apply_edit, changed_lines, index_file
from paperlens.analysis.bibs import BibFile
from paperlens.index.bibindex import BibIndex
from paperlens.sources.bibtex import BibDocument

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realworld" / "bib" / "akhirsch_main.bib"


def _read(text: str) -> tuple[BibFile, BibIndex]:
    f = BibFile("file:///main.bib", None, text)
    bib = BibIndex()
    index_file(f, bib)
    return f, bib


def _same(f: BibFile, bib: BibIndex, text: str) -> None:
    g, fresh = _read(text)
    assert f.text == text
    assert [(b.kind, b.key, b.start, b.body, b.end) for b in f.doc.blocks] == \
        [(b.kind, b.key, b.start, b.body, b.end) for b in g.doc.blocks]
    assert f.doc.by_key == g.doc.by_key
    assert [e.key for e in f.doc.entries] == [e.key for e in g.doc.entries]
    assert set(bib.by_key) == set(fresh.by_key)
    for key in list(fresh.by_key)[::7]:
        a, b = bib.rec(bib.by_key[key]), fresh.rec(fresh.by_key[key])
        assert (a.title, a.authors_short, a.year, a.doi) == (b.title, b.authors_short, b.year, b.doi)
    for q in ("choreograph", "logic", "2019", "Bates"):
        assert {bib.rec(i).key for i, _ in bib.search(q, 500)} == {fresh.rec(i).key for i, _ in fresh.search(q, 500)}
    for key in list(fresh.by_key)[::50]:
        assert bib.paper(bib.by_key[key]).title == g.doc.paper(g.doc.by_key[key]).title


def _edit(f: BibFile, bib: BibIndex, lines: list[str], text: str) -> BibFile:
    """The edit applied twice, from the texts alone and with the didChange's line range (the server's way):
    both give the same result."""
    old_lines = list(lines)
    e = apply_edit(f, text, bib)
    assert e is not None
    e.splice(lines)
    assert lines == text.split("\n")
    # The same edit as a didChange range: the lines from the first that differs to the last that differs.
    shorter = min(len(old_lines), len(lines))
    first = next((i for i, (x, y) in enumerate(zip(old_lines, lines, strict=False)) if x != y), shorter)
    tail = next((i for i, (x, y) in enumerate(zip(reversed(old_lines), reversed(lines), strict=False)) if x != y or
                 i >= shorter - first), 0)
    change = Change(Range(Pos(first), Pos(len(old_lines) - tail - 1)), "\n".join(lines[first:len(lines) - tail]))
    hint = changed_lines([change], len(old_lines))
    assert hint is not None and hint[0] == first
    g = BibFile(f.uri, None, f.text, doc=BibDocument(f.text, "x"))
    bib2 = BibIndex()
    index_file(g, bib2)
    e2 = apply_edit(g, text, bib2, hint)
    assert e2 is not None and (e2.first, e2.count, e2.new_lines) == (e.first, e.count, e.new_lines)
    return e.file


class Pos(NamedTuple):
    line: int


class Range(NamedTuple):
    start: Pos
    end: Pos


class Change(NamedTuple):
    range: Range
    text: str


@pytest.fixture(scope="module")
def real() -> str:
    return REAL.read_text(encoding="utf-8")


def test_edits_in_a_real_library_match_a_fresh_read(real: str) -> None:
    f, bib = _read(real)
    lines = real.split("\n")
    text = real
    keys = list(f.doc.by_key)
    # A title changed in the middle: the entry is found by its new words, not its old ones.
    k = keys[len(keys) // 2]
    at = text.index("title", f.doc.entries[f.doc.by_key[k]].start)
    text = text[:at] + "title = {Zyxwvutsrq Protocols},\n  oldtitle" + text[at + 5:]
    f = _edit(f, bib, lines, text)
    assert [bib.rec(i).key for i, _ in bib.search("zyxwvuts", 5)] == [k]
    _same(f, bib, text)
    # A key renamed, an entry deleted, one inserted (shorter and longer texts: later offsets shift).
    k2 = keys[10]
    text = text.replace("{" + k2 + ",", "{" + k2 + "Renamed,", 1)
    f = _edit(f, bib, lines, text)
    assert k2 not in bib.by_key and k2 + "Renamed" in bib.by_key
    _same(f, bib, text)
    e = f.doc.entries[f.doc.by_key[keys[20]]]
    text = text[:e.start] + text[e.end:]
    f = _edit(f, bib, lines, text)
    assert keys[20] not in bib.by_key
    at = f.doc.entries[f.doc.by_key[keys[30]]].start
    text = text[:at] + "@article{NewOne2025,\n  title = {Brand New Results},\n  author = {Ann Author},\n" \
        "  year = 2025\n}\n\n" + text[at:]
    f = _edit(f, bib, lines, text)
    assert [bib.rec(i).key for i, _ in bib.search("brand new", 5)] == ["NewOne2025"]
    _same(f, bib, text)
    # At the very start and the very end of the file, and an edit that changes nothing.
    text = "% my library\n" + text
    f = _edit(f, bib, lines, text)
    text = text + "\n@misc{Last1, title={The Very Last}, year=2001}\n"
    f = _edit(f, bib, lines, text)
    _same(f, bib, text)
    # Two edits far apart in one change span the @string macros at the top: the file is read again.
    assert apply_edit(f, "%\n" + text + "%\n", bib) is None
    assert apply_edit(f, text, bib) is not None


def test_random_small_edits_match_a_fresh_read(real: str) -> None:
    rng = random.Random(7)
    text = real[:60_000]
    text = text[: text.rfind("\n@")]
    f, bib = _read(text)
    lines = text.split("\n")
    for _ in range(40):
        at = rng.randrange(len(text))
        n = rng.choice([0, 1, 3, 20])
        new = rng.choice(["", "x", "}", "{", "\n", "@", ",", " title = {A}, ", f"\n@misc{{r{at}, title={{R}}}}\n"])
        text2 = text[:at] + new + text[at + n:]
        e = apply_edit(f, text2, bib)
        if e is None:  # a case the whole-file read handles (a key twice, an unnamed entry): read it so
            f, bib = _read(text2)
            lines = text2.split("\n")
        else:
            e.splice(lines)
            assert lines == text2.split("\n")
            f = e.file
            _same(f, bib, text2)
        text = text2


def test_a_macro_or_a_duplicate_key_reads_the_file_again() -> None:
    text = "@string{v = {Venue}}\n@article{a, title={A}, journal=v}\n@article{b, title={B}}\n"
    f, bib = _read(text)
    assert apply_edit(f, text.replace("{Venue}", "{Other}"), bib) is None
    assert apply_edit(f, text.replace("{b,", "{a,"), bib) is None
    e = apply_edit(f, text.replace("title={B}", "title={Bee}"), bib)
    assert e is not None and bib.rec(bib.by_key["b"]).title == "Bee"
