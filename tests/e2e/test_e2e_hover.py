"""textDocument/hover end to end: the paper card for mentions, cite keys, arXiv ids and GitHub URLs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, DRCT_TITLE, capabilities, copy_examples, find, hover, open_doc, span, start
from lsprotocol import types as t
from markdown_it import MarkdownIt
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEX = r"""\documentclass{article}
\begin{document}
Transformer super-resolution saturates early: DRCT keeps the features~\cite{hsu2024drct}.
For time series, Glocal-IB adds a global alignment loss.
FlashAttention-4 pipelines the kernel, and the Block Transformer splits attention.
The Cauchy-Schwarz information bottleneck replaces the KL term.
DRCT is arXiv 2404.00722, also written arXiv:2404.00722; code at https://github.com/ming053l/DRCT today.
The nexus of these works is memory traffic; the turbo mode helps, and a block of memory is all we move.
Nexus splits prefill and decode.
EvilNet is arXiv:2501.00001.
\end{document}
"""

PY = '''"""Fine-tune DRCT on microscopy data, with the Glocal-IB loss."""
import torch
from drct.archs.DRCT_arch import DRCT


class Trainer:
    def __init__(self, data):
        # FlashAttention-4 would make this faster
        self.data = data
        self.model = DRCT(upscale=4)
'''

FA4_TITLE = "FlashAttention-4: Algorithm and Kernel Pipelining Co-Design for Asymmetric Hardware Scaling"
EVIL_TITLE = "<img src=x onerror=alert(1)> [click](command:workbench.action.x) EvilNet: Evil Networks"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_examples(tmp_path_factory.mktemp("hover-ws"), "refs.bib")
    (root / "paper.tex").write_text(TEX, encoding="utf-8")
    (root / "train.py").write_text(PY, encoding="utf-8")
    feed = {"version": 1, "papers": [{
        "title": EVIL_TITLE, "arxiv_id": "2501.00001", "date": "2025-01-02",
        "abstract": "See <script>alert(1)</script> and [run](command:workbench.action.terminal.new).",
        "authors": ["Mallory [x](command:evil)"], "source": "json:evil"}]}
    (root.parent / "evil-feed.json").write_text(json.dumps(feed), encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("hover-cache"), feeds=[str(ws.parent / "evil-feed.json")])
    open_doc(lsp_client, ws / "paper.tex", "latex")
    open_doc(lsp_client, ws / "train.py", "python")
    yield
    await lsp_client.shutdown_session()


def title_of(h: t.Hover) -> str:
    first = h.contents.value.split("\n", 1)[0]
    m = re.match(r"### \[(.*)\]\(([^)]*)\)$", first)
    assert m, first
    return re.sub(r"\\(.)", r"\1", m.group(1))


async def tex_hover(client: LanguageClient, ws: Path, needle: str, nth: int = 0, offset: int = 0) -> t.Hover | None:
    return await hover(client, (ws / "paper.tex").as_uri(), find(TEX, needle, nth, offset))


async def py_hover(client: LanguageClient, ws: Path, needle: str, nth: int = 0, offset: int = 0) -> t.Hover | None:
    return await hover(client, (ws / "train.py").as_uri(), find(PY, needle, nth, offset))


async def test_drct_in_latex_prose(client: LanguageClient, ws: Path):
    h = await tex_hover(client, ws, "DRCT keeps", offset=2)
    assert h is not None
    assert h.contents.kind == t.MarkupKind.Markdown
    assert title_of(h) == DRCT_TITLE
    assert h.range == span(TEX, "DRCT")
    assert "ming053l/DRCT" in h.contents.value


@pytest.mark.parametrize("needle, offset, title", [
    ("Glocal-IB adds", 3, "Glocal Information Bottleneck for Time Series Imputation"),
    ("FlashAttention-4", 5, FA4_TITLE),
    ("Block Transformer", 7, "Block Transformer: Global-to-Local Language Modeling for Fast Inference"),
    ("Nexus splits", 1, "Nexus:Proactive Intra-GPU Disaggregation of Prefill and Decode in LLM Serving"),
])
async def test_method_names_in_prose(client: LanguageClient, ws: Path, needle: str, offset: int, title: str):
    h = await tex_hover(client, ws, needle, offset=offset)
    assert h is not None, needle
    assert title_of(h) == title


async def test_multi_word_name_hovered_on_a_middle_word(client: LanguageClient, ws: Path):
    h = await tex_hover(client, ws, "information bottleneck replaces", offset=4)
    assert h is not None
    assert title_of(h) == "Cauchy-Schwarz Divergence Information Bottleneck for Regression"
    assert h.range.start == find(TEX, "Cauchy-Schwarz")
    assert h.range.end.character >= find(TEX, "bottleneck replaces").character + len("bottleneck")


@pytest.mark.parametrize("needle, offset", [
    ("nexus of these", 2), ("turbo mode", 2), ("block of memory", 2), ("memory traffic", 1),
])
async def test_no_card_on_common_words(client: LanguageClient, ws: Path, needle: str, offset: int):
    assert await tex_hover(client, ws, needle, offset=offset) is None


async def test_cite_key_from_the_users_bib(client: LanguageClient, ws: Path):
    h = await tex_hover(client, ws, "hsu2024drct", offset=3)
    assert h is not None
    assert title_of(h) == DRCT_TITLE
    assert h.range == span(TEX, "hsu2024drct")


@pytest.mark.parametrize("needle", ["2404.00722,", "arXiv:2404.00722"])
async def test_arxiv_ids(client: LanguageClient, ws: Path, needle: str):
    h = await tex_hover(client, ws, needle, offset=len(needle) - 4)
    assert h is not None
    assert title_of(h) == DRCT_TITLE
    assert "https://arxiv.org/abs/2404.00722" in h.contents.value


async def test_github_url(client: LanguageClient, ws: Path):
    h = await tex_hover(client, ws, "https://github.com/ming053l/DRCT", offset=25)
    assert h is not None
    assert title_of(h) == DRCT_TITLE
    start = find(TEX, "https://github.com/ming053l/DRCT")
    assert h.range.start.character <= start.character + len("https://")
    assert h.range.end.character >= start.character + len("https://github.com/ming053l/DRCT")


@pytest.mark.parametrize("needle, offset", [("import DRCT", 8), ("from drct", 6), ("self.model = DRCT", 14)])
async def test_python_identifiers(client: LanguageClient, ws: Path, needle: str, offset: int):
    h = await py_hover(client, ws, needle, offset=offset)
    assert h is not None, needle
    assert title_of(h) == DRCT_TITLE


@pytest.mark.parametrize("needle, offset, title", [
    ("FlashAttention-4 would", 3, FA4_TITLE),
    ("Glocal-IB loss", 2, "Glocal Information Bottleneck for Time Series Imputation"),
])
async def test_python_comments_and_docstrings(client: LanguageClient, ws: Path, needle: str, offset: int,
                                              title: str):
    h = await py_hover(client, ws, needle, offset=offset)
    assert h is not None, needle
    assert title_of(h) == title


@pytest.mark.parametrize("needle, offset", [("import torch", 9), ("self.data", 1), ("self.data = data", 14),
                                            ("(self, data)", 8)])
async def test_no_card_on_python_noise(client: LanguageClient, ws: Path, needle: str, offset: int):
    assert await py_hover(client, ws, needle, offset=offset) is None


async def test_untrusted_feed_text_is_escaped(client: LanguageClient, ws: Path):
    h = await tex_hover(client, ws, "arXiv:2501.00001", offset=8)
    assert h is not None
    value = h.contents.value
    assert "EvilNet" in value
    assert re.search(r"(?<!\\)<", value) is None, value  # no raw HTML
    targets = re.findall(r"(?<!\\)\[(?:[^\]\\]|\\.)*(?<!\\)\]\(([^)]*)\)", value)
    assert targets, value
    assert all(u.startswith("https://") for u in targets), targets
    assert re.search(r"(?<!\\)\]\(command:", value) is None, value
    # As a Markdown client renders it: the only links are the card's own https ones, and no HTML.
    html = MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(value)
    hrefs = re.findall(r'<a href="([^"]*)"', html)
    assert hrefs and all(u.startswith("https://") for u in hrefs), hrefs
    assert "<img" not in html and "<script" not in html, html


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def plain_client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("plain-cache"),
                caps=capabilities(hover_formats=[t.MarkupKind.PlainText]))
    open_doc(lsp_client, ws / "paper.tex", "latex")
    yield
    await lsp_client.shutdown_session()


async def test_plain_text_when_the_client_has_no_markdown(plain_client: LanguageClient, ws: Path):
    h = await hover(plain_client, (ws / "paper.tex").as_uri(), find(TEX, "DRCT keeps", offset=1))
    assert h is not None
    assert h.contents.kind == t.MarkupKind.PlainText
    assert h.contents.value.split("\n", 1)[0] == DRCT_TITLE
    assert "###" not in h.contents.value and "](" not in h.contents.value
