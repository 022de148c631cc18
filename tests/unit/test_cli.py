"""The command line, as a user runs it: offline from the shipped snapshot, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paperlens.feeds.bibtex import parse_bib


def run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "paperlens", *args, "--cache-dir", str(cache)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("DRCT", "DRCT: Saving Image Super-resolution away from Information Bottleneck"),
        ("Glocal-IB", "Glocal Information Bottleneck for Time Series Imputation"),
        ("FlashAttention-4", "FlashAttention-4: Algorithm and Kernel Pipelining Co-Design for Asymmetric Hardware"),
        ("CS-IB", "Cauchy-Schwarz Divergence Information Bottleneck for Regression"),
        ("SuperGlobal", "Global Features are All You Need for Image Retrieval and Reranking"),
    ],
)
def test_show(tmp_path: Path, name: str, title: str) -> None:
    r = run("show", name, "--offline", cache=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(title)
    assert "github.com" in r.stdout or name == "FlashAttention-4"


def test_show_card_fields(tmp_path: Path) -> None:
    out = run("show", "Glocal-IB", cache=tmp_path).stdout
    assert "Oct 6, 2025" in out and "5 authors" in out and "▲ 2 upvotes" in out
    assert "https://github.com/Muyiiiii/NeurIPS-25-Glocal-IB" in out
    assert "Time Series Imputation (TSI)" in out  # the abstract excerpt


def test_search_information_bottleneck(tmp_path: Path) -> None:
    r = run("search", "information bottleneck", cache=tmp_path)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert len(lines) >= 5 and all("Information Bottleneck" in line for line in lines[:5]), lines


def test_bib_is_valid_bibtex(tmp_path: Path) -> None:
    r = run("bib", "DRCT", cache=tmp_path)
    assert r.returncode == 0
    papers, warnings = parse_bib(r.stdout, "stdout")
    assert not warnings and len(papers) == 1
    assert papers[0].bib_key == "drct2024" and papers[0].title.startswith("DRCT: Saving Image")


def test_related(tmp_path: Path) -> None:
    r = run("related", "CS-IB", cache=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("Related to csib2024")
    assert len(r.stdout.splitlines()) == 6


def test_feed_option_adds_papers(tmp_path: Path) -> None:
    bib = tmp_path / "mine.bib"
    bib.write_text("@misc{lovelace1843notes, title={Notes on the Analytical Engine}, author={Lovelace, Ada},"
                   " year={1843}}\n")
    r = run("show", "lovelace1843notes", "--feed", str(bib), cache=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Notes on the Analytical Engine")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01\x02binary", "binary"), (b"just some words\n", "no papers")],
)
def test_bad_feed_is_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "feed.txt"
    f.write_bytes(content)
    r = run("show", "DRCT", "--feed", str(f), cache=tmp_path)
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and str(f) in err[0] and message in err[0].lower(), r.stderr
    assert "Traceback" not in r.stderr


def test_missing_feed_and_unknown_name(tmp_path: Path) -> None:
    r = run("show", "DRCT", "--feed", str(tmp_path / "nope.json"), cache=tmp_path)
    assert r.returncode == 1 and "nope.json" in r.stderr and "Traceback" not in r.stderr
    r = run("show", "NoSuchMethodXYZ", cache=tmp_path)
    assert r.returncode == 1 and "NoSuchMethodXYZ" in r.stderr and "Traceback" not in r.stderr
