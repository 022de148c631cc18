"""A .bib read block by block (read_bib_file) is the text, encoding and content hash of the old whole-file decode."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from paperlens.analysis.bibload import read_bib_path
from paperlens.core.rope import Rope
from paperlens.sources import bibtex
from paperlens.sources.bibtex import READ_BLOCK, decode_bib_bytes, encoding_note, read_bib_file

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "realworld" / "bib"


def _old(path: Path) -> tuple[str, str, str]:
    data = path.read_bytes()
    text, enc = decode_bib_bytes(data)
    return text, enc, hashlib.blake2b(data, digest_size=16).hexdigest()


# Bytes read (and hashed) at a time: a block, blocks and a bit (a chunk's last block is short), the default.
CHUNKS = [READ_BLOCK, 2 * READ_BLOCK + 5, bibtex.READ_CHUNK]


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("name", ["cryptobib-abbrev3.bib", "akhirsch_main.bib", "biblatex-examples.bib"])
def test_real_bib_as_rope_is_the_whole_file_decode(name: str, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bibtex, "READ_CHUNK", chunk)
    path = REAL / name
    text, enc, digest = read_bib_file(path, rope_chars=0)
    assert isinstance(text, Rope) and len(text.chunks) > 1 or path.stat().st_size <= READ_BLOCK
    assert (str(text), enc, digest) == _old(path)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_multibyte_characters_and_crlf_cut_by_block_edges(tmp_path: Path, chunk: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Each 2-, 3- and 4-byte character, and a CRLF, cut by a block edge after each of its bytes in turn.
    monkeypatch.setattr(bibtex, "READ_CHUNK", chunk)
    cuts = [("é", 1), ("’", 1), ("’", 2), ("漢", 2), ("𝔼", 1), ("𝔼", 2), ("𝔼", 3), ("\r\n", 1)]
    body = ""
    for k, (ch, cut) in enumerate(cuts):
        head = f"@misc{{k{k}, note={{"
        fill = (k + 1) * READ_BLOCK - cut - len(body.encode()) - len(head)
        body += head + "a" * fill + ch + "}}\n"
    data = body.encode()
    for k, (ch, cut) in enumerate(cuts):  # the character's bytes really are on both sides of the edge
        edge = (k + 1) * READ_BLOCK
        assert data[edge - cut:edge - cut + len(ch.encode())] == ch.encode()
    path = tmp_path / "edges.bib"
    path.write_bytes(data)
    text, enc, digest = read_bib_file(path, rope_chars=0)
    assert isinstance(text, Rope) and text == body and str(text) == body
    assert (str(text), enc, digest) == _old(path)
    assert text.count("\r\n") == body.count("\r\n") and text.count("\n") == body.count("\n")
    # A lone CR (old Mac line ends) keeps the file one string: the rope counts lines at '\n' only.
    path.write_bytes(body.encode() + b"@misc{mac,}\r")
    text, _, _ = read_bib_file(path, rope_chars=0)
    assert isinstance(text, str) and text == body + "@misc{mac,}\r"


def test_small_file_stays_a_string(tmp_path: Path) -> None:
    path = tmp_path / "a.bib"
    path.write_text("@misc{a, title={Été}}\n", encoding="utf-8")
    text, enc, _ = read_bib_file(path, rope_chars=1000)
    assert text == "@misc{a, title={Été}}\n" and isinstance(text, str) and enc == "utf-8"


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"),
                                                    ("utf-16", "utf-16"), ("shift_jis", "shift_jis")])
def test_other_encodings_read_and_named_as_before(tmp_path: Path, encoding: str, expected: str) -> None:
    entry = "@article{k%d, title={%s}, author={M\u00fcller, J\u00fcrgen}}\n"
    words = "Caf\u00e9 \u2019na\u00efve\u2019"
    if encoding == "shift_jis":
        entry, words = "@article{k%d, title={%s}}\n", "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c"
    body = "".join(entry % (i, words) for i in range(3000))  # several blocks
    path = tmp_path / "legacy.bib"
    path.write_bytes(body.encode(encoding))
    text, enc, digest = read_bib_file(path, rope_chars=0)
    assert enc == expected and str(text) == body
    assert (str(text), enc, digest) == _old(path)


def test_read_bib_path_of_a_large_file_is_a_rope_with_its_keys_and_note(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from paperlens.analysis import bibload
    monkeypatch.setattr(bibload, "ROPE_CHARS", 10_000)
    body = "".join(f"@article{{k{i}, title={{Caf\u00e9 {i}}}, year={{2020}}}}\n" for i in range(2000))
    path = tmp_path / "big.bib"
    path.write_bytes(body.encode("utf-8"))
    r = read_bib_path(path, "file:///big.bib")
    assert isinstance(r.file.text, Rope) and r.file.text == body and r.file.warnings == []
    assert [e.key for e in r.file.doc.entries] == [f"k{i}" for i in range(2000)]
    assert r.file.doc.paper(r.file.doc.by_key["k1999"]).title == "Caf\u00e9 1999"
    assert r.digest == hashlib.blake2b(body.encode(), digest_size=16).hexdigest()
    path.write_bytes(body.encode("cp1252"))
    r = read_bib_path(path, "file:///big.bib")
    assert r.file.encoding == "cp1252" and r.file.warnings == [encoding_note(path, "cp1252")]
    assert str(r.file.text) == body and len(r.file.doc.entries) == 2000
