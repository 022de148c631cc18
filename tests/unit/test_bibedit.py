"""An edit in an open .bib re-reads only the entries it touches: the result is what a fresh read of the new text
gives (blocks, entries, keys, the index's answers, the editor's lines), on a real library and made-up edits."""

from __future__ import annotations

import random
from pathlib import Path
from typing import NamedTuple

import pytest

from paperlens.analysis.bibload import apply_edit, changed_lines, check_bounds, index_file
from paperlens.analysis.bibs import BibFile
from paperlens.core.rope import Rope
from paperlens.index.bibindex import BibIndex
from paperlens.sources.bibcheck import BibCheck, check_region, scan_bib
from paperlens.sources.bibtex import BibDocument

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realworld" / "bib" / "akhirsch_main.bib"


def _read(text: str) -> tuple[BibFile, BibIndex]:
    f = BibFile("file:///main.bib", None, text)
    bib = BibIndex()
    index_file(f, bib)
    assert f.scan is not None  # checked once: edits carry the check on (BibFile.follow)
    return f, bib


def _same_check(f: BibFile, text: str) -> None:
    """The syntax check carried through the edits says what a check of the whole new text says."""
    full = scan_bib(text)
    got = f.scan
    assert [(p.start, p.end, p.message, p.code) for p in got.problems] == \
        [(p.start, p.end, p.message, p.code) for p in full.problems]
    if got.entries:  # (a large file's entries are not kept through edits, only its problems)
        assert got.entries == full.entries


def _same(f: BibFile, bib: BibIndex, text: str) -> None:
    g, fresh = _read(text)
    assert f.text == text
    _same_check(f, text)
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


def test_random_small_edits_on_a_rope_match_a_fresh_read(real: str) -> None:
    """The open large .bib's way: the text is a rope (small chunks here, so that entries and edits cross chunk
    boundaries), each edit a new rope sharing the untouched chunks, applied from its span: the same blocks,
    check, index and cards as a whole read of the new text."""
    rng = random.Random(11)
    text = real[:80_000]
    text = text[: text.rfind("\n@")]
    f, bib = _read(text)
    rope = Rope(text, 1000)
    f = BibFile(f.uri, None, rope, doc=f.doc)
    f.doc.text = rope
    lines = text.split("\n")
    for _ in range(40):
        at = rng.randrange(len(text))
        n = rng.choice([0, 1, 3, 20])
        new = rng.choice(["", "x", "}", "{", "\n", "@", ",", " title = {A}, ", f"\n@misc{{r{at}, title={{R}}}}\n"])
        text2 = text[:at] + new + text[at + n:]
        rope2 = rope.edit(at, at + n, new)
        assert rope2 == text2 and rope == text  # (the text before is still whole: the workspace reads it)
        e = apply_edit(f, rope2, bib, span=(at, at + n))
        if e is None:  # a case the whole-file read handles (a key twice, an unnamed entry): read it so
            f, bib = _read(text2)
            f = BibFile(f.uri, None, rope2, doc=f.doc)
            f.doc.text = rope2
            lines = text2.split("\n")
        else:
            e.splice(lines)
            assert lines == text2.split("\n")
            f = e.file
            assert f.text is rope2 and f.doc.text is rope2
            _same(f, bib, text2)
        text, rope = text2, rope2


def test_a_macro_or_a_duplicate_key_reads_the_file_again() -> None:
    text = "@string{v = {Venue}}\n@article{a, title={A}, journal=v}\n@article{b, title={B}}\n"
    f, bib = _read(text)
    assert apply_edit(f, text.replace("{Venue}", "{Other}"), bib) is None
    assert apply_edit(f, text.replace("{b,", "{a,"), bib) is None
    e = apply_edit(f, text.replace("title={B}", "title={Bee}"), bib)
    assert e is not None and bib.rec(bib.by_key["b"]).title == "Bee"


ENTRY = "@article{{k{i},\n  title = {{Paper {i} on {{Nested}} things}},\n  author = {{Ann Author and Bo Bar}},\n" \
    "  journal = jnl,\n  year = {year}\n}}\n\n"


def _library(n: int = 300) -> str:
    return "@string{jnl = {Journal of Things}}\n\n" + "".join(ENTRY.format(i=i, year=1990 + i % 30) for i in range(n))


def _span_edit(f: BibFile, bib: BibIndex, a: int, b: int, new: str) -> BibFile | None:
    """text[a:b] = new, as the server applies it (the editor's span), then checked against a whole re-read."""
    text = f.text[:a] + new + f.text[b:]
    e = apply_edit(f, text, bib, span=(a, b))
    if e is None:
        return None
    _same(e.file, bib, text)
    return e.file


def test_the_check_and_the_index_follow_each_kind_of_edit() -> None:
    f, bib = _read(_library())
    assert f.scan.problems == ()
    # Inside one entry: its title.
    at = f.text.index("Paper 150 on")
    f2 = _span_edit(f, bib, at, at + len("Paper 150"), "Zyxwvutsrq")
    assert f2 is not None and [bib.rec(i).key for i, _ in bib.search("zyxwvutsrq", 5)] == ["k150"]
    # A new entry between two.
    at = f2.text.index("@article{k200,")
    f3 = _span_edit(f2, bib, at, at, "@misc{added1, title = {Qwertzuiop Added}, year = 2020}\n\n")
    assert f3 is not None and "added1" in bib.by_key
    # An entry deleted.
    a = f3.text.index("@article{k10,")
    b = f3.text.index("@article{k11,")
    f4 = _span_edit(f3, bib, a, b, "")
    assert f4 is not None and "k10" not in bib.by_key
    # One edit across two entries: the end of one and the start of the next, replaced by one merged entry.
    a = f4.text.index("  year = 2010\n}", f4.text.index("@article{k20,"))
    b = f4.text.index("  title", f4.text.index("@article{k21,"))
    f5 = _span_edit(f4, bib, a, b, "  note = {merged},\n")
    assert f5 is not None and "k21" not in bib.by_key and "k20" in bib.by_key
    # An unbalanced brace typed in the middle of an entry: the brace takes the entry's closing brace for its
    # own, so the entry is reported unclosed, at its end, before the next entry ...
    at = f5.text.index("Paper 250 on") + len("Paper 250")
    f6 = _span_edit(f5, bib, at, at, " {unclosed")
    assert f6 is not None
    [p] = f6.scan.problems
    assert p.code == "expecting-rbrace" and p.start[0] == f6.text.count("\n", 0, f6.text.index("@article{k251,")) - 2
    # ... and gone once closed again.
    f7 = _span_edit(f6, bib, at + len(" {unclosed"), at + len(" {unclosed"), "}")
    assert f7 is not None and f7.scan.problems == ()
    # A duplicate key typed (case only differs: BibTeX's view): the check says so; the index keeps one.
    a = f7.text.index("{k30,") + 1
    f8 = _span_edit(f7, bib, a, a + 3, "K31")
    assert f8 is not None and [p.code for p in f8.scan.problems] == ["duplicate-key"]
    # An @string changed: every entry may read differently, so the file is read again (None).
    at = f8.text.index("Journal of Things")
    assert apply_edit(f8, f8.text[:at] + "J." + f8.text[at + 7:], bib, span=(at, at + 7)) is None


def test_a_large_file_keeps_only_its_problems_through_edits() -> None:
    f, bib = _read(_library(2500))  # more entries than the check keeps through edits
    at = f.text.index("@article{k1200,") + len("@article{k1200,")
    f2 = _span_edit(f, bib, at, at, "\n  title = {x")  # never closed
    assert f2 is not None and f2.scan.entries == () and [p.code for p in f2.scan.problems] == ["expecting-rbrace"]


def test_a_check_in_slices_is_the_check_of_the_whole_file(real: str) -> None:
    """The server checks a large .bib a few blocks at a time between requests: the same problems, broken files
    included."""
    for text in (real, real.replace("title", "title {", 3), real.replace("},\n", "}\n", 5) + "\n@misc{x,\n"):
        doc = BibDocument(text, "x")
        bounds = check_bounds(doc, 7)
        assert len(bounds) > 20
        parts, a = [], 0
        for b in bounds:
            parts.append(check_region(text, a, b))
            a = b

        def where(o: int, text: str = text) -> tuple[int, int]:
            return text.count("\n", 0, o), o - (text.rfind("\n", 0, o) + 1)

        got = BibCheck.of_parts(parts).scan(where)
        assert got == scan_bib(text) and (text == real or got.problems)


def test_the_workspace_keeps_one_copy_and_takes_the_editors_span() -> None:
    """didOpen of a .bib read already: the workspace hands back its own equal string (the editor's copy is then
    dropped); an edit given as a span of that string is applied from the span (no compare of the texts)."""
    from paperlens.analysis.workspace import Workspace, read_bib

    text = _library(8000)
    assert len(text) > 1_000_000
    uri = "file:///ws/own.bib"
    ws = Workspace()
    f = read_bib(uri, text)
    ws.put_bib(uri, f)
    index_file(f, ws.bib_index)
    opened = "".join(list(text))  # an equal string, another object (as decoded from the didOpen)
    kept = ws.open(uri, "bibtex", opened, 1, lambda: (opened, 1))
    assert kept is f.text
    at = text.index("@article{k4000,")
    new = "@misc{spanned1, title = {Spanned Entry}}\n\n"
    text2 = text[:at] + new + text[at:]
    ws.change(uri, text2, 2, (), span=(kept, at, at))
    g = ws.bibs.files[uri]
    assert g is not f and g.text is text2 and "spanned1" in ws.bib_index.by_key
    _same(g, ws.bib_index, text2)
    assert list(ws.docs[uri].lines) == text2.split("\n")


def test_an_open_large_bib_is_one_rope_for_the_file_its_lines_and_the_editor() -> None:
    """didOpen of a large .bib read already: the file's text becomes a rope (the string goes), the document's lines
    are read from it (no list of lines), and the editor's edits, new ropes given with their spans, keep the file,
    the lines, the index and the check equal to a whole read of the new text."""
    from paperlens.analysis.textsync import RopeLines
    from paperlens.analysis.workspace import Workspace, read_bib

    text = _library(8000)
    uri = "file:///ws/own.bib"
    ws = Workspace()
    f = read_bib(uri, text)
    ws.put_bib(uri, f)
    index_file(f, ws.bib_index)
    kept = ws.open(uri, "bibtex", "".join(list(text)), 1, lambda: None)
    assert isinstance(kept, Rope) and f.text is kept and f.doc.text is kept and kept == text
    assert isinstance(ws.docs[uri].lines, RopeLines) and list(ws.docs[uri].lines) == text.split("\n")
    rng = random.Random(4)
    rope, added = kept, []
    for i in range(12):
        at = text.index(f"@article{{k{rng.randrange(8000)},")
        a, b, new = rng.choice([(at, at, f"@misc{{r{i}, title = {{Roped Entry {i}}}}}\n\n"),
                                (at + 10, at + 10, "x"), (at, text.index("\n\n", at) + 2, ""),
                                (at + 1, at + 1, "\n  \n")])
        before = rope
        rope, text = rope.edit(a, b, new), text[:a] + new + text[b:]
        added += [f"r{i}"] if "@misc" in new else []
        ws.change(uri, rope, 2 + i, (), span=(before, a, b))
        g = ws.bibs.files[uri]
        assert g.text is rope and g.doc.text is rope
        lines = ws.docs[uri].lines
        assert isinstance(lines, RopeLines) and list(lines) == text.split("\n") and len(lines) == text.count("\n") + 1
        n = rng.randrange(len(lines))
        assert lines[n] == text.split("\n")[n] and lines[n:n + 3] == text.split("\n")[n:n + 3]
    _same(ws.bibs.files[uri], ws.bib_index, text)
    assert added and all(k in ws.bib_index.by_key for k in added)



def test_a_silencing_comment_typed_in_an_open_large_bib_is_seen() -> None:
    """Whether the text holds a 'paperlens:' comment is searched once and then follows the edits (each searches
    the region it re-read): a brace left open is reported, then silenced by a comment typed above it."""
    from paperlens.core.config import Diagnostics
    from paperlens.features.diagnostics import bib_diagnostics

    text = _library(2000)
    f, bib = _read(text)
    rope = Rope(text, 4096)
    f = BibFile(f.uri, None, rope, doc=f.doc)
    f.doc.text = rope
    f.check = BibCheck.of(text)
    assert bib_diagnostics(f, Diagnostics(), None) == [] and not f.marked()
    at = text.index("@article{k1000,")
    a = text.index("title", at)
    new = "title = {Open brace,\n  "
    rope2, text2 = rope.edit(a, a, new), text[:a] + new + text[a:]
    e = apply_edit(f, rope2, bib, span=(a, a))
    assert e is not None
    g = e.file
    problems = bib_diagnostics(g, Diagnostics(), None)
    assert problems and not g.marked()
    _same(g, bib, text2)
    line = problems[0].region.start_line
    s = sum(len(x) + 1 for x in text2.split("\n")[:line])
    note = "% paperlens: ignore\n"
    rope3, text3 = rope2.edit(s, s, note), text2[:s] + note + text2[s:]
    e = apply_edit(g, rope3, bib, span=(s, s))
    assert e is not None and e.file.marked()
    assert any(p.start[0] == line + 1 for p in e.file.scan.problems)  # still there, and now silenced:
    assert [d for d in bib_diagnostics(e.file, Diagnostics(), None) if d.region.start_line == line + 1] == []
    _same(e.file, bib, text3)


def test_the_line_of_each_entry_is_counted_chunk_by_chunk_as_over_the_whole_text() -> None:
    from paperlens.analysis import bibload

    rng = random.Random(7)
    real = (REAL).read_text(encoding="utf-8")
    texts = [real, ""] + ["".join("\n" * rng.randint(0, 3) + f"@article{{k{i},\n  title = {{T {i}}},\n}}"
                                  + " " * rng.randint(0, 2) for i in range(rng.randint(1, 30))) for _ in range(60)]
    for s in texts:
        for text in (s, Rope(s, chunk=rng.randint(1, 50)), Rope(s, chunk=4096)):
            doc = BibDocument(text, "x.bib")
            want, line, prev = [], 0, 0
            for b in doc.blocks:  # (a count over the whole string)
                line += s.count("\n", prev, b.start)
                prev = b.start
                want.append(line)
            assert bibload._lines_of_blocks(doc) == want
