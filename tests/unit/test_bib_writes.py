"""The one path policy for .bib writes, and the append edit computed from the file as it is now (issue 11: 3, 4,
15). Each edit is applied the way an editor would, and the bytes before it are compared with the original."""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperlens.core.model import Library, Paper
from paperlens.features.bib import (
    BibText,
    BibWriteRefused,
    append_entry_edit,
    check_write_target,
    read_bib_now,
    write_roots,
)
from paperlens.features.results import TextChange
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry, Index
from paperlens.sources.bibtex import existing_keys, format_bibtex

BIB = "@article{tishby2000information,\n  title = {The information bottleneck method},\n  year = {2000}\n}\n"


def entry_for(paper: Paper) -> Entry:
    cat = Catalog(Index.build(Library(papers=[paper])))
    e = cat.lookup(paper.title)
    assert e is not None
    return e


def apply(text: str, edit: TextChange | None) -> str:
    """Apply the edit (code-point positions; LSP line breaks \\r\\n, \\r, \\n) like an editor."""
    assert edit is not None
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    off = starts[edit.region.start_line] + edit.region.start
    return text[:off] + edit.text + text[off:]


# ------------------------------------------------------------------ the path policy


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "refs.bib").write_text(BIB, encoding="utf-8")
    (tmp_path / "outside.bib").write_text(BIB, encoding="utf-8")
    (tmp_path / ".bashrc").write_text("echo hi\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("target", [
    "{home}/.bashrc", "../outside.bib", "../../x.bib", "notes.sh", "refs.bib.sh", "/etc/passwd", "{tmp}/outside.bib",
    "sub/../../outside.bib", "link-out.bib", "link-sh.bib", "dir.bib",
])
def test_writes_outside_the_workspace_or_not_bib_are_refused(ws: Path, target: str) -> None:
    tmp = ws.parent
    (ws / "link-out.bib").symlink_to(tmp / "outside.bib")  # a .bib in the workspace linking out of it
    (ws / "link-sh.bib").symlink_to(tmp / ".bashrc")
    (ws / "dir.bib").mkdir()
    p = Path(target.format(home=tmp, tmp=tmp))
    if not p.is_absolute():
        p = ws / p
    before = {q: q.read_bytes() for q in tmp.rglob("*") if q.is_file()}
    with pytest.raises(BibWriteRefused) as err:
        check_write_target(p, [ws])
    assert str(p) in str(err.value)  # the message names the path
    assert {q: q.read_bytes() for q in tmp.rglob("*") if q.is_file()} == before


def test_writes_inside_the_workspace_are_allowed(ws: Path) -> None:
    assert check_write_target(ws / "refs.bib", [ws]) == (ws / "refs.bib").resolve()
    assert check_write_target(ws / "sub" / "new.bib", [ws]) == (ws / "sub" / "new.bib").resolve()
    assert check_write_target(ws / "REFS.BIB", [ws]).name == "REFS.BIB"
    # Several workspace folders: any of them.
    other = ws.parent / "other"
    other.mkdir()
    assert check_write_target(other / "x.bib", [ws, other]).parent == other.resolve()


def test_without_a_workspace_folder_only_the_documents_folder(ws: Path) -> None:
    doc_uri = (ws / "sub" / "paper.tex").as_uri()
    roots = write_roots([], doc_uri)
    assert roots == [ws / "sub"]
    check_write_target(ws / "sub" / "refs.bib", roots)
    with pytest.raises(BibWriteRefused):
        check_write_target(ws / "refs.bib", roots)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rel=st.lists(st.sampled_from(["..", ".", "sub", "a", "..%2f", "~", "x.bib", "y.sh", "/", "refs.bib", "é"]),
                    min_size=1, max_size=6))
def test_fuzzed_paths_never_leave_the_workspace(ws: Path, rel: list[str]) -> None:
    p = ws.joinpath(*rel)
    try:
        real = check_write_target(p, [ws])
    except BibWriteRefused:
        return
    assert real.suffix.lower() == ".bib"
    assert real.is_relative_to(ws.resolve())


# ------------------------------------------------------------------ the append edit, from the file as it is now


DRCT = Paper(title="DRCT: Saving Image Super-resolution away from Information Bottleneck",
             authors=("Chih-Chung Hsu", "Chia-Ming Lee"), arxiv_id="2404.00722")


def test_the_edit_is_computed_from_the_text_of_now_not_of_start(tmp_path: Path) -> None:
    """Another tool prepended an entry with a long abstract: the new entry still goes after everything."""
    p = tmp_path / "refs.bib"
    p.write_text(BIB, encoding="utf-8")
    prepended = "@misc{zotero2024x,\n  title = {X},\n  abstract = {" + "long " * 200 + "}\n}\n\n" + BIB
    p.write_text(prepended, encoding="utf-8")
    e = entry_for(DRCT)
    new = apply(prepended, append_entry_edit(e, p.as_uri(), read_bib_now(p)))
    assert new.startswith(prepended)  # nothing before the end changed
    keys = [x.key for x in bibtexparser.parse_string(new).entries]
    assert keys == ["zotero2024x", "tishby2000information", e.key]


def test_a_key_added_meanwhile_is_not_added_twice(tmp_path: Path) -> None:
    e = entry_for(DRCT)
    p = tmp_path / "refs.bib"
    p.write_text(BIB + "\n" + format_bibtex(DRCT, e.key), encoding="utf-8")
    assert append_entry_edit(e, p.as_uri(), read_bib_now(p)) is None


def test_the_open_documents_version_goes_with_the_edit(tmp_path: Path) -> None:
    e = entry_for(DRCT)
    edit = append_entry_edit(e, "file:///x/refs.bib", read_bib_now(tmp_path / "refs.bib", BIB, 7))
    assert edit is not None and edit.version == 7 and not edit.create


def test_crlf_file_gets_crlf_entry(tmp_path: Path) -> None:
    p = tmp_path / "refs.bib"
    p.write_bytes(BIB.replace("\n", "\r\n").encode())
    now = read_bib_now(p)
    assert now.text is not None and "\r\n" in now.text  # read as bytes: line endings kept
    new = apply(now.text, append_entry_edit(entry_for(DRCT), p.as_uri(), now))
    assert new.startswith(now.text)
    assert "\n" not in new.replace("\r\n", "")  # every line break is CRLF


def test_latin1_file_gets_an_ascii_entry_and_keeps_its_bytes(tmp_path: Path) -> None:
    p = tmp_path / "refs.bib"
    original = "@article{g\xf6del1931,\n  title = {\xdcber formal unentscheidbare S\xe4tze},\n}\n".encode("latin-1")
    p.write_bytes(original)
    now = read_bib_now(p)
    assert now.encoding in ("latin-1", "cp1252")
    paper = Paper(title="Gödel's theorems, revisited", authors=("Kurt Gödel", "Émile Borel"), arxiv_id="2401.00001")
    new = apply(now.text or "", append_entry_edit(entry_for(paper), p.as_uri(), now))
    added = new[len(now.text or ""):]
    assert added.isascii() and '{\\"o}' in added and "{\\'E}" in added
    assert new.encode(now.encoding).startswith(original)  # written back in the file's encoding, old bytes intact


def test_utf8_bom_file_keeps_its_bom(tmp_path: Path) -> None:
    p = tmp_path / "refs.bib"
    p.write_bytes(b"\xef\xbb\xbf" + BIB.encode())
    now = read_bib_now(p)
    assert now.encoding == "utf-8-sig" and now.text == BIB  # the BOM is not text: no position shifts by it


def test_apostrophe_keys_are_found_and_written(tmp_path: Path) -> None:
    text = "@article{o'brien2020,\n  title = {A},\n  year = {2020}\n}\n"
    assert "o'brien2020" in existing_keys(text)
    paper = Paper(title="A", bib_key="o'brien2020")
    assert format_bibtex(paper, "o'brien2020").startswith("@misc{o'brien2020,")


def test_backticks_and_control_characters_from_a_feed_stay_text() -> None:
    paper = Paper(title="Run `rm -rf ~` \x1b]8;;http://x\x07now\u202e", authors=("A `B`",), arxiv_id="2401.00001")
    bib = format_bibtex(paper, "a2024run")
    assert "`" not in bib and "\x1b" not in bib and "\x07" not in bib and "\u202e" not in bib
    assert "\\textasciigrave{}" in bib
    assert [e.key for e in bibtexparser.parse_string(bib).entries] == ["a2024run"]


@settings(max_examples=200, deadline=None)
@given(title=st.text(min_size=1, max_size=80), prefix=st.text(max_size=200), crlf=st.booleans())
def test_fuzzed_appends_never_change_existing_bytes(title: str, prefix: str, crlf: bool) -> None:
    """Whatever the title and whatever the file holds, the edit only adds after the end."""
    if not title.strip():
        return
    text = prefix + ("\r\n" if crlf else "\n") + BIB
    e = entry_for(Paper(title=title, arxiv_id="2401.00001"))
    edit = append_entry_edit(e, "file:///x.bib", BibText(text))
    if edit is None:  # the generated key already appears in the fuzzed prefix
        assert e.key in existing_keys(text)
        return
    new = apply(text, edit)
    assert new.startswith(text)
    assert e.key in existing_keys(new)

