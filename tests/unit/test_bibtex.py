"""BibTeX: reading entries, locating them, writing new ones and appending without touching the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paperlens.core.model import Paper
from paperlens.sources.bibtex import append_entry, bib_entry_ranges, existing_keys, format_bibtex, parse_bib
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import read_feed_file

SCHOLAR = r"""@article{vaswani2017attention,
  title={Attention is all you need},
  author={Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and others},
  journal={arXiv preprint arXiv:1706.03762},
  year={2017}
}
"""

ARXIV_MISC = r"""@misc{hsu2024drct,
      title={{DRCT}: Saving Image Super-resolution away from Information Bottleneck},
      author={Chih-Chung Hsu and Chia-Ming Lee and Yi-Shiuan Chou},
      year={2024},
      eprint={2404.00722},
      archivePrefix={arXiv},
      primaryClass={cs.CV},
      url={https://arxiv.org/abs/2404.00722},
}
"""


def test_google_scholar_article() -> None:
    (p,), warnings = parse_bib(SCHOLAR, "refs.bib")
    assert warnings == []
    assert p == Paper(
        title="Attention is all you need",
        authors=("Ashish Vaswani", "Noam Shazeer", "Niki Parmar"),
        date=dt.date(2017, 1, 1),
        date_precision="year",  # the entry says 2017, not Jan 1, 2017
        arxiv_id="1706.03762",
        bib_key="vaswani2017attention",
        bib_type="article",
        source="bib:refs.bib",
    )


def test_arxiv_export_misc() -> None:
    (p,), _ = parse_bib(ARXIV_MISC, "refs.bib")
    assert p.title == "DRCT: Saving Image Super-resolution away from Information Bottleneck"
    assert p.authors == ("Chih-Chung Hsu", "Chia-Ming Lee", "Yi-Shiuan Chou")
    assert (p.arxiv_id, p.primary_class, p.venue, p.url) == (
        "2404.00722",
        "cs.CV",
        None,
        "https://arxiv.org/abs/2404.00722",
    )


@pytest.mark.parametrize(
    ("fields", "arxiv_id"),
    [
        ("eprint = {arXiv:2404.00722v2}", "2404.00722"),
        ("eprint = {2404.00722}, eprinttype = {arxiv}", "2404.00722"),
        ("eprint = {2404.00722}, archivePrefix = {PubMed}", None),
        ("url = {https://arxiv.org/pdf/2301.12345v1.pdf}", "2301.12345"),
        ("doi = {10.48550/arXiv.2301.12345}", "2301.12345"),
        ("journal = {CoRR}, volume = {abs/1706.03762}", "1706.03762"),
        ("note = {arXiv: 2301.12345 [cs.LG]}", "2301.12345"),
        ("eprint = {hep-th/9901001}", None),  # old-style ids are not used to build URLs
    ],
)
def test_arxiv_id_sources(fields: str, arxiv_id: str | None) -> None:
    (p,), _ = parse_bib(f"@misc{{k, title = {{T}}, {fields}}}", "f.bib")
    assert p.arxiv_id == arxiv_id


def test_latex_accents_venue_month_doi_repo() -> None:
    text = r"""
@string{neurips = "Advances in Neural Information Processing Systems"}
@InProceedings{tyr,
  Title = {T{\'y}r-the-Pruner: {LLM} Pruning with 100\% \& more},
  Author = {G{\"o}del, Kurt and M{\"u}ller, J{\"u}rgen and {Ant Group Research}},
  booktitle = neurips,
  year = 2025, month = mar,
  doi = {https://doi.org/10.1000/xyz_1},
  howpublished = {\url{https://github.com/AMD-AGI/Tyr-the-Pruner}},
  abstract = {We prune {\em structurally}.},
}
"""
    (p,), warnings = parse_bib(text, "f.bib")
    assert warnings == []
    assert p.title == "Týr-the-Pruner: LLM Pruning with 100% & more"
    assert p.authors == ("Kurt Gödel", "Jürgen Müller", "Ant Group Research")
    assert p.venue == "Advances in Neural Information Processing Systems"
    assert (p.date, p.doi, p.repo, p.bib_type) == (
        dt.date(2025, 3, 1),
        "10.1000/xyz_1",
        "AMD-AGI/Tyr-the-Pruner",
        "inproceedings",
    )
    assert p.url == "https://github.com/AMD-AGI/Tyr-the-Pruner"
    assert p.abstract == "We prune structurally."


def test_failed_blocks_become_warnings_with_line_and_key() -> None:
    text = SCHOLAR + "\n@misc{broken,\n  title = {Unclosed\n\n" + ARXIV_MISC + "@misc{notitle, year = 2020}\n"
    text += "@misc{hsu2024drct, title = {Again}}\n"
    papers, warnings = parse_bib(text, "refs.bib")
    assert [p.bib_key for p in papers] == ["vaswani2017attention", "hsu2024drct"]
    assert warnings[0].startswith("refs.bib:8: could not read entry `broken`: ")
    assert warnings[1] == "refs.bib:20: entry `notitle` skipped: no title"
    assert (
        warnings[2]
        == "refs.bib:21: duplicate key `hsu2024drct`: this entry is ignored, the first one is used"
    )
    assert len(warnings) == 3


def test_read_feed_file_bib(tmp_path: Path) -> None:
    f = tmp_path / "refs.bib"
    f.write_text(SCHOLAR + ARXIV_MISC, encoding="utf-8")
    papers, _ = read_feed_file(f)
    assert [p.source for p in papers] == [f"bib:{f}"] * 2
    empty = tmp_path / "empty.bib"
    empty.write_text("% nothing yet\n", encoding="utf-8")
    with pytest.raises(FeedError, match=r"empty\.bib: no papers found"):
        read_feed_file(empty)


PREPRINT = Paper(
    title="DRCT: Saving Image Super-resolution away from Information Bottleneck",
    authors=("Chih-Chung Hsu", "Chia-Ming Lee", "Yi-Shiuan Chou"),
    date=dt.date(2024, 4, 1),
    arxiv_id="2404.00722",
    primary_class="cs.CV",
)


def test_format_arxiv_preprint_in_export_style() -> None:
    assert format_bibtex(PREPRINT, "hsu2024drct") == (
        "@misc{hsu2024drct,\n"
        "  title = {{DRCT}: Saving Image Super-resolution away from Information Bottleneck},\n"
        "  author = {Chih-Chung Hsu and Chia-Ming Lee and Yi-Shiuan Chou},\n"
        "  year = {2024},\n"
        "  eprint = {2404.00722},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass = {cs.CV},\n"
        "  url = {https://arxiv.org/abs/2404.00722}\n"
        "}\n"
    )


def test_format_with_only_an_author_count_says_so_instead_of_inventing_names() -> None:
    p = Paper(title="Intelligence per Watt", author_count=5, date=dt.date(2025, 11, 11), repo="o/r")
    out = format_bibtex(p, "ipw2025")
    assert "author =" not in out
    assert "  note = {Author names not available (5 authors)},\n" in out
    assert out.startswith("@misc{ipw2025,\n")
    assert "  url = {https://github.com/o/r},\n  howpublished = {\\url{https://github.com/o/r}}\n}" in out


def test_format_with_venue() -> None:
    conf = Paper(
        title="Local Augmentation for Graph Neural Networks",
        venue="ICML",
        date=dt.date(2022, 1, 1),
        authors=("Songtao Liu",),
        doi="10.1/x",
    )
    assert format_bibtex(conf, "liu2022local").startswith("@inproceedings{liu2022local,\n")
    assert "  booktitle = {ICML},\n" in format_bibtex(conf, "k")
    journal = Paper(title="X", venue="Neural Computation", arxiv_id="2301.00001")
    out = format_bibtex(journal, "k")
    assert out.startswith("@article{k,") and "  journal = {Neural Computation},\n" in out
    assert "eprint = {2301.00001}" in out and "primaryClass" not in out


ROUND_TRIP = [
    PREPRINT,
    Paper(
        title="S^3-Attention:Attention-Aligned Retrieval for 100% & $5 #1 a_b ~ {x} back\\slash",
        authors=("Kurt Gödel", "Ant and Bee Lab"),
        arxiv_id="2601.00001",
        date=dt.date(2026, 1, 27),
    ),
    Paper(
        title="Týr-the-Pruner: Structural Pruning LLMs",
        authors=("Guanchen Li",),
        date=dt.date(2025, 3, 12),
        arxiv_id="2503.09657",
        repo="AMD-AGI/Tyr-the-Pruner",
    ),
    Paper(title="Nexus:Proactive Intra-GPU Disaggregation", author_count=4, date=dt.date(2025, 7, 9)),
    Paper(
        title="Graph Transformers for Large Graphs",
        venue="Proceedings of KDD",
        url="https://x.org/a_b%20c",
        authors=("A B",),
        date=dt.date(2023, 12, 18),
        doi="10.1145/123",
    ),
]


@pytest.mark.parametrize("paper", ROUND_TRIP, ids=lambda p: p.title[:20])
def test_format_round_trips_through_parse_bib(paper: Paper) -> None:
    (back,), warnings = parse_bib(format_bibtex(paper, "key2024"), "x.bib")
    assert warnings == []
    assert back.title == paper.title
    assert back.authors == paper.authors
    assert back.year == paper.year
    assert (back.arxiv_id, back.primary_class, back.venue, back.doi) == (
        paper.arxiv_id,
        paper.primary_class,
        paper.venue,
        paper.doi,
    )
    if paper.url:
        assert back.url == paper.url


def test_format_rejects_a_bad_key() -> None:
    with pytest.raises(ValueError):
        format_bibtex(PREPRINT, "has space")


def test_bib_entry_ranges() -> None:
    text = (
        "% @misc{commented, title={x}}\n"
        "@string{x = {y}}\n"
        "@article{a,\n  title = {Nested {braces} here},\n  note = {mail me@x.org}\n}\n"
        "\n"
        "  @misc(b, title = {Týr (paren style)})  @misc{c,\n"
        "  title = {never closed\n"
        "\n"
        "@misc{d, title={D}}"
    )
    assert bib_entry_ranges(text) == {
        "a": (2, 0, 5, 1),
        "b": (7, 2, 7, 39),
        "c": (7, 41, 8, 23),  # unterminated: runs to the end of its text before the next entry
        "d": (10, 0, 10, 19),
    }
    assert existing_keys(text) == {"a", "b", "c", "d"}


def test_bib_entry_ranges_crlf() -> None:
    text = "@misc{a,\r\n title={A}\r\n}\r\n@misc{b, title={B}}\r\n"
    assert bib_entry_ranges(text) == {"a": (0, 0, 2, 1), "b": (3, 0, 3, 19)}


def _apply(text: str, edit: tuple[int, int, str]) -> str:
    line, character, new_text = edit
    lines = text.splitlines(keepends=True) or [""]
    if line == len(lines):  # position just past a final line break
        lines.append("")
    offset = sum(len(x) for x in lines[:line]) + character
    return text[:offset] + new_text + text[offset:]


ENTRY = format_bibtex(PREPRINT, "hsu2024drct")


@pytest.mark.parametrize(
    ("before", "sep"),
    [
        ("", ""),
        (SCHOLAR, "\n"),  # ends with one newline: add the blank line
        (SCHOLAR.rstrip("\n"), "\n\n"),  # no final newline
        (SCHOLAR + "\n", ""),  # already a blank line
        (SCHOLAR + "\n\n\n", ""),  # more than one: nothing removed
        (SCHOLAR + "   ", "\n"),  # trailing spaces: that line becomes the blank one
    ],
)
def test_append_entry_keeps_every_byte(before: str, sep: str) -> None:
    edit = append_entry(before, ENTRY)
    after = _apply(before, edit)
    assert after == before + sep + ENTRY
    assert after.startswith(before)
    papers, _ = parse_bib(after, "x.bib")
    keys = [p.bib_key for p in papers]
    assert keys == (["vaswani2017attention"] if before else []) + ["hsu2024drct"]


def test_append_entry_position_and_crlf() -> None:
    before = SCHOLAR.replace("\n", "\r\n")
    line, character, new_text = append_entry(before, ENTRY)
    assert (line, character) == (6, 0)
    assert new_text == "\r\n" + ENTRY.replace("\n", "\r\n")
    assert append_entry("@misc{a, title={A}}", "@misc{b, title={B}}") == (0, 19, "\n\n@misc{b, title={B}}\n")


def test_append_entry_takes_the_files_line_ending_and_encoding() -> None:
    old_mac = SCHOLAR.replace("\n", "\r")
    line, character, new_text = append_entry(old_mac, ENTRY)
    assert (line, character) == (6, 0) and new_text == "\r" + ENTRY.replace("\n", "\r")
    mostly_lf = SCHOLAR.replace("\n", "\r\n", 1)  # one stray CRLF in an LF file: the entry is LF
    assert "\r" not in append_entry(mostly_lf, ENTRY)[2]
    goedel = format_bibtex(Paper(title="Über Sätze", authors=("Kurt Gödel",)), "goedel1931")
    assert append_entry(SCHOLAR, goedel, "utf-8")[2] == "\n" + goedel  # UTF-8 keeps the letters
    for encoding in ("latin-1", "cp1252", "gb18030", "utf-16"):
        added = append_entry(SCHOLAR, goedel, encoding)[2]
        assert added.isascii() and '{\\"U}ber' in added and 'G{\\"o}del' in added, encoding


def test_append_twice_keeps_order() -> None:
    text = SCHOLAR
    for paper, key in [(PREPRINT, "first"), (ROUND_TRIP[2], "second")]:
        text = _apply(text, append_entry(text, format_bibtex(paper, key)))
    assert [p.bib_key for p in parse_bib(text, "x")[0]] == ["vaswani2017attention", "first", "second"]
    assert text.startswith(SCHOLAR + "\n@misc{first,")


@pytest.mark.parametrize(("text", "encoding", "expected"), [
    ("@article{k, title={Über Gödel café}, author={Müller}}", "utf-8", "utf-8"),
    ("@article{k, title={Über Gödel café}, author={Müller}}", "utf-8-sig", "utf-8-sig"),
    ("@article{k, title={Über Gödel café naïve}, author={Müller and Ñandú}}", "cp1252", "cp1252"),
    ("@article{k, title={Über Gödel café naïve}, author={Müller}}", "latin-1", "cp1252"),
    ("@article{k, title={深度学习图像超分辨率研究：一种方法}, author={张三 and 李四}}", "gbk", "gb18030"),
    ("@article{k, title={日本語の論文です}, author={山田 太郎}}", "shift_jis", "shift_jis"),
    ("@article{k, title={Ünïcödé}}", "utf-16", "utf-16"),
])
def test_decode_bib_bytes_names_the_encoding(text: str, encoding: str, expected: str) -> None:
    from paperlens.sources.bibtex import decode_bib_bytes

    assert decode_bib_bytes(text.encode(encoding)) == (text, expected)


def test_detect_newline() -> None:
    from paperlens.sources.bibtex import detect_newline

    assert detect_newline("a\r\nb\r\nc\n") == "\r\n"
    assert detect_newline("a\nb\n") == "\n"
    assert detect_newline("a\rb\r") == "\r"
    assert detect_newline("one line") == "\n"


def test_gbk_bib_feed_is_read_with_a_note(tmp_path: Path) -> None:
    f = tmp_path / "cn.bib"
    f.write_bytes("@article{zhang2020,\r\n  title = {深度学习研究},\r\n  year = {2020}\r\n}\r\n".encode("gbk"))
    (p,), warnings = read_feed_file(f)
    assert p.title == "深度学习研究" and p.bib_key == "zhang2020"
    assert warnings == [f"{f}: not UTF-8; read as gb18030"]
