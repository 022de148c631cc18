"""The command line, as a user runs it: offline from the shipped snapshot, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from paperlens.sources.bibtex import parse_bib


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
    lines = r.stdout.splitlines()
    papers = [x for x in lines[1:] if not x.strip().startswith("both: ")]
    assert len(papers) == 5 and len(lines) == 11  # five papers, each followed by its reason
    assert "both: information bottleneck" in r.stdout


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


# -- serve: the flags LSP clients pass -------------------------------------------------------------------------


def _lsp_frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read_frame(stream: IO[bytes]) -> dict[str, object]:
    length = 0
    while (line := stream.readline().strip()) != b"":
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return json.loads(stream.read(length))


def test_serve_accepts_the_flags_vscode_languageclient_appends(tmp_path: Path) -> None:
    # vscode-languageclient appends --stdio for TransportKind.stdio (and --clientProcessId for Node modules).
    proc = subprocess.Popen([sys.executable, "-m", "paperlens", "serve", "--stdio", "--clientProcessId=4242"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        params = {"processId": None, "rootUri": None, "capabilities": {},
                  "initializationOptions": {"offline": True, "cacheDir": str(tmp_path)}}
        proc.stdin.write(_lsp_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}))
        proc.stdin.flush()
        reply = _read_frame(proc.stdout)
        assert reply["id"] == 1
        assert isinstance(reply.get("result"), dict) and reply["result"]["serverInfo"]["name"] == "paperlens"
        proc.stdin.write(_lsp_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        proc.stdin.write(_lsp_frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize("flag", ["--pipe=/tmp/lsp-x.sock", "--node-ipc", "--socket=5007"])
def test_serve_refuses_other_transports_by_name(flag: str) -> None:
    r = subprocess.run([sys.executable, "-m", "paperlens", "serve", flag], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    name = flag.split("=")[0]
    assert r.stderr.strip().splitlines() == [
        f"paperlens: serve: {name} is not supported; PaperLens speaks LSP over stdio (the default, or --stdio) "
        "or TCP (--tcp HOST:PORT)"]
