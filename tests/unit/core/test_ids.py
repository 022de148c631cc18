"""core/ids.py: the one parser, validator and URL builder for arXiv ids, DOIs and GitHub repos, on made-up
strings and on what real files contain (../shared/realworld: .bib libraries, a raw HF daily_papers response)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from paperlens.core.ids import (
    arxiv_abs_url,
    arxiv_pdf_url,
    doi_url,
    find_arxiv_ids,
    find_github_repos,
    github_repo_in,
    github_url,
    hf_paper_url,
    paper_arxiv_id,
    parse_arxiv_id,
    parse_doi,
    parse_github_repo,
    valid_doi,
    valid_repo,
)
from paperlens.core.urls import safe_url
from paperlens.sources.bibtex import parse_bib

# -- arXiv ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed", "paper"),
    [
        ("2404.00722", "2404.00722", "2404.00722"),
        (" 2404.00722v2 ", "2404.00722", "2404.00722"),
        ("arXiv:2404.00722", "2404.00722", "2404.00722"),
        ("arxiv: 2501.00001v3", "2501.00001", "2501.00001"),
        ("https://arxiv.org/abs/2404.00722v1", "2404.00722", "2404.00722"),
        ("https://arxiv.org/pdf/2301.12345v1.pdf", "2301.12345", "2301.12345"),
        ("10.48550/arXiv.2301.12345", "2301.12345", "2301.12345"),
        ("0704.0001", "0704.0001", "0704.0001"),  # the first new-style id
        ("hep-th/9901001", "hep-th/9901001", None),  # old style: arXiv knows it, HF and the index do not
        ("math/0307200v3", "math/0307200", None),  # biblatex-examples.bib's eprint
        ("math.GT/0309136", "math.GT/0309136", None),
        ("cond-mat.str-el/0101001v2", "cond-mat.str-el/0101001", None),
        ("2404.007222", None, None),  # six digits
        ("2404.007", None, None),
        ("see 2404.00722", None, None),  # a value, not text: nothing around the id
        ("../../etc", None, None),
        ("", None, None),
        (2501.00001, None, None),  # a JSON number is not an id (HF ids are strings)
        (None, None, None),
    ],
)
def test_parse_arxiv_id(value: object, parsed: str | None, paper: str | None) -> None:
    assert parse_arxiv_id(value) == parsed
    assert paper_arxiv_id(value) == paper


@pytest.mark.parametrize(
    ("text", "bare", "found"),
    [
        # READMEs (bare=False): only marked ids; a version or a year.number is not one.
        ("see https://arxiv.org/abs/2404.00722v2 and https://arxiv.org/pdf/2510.04910", False,
         [("2404.00722", "https://arxiv.org/abs/2404.00722v2"), ("2510.04910", "https://arxiv.org/pdf/2510.04910")]),
        ('<img src="https://img.shields.io/badge/Paper-arXiv:2406.02657-Green">', False,
         [("2406.02657", "arXiv:2406.02657")]),
        ("journal={arXiv preprint arXiv:2510.04910}", False, [("2510.04910", "arXiv:2510.04910")]),
        ("eprint = {2412.03409},", False, [("2412.03409", "2412.03409")]),  # the span is the id, not `eprint = {`
        ('eprint = "arXiv:2412.03409"', False, [("2412.03409", "arXiv:2412.03409")]),
        ("doi = {10.48550/arXiv.2301.12345}", False, [("2301.12345", "10.48550/arXiv.2301.12345")]),
        ("version 2024.1234 and 10.1145/3292500.3330701 are not arXiv ids", False, []),
        ("url={https://arxiv.org/abs/math/9810053}", False, [("math/9810053", "https://arxiv.org/abs/math/9810053")]),
        # Documents (bare=True): a new-style id in prose is one; an old-style one only when marked.
        ("DRCT is arXiv 2404.00722, also written arXiv:2404.00722;", True,
         [("2404.00722", "2404.00722"), ("2404.00722", "arXiv:2404.00722")]),
        ("Manubot: [@arxiv:2404.00722]", True, [("2404.00722", "arxiv:2404.00722")]),
        ("hep-th/9901001 alone is a path; arXiv:hep-th/9901001 is an id", True,
         [("hep-th/9901001", "arXiv:hep-th/9901001")]),
        ("a 12345.67890 or 1.2404.00722 or 92404.00722 or 2404.007221 is not", True, []),
        ("(http://export.arxiv.org/abs/cond-mat.str-el/0101001v2)", True,
         [("cond-mat.str-el/0101001", "http://export.arxiv.org/abs/cond-mat.str-el/0101001v2")]),
        ("2404.00722 starts the line; so does a path: example.org/data/1234567", True, [("2404.00722", "2404.00722")]),
        ("arxiv:2301.123456", True, []),
    ],
)
def test_find_arxiv_ids(text: str, bare: bool, found: list[tuple[str, str]]) -> None:
    assert [(f.value, text[f.start:f.end]) for f in find_arxiv_ids(text, bare=bare)] == found


def test_arxiv_urls_are_built_only_from_ids_and_pass_the_allow_list() -> None:
    assert arxiv_abs_url("2404.00722") == "https://arxiv.org/abs/2404.00722"
    assert arxiv_pdf_url("2404.00722") == "https://arxiv.org/pdf/2404.00722"
    assert hf_paper_url("2404.00722") == "https://huggingface.co/papers/2404.00722"
    assert arxiv_abs_url("hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"
    assert hf_paper_url("hep-th/9901001") is None  # Hugging Face has pages for new-style ids only
    for bad in (None, "", "2404.00722v2", "arXiv:2404.00722", "1)](command:x", "2404.00722\n", "x/../2404.00722"):
        assert (arxiv_abs_url(bad), arxiv_pdf_url(bad), hf_paper_url(bad)) == (None, None, None), bad
    for url in (arxiv_abs_url("2404.00722"), arxiv_pdf_url("math/0307200"), hf_paper_url("2501.00001")):
        assert url is not None and safe_url(url) == url


# -- DOI ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "doi", "valid"),
    [
        ("10.1145/2508859.2516667", "10.1145/2508859.2516667", True),
        ("https://doi.org/10.1000/xyz_1", "10.1000/xyz_1", True),
        ("http://dx.doi.org/10.1109/CSF.2012.11", "10.1109/CSF.2012.11", True),
        ("doi: 10.1093/logcom/2.3.297", "10.1093/logcom/2.3.297", True),
        ("10.1007/978-3-642-22438-6\\_17", "10.1007/978-3-642-22438-6_17", True),  # DBLP's TeX escape
        ("N/A", "N/A", False),
        ("10.1000/a b", "10.1000/a b", False),
        ("  ", None, False),
        (None, None, False),
    ],
)
def test_parse_and_validate_doi(value: str | None, doi: str | None, valid: bool) -> None:
    assert parse_doi(value) == doi
    assert valid_doi(doi) is valid
    assert (doi_url(doi) is not None) is valid


def test_every_doi_in_a_real_library_parses_to_an_allowed_link(shared_dir: Path) -> None:
    text = (shared_dir / "realworld/bib/akhirsch_main.bib").read_text()
    raw = re.findall(r"\bdoi\s*=\s*\{([^{}]*)\}", text, re.I)
    assert len(raw) > 400
    dois = [parse_doi(v) for v in raw]
    # Two are typos in the file (a 3-digit registrant, a lost leading '1'): no link is made from them.
    assert [d for d in dois if not valid_doi(d)] == ["10.323/JCS-15805", "0.1007/978-3-642-29615-4_16"]
    escaped = [d for v, d in zip(raw, dois, strict=True) if "\\_" in v]
    assert len(escaped) > 20 and all("\\" not in (d or "") for d in escaped)
    for d in dois:
        url = doi_url(d)
        assert url is None or safe_url(url) is not None  # quoted where needed: ( ) in 10.2168/LMCS-7(3:17)2011
    papers, _ = parse_bib(text, "akhirsch_main.bib")
    assert sum(1 for p in papers if p.doi) == len(raw)  # the reader keeps each entry's DOI


# -- GitHub ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("at https://github.com/AMD-AGI/Tyr-the-Pruner.", [("AMD-AGI/Tyr-the-Pruner", "https://github.com/AMD-AGI/Tyr-the-Pruner")]),
        ("at https://github.com/ming053l/DRCT", [("ming053l/DRCT", "https://github.com/ming053l/DRCT")]),
        ("(see github.com/o/r.git).", [("o/r", "github.com/o/r.git")]),
        ("https://www.github.com/o/r/tree/main/src", [("o/r", "https://www.github.com/o/r")]),
        ("https://github.com/o/r?tab=readme-ov-file#citation", [("o/r", "https://github.com/o/r")]),
        ("git clone https://GitHub.com/o/r.git", [("o/r", "https://GitHub.com/o/r.git")]),
        ("https://github.com/o/r, and https://github.com/x/y",
         [("o/r", "https://github.com/o/r"), ("x/y", "https://github.com/x/y")]),
        ("https://gist.github.com/o/abc", []),
        ("https://api.github.com/repos/o/r", []),
        ("https://github.com/orgs/acme", []),
        ("https://github.com/onlyowner", []),
        ("https://o.github.io/r", []),
        ("https://notgithub.com/o/r", []),
        ("https://github.com/-bad/r", []),
        ("no link here", []),
    ],
)
def test_find_github_repos(text: str, found: list[tuple[str, str]]) -> None:
    assert [(f.value, text[f.start:f.end]) for f in find_github_repos(text)] == found
    assert github_repo_in(text) == (found[0][0] if found else None)


@pytest.mark.parametrize(
    ("value", "repo"),
    [
        ("ming053l/DRCT", "ming053l/DRCT"),
        ("https://github.com/ming053l/DRCT.git", "ming053l/DRCT"),
        (" https://github.com/ming053l/DRCT/blob/main/README.md ", "ming053l/DRCT"),
        ("DRCT", None),
        ("evil-org/three\n", "evil-org/three"),  # stripped: a value, not text
        ("evil-org/three\nx", None),
        ("a/b.", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_github_repo(value: str | None, repo: str | None) -> None:
    assert parse_github_repo(value) == repo


def test_github_urls_only_from_valid_names() -> None:
    assert github_url("ming053l/DRCT") == "https://github.com/ming053l/DRCT"
    assert safe_url(github_url("ming053l/DRCT")) == "https://github.com/ming053l/DRCT"
    for bad in (None, "", "DRCT", "evil-org/three\n", "a/b.", "a/b/c", "x)](command:y)/z", "-a/b"):
        assert not valid_repo(bad) and github_url(bad) is None, bad


def test_real_hf_daily_papers_ids_and_abstract_repos(shared_dir: Path) -> None:
    """A raw /api/daily_papers response: every paper id is a new-style arXiv id; the code links in abstracts
    end sentences ('…/ReachQA.'), and githubRepo is absent."""
    items = json.loads((shared_dir / "realworld/hf/daily_papers-2024-10-25.json").read_text())
    assert len(items) == 29
    assert all(paper_arxiv_id(it["paper"]["id"]) == it["paper"]["id"] for it in items)
    repos = {it["paper"]["id"]: r for it in items if (r := github_repo_in(it["paper"]["summary"]))}
    assert repos == {
        "2410.18798": "hewei2001/ReachQA",
        "2410.18775": "Shilin-LU/VINE",
        "2410.17779": "Hao840/ADEM-VL",
        "2410.18785": "lqinfdim/EditingEvaluation",
    }


def test_real_bib_arxiv_ids(shared_dir: Path) -> None:
    """What the .bib reader makes of real arXiv references: new-style ids kept, old-style ones (an eprint
    with eprinttype = arxiv, an abs/ URL) recognised by the parser but not made Paper.arxiv_id."""
    text = (shared_dir / "realworld/bib/biblatex-examples.bib").read_text()
    eprints = re.findall(r"eprint\s*=\s*\{([^{}]*)\}", text)
    assert [parse_arxiv_id(e) for e in eprints] == ["math/0307200", None, "math/0307200", "hep-th/9603067",
                                                    "1008.2849"]  # '4HIWAAAAYAAJ' is a Google Books id
    papers, _ = parse_bib(text, "biblatex-examples.bib")
    assert {p.bib_key: p.arxiv_id for p in papers if p.arxiv_id} == {"wassenberg": "1008.2849"}
    akh = (shared_dir / "realworld/bib/akhirsch_main.bib").read_text()
    linked = [f.value for f in find_arxiv_ids(akh, bare=False)]
    assert "math/9810053" in linked and "1903.01237" in linked
    by_key = {p.bib_key: p for p in parse_bib(akh, "akhirsch_main.bib")[0]}
    assert by_key["Leinster98"].arxiv_id is None  # url = {https://arxiv.org/abs/math/9810053}
    assert {p.arxiv_id for p in by_key.values() if p.arxiv_id} >= {"1903.01237", "2403.05417"}
