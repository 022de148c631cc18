"""Diagnostics on paper sources other people wrote (../shared/realworld/papers), and on the constructs that gave
false unknown-key warnings there: commented-out cites, \\nocite{*}, macro definitions, pandoc-crossref labels,
Manubot ids. Through the LSP wire."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, find, hover, open_doc, start, unescaped, uri, wait_until
from lsprotocol import types as t
from pytest_lsp import LanguageClient

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
PAPERS = REALWORLD / "papers"
HF_JSON = REALWORLD / "hf" / "daily_papers-2024-10-25.json"  # a real /api/daily_papers response, as a feed
MEMORY_BARRIER = "Breaking the Memory Barrier"  # its paper 2410.17243
# Cited in the talk's slides but absent from its anthology.bib (checked by hand: the author's Paperpile keys,
# `Gu2022-jz` style, came from a bibliography that is not in the repository). LaTeX prints [?] for each of
# them, so these warnings are true; any other warning would be false.
TRULY_UNDEFINED = {"Gu2022-jz", "Wang2022-un", "Orvieto2023-an", "Peng2023-yp", "Poli2023-ag", "Li2022-pn",
                   "Blelloch1990-yo", "Martin2018-bq", "Nguyen2022-qi", "Lu2023-ov"}

TEX = r"""\documentclass{article}
\renewcommand\cite{\citep}
\newcommand{\mycite}[1]{\citet{#1}}
\begin{document}
% \citet{commented2020} was dropped
Shown by \cite{known2020}.  % and \cite{also_commented}
50\% of the time \cite{known2020}.
\nocite{*}
\cite{reallymissing}
\begin{comment}
An old paragraph \cite{inacommentblock}.
\end{comment}
\iffalse \cite{also_off} \fi
\end{document}
"""
MD = """---
title: A Manubot paper
author: '@someone'
bibliography: refs.bib
---

See @fig:overview, [@tbl:results; @eq:loss] and @sec:intro.
Inf-CL [@arxiv:2410.17243] and a DOI [@doi:10.1000/xyz123], a PubMed id @pmid:123456.
As @known2020 said.

```python
@torch.no_grad()
def f(): ...
```

Inline `@decorator` code, <!-- @hidden --> comments.
"""
BIB = "@article{known2020, title = {Known}, author = {A. Person}, year = 2020}\n"


@pytest.fixture(scope="module")
def made_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("false-warnings")
    (root / "paper.tex").write_text(TEX, encoding="utf-8")
    (root / "paper.md").write_text(MD, encoding="utf-8")
    (root / "refs.bib").write_text(BIB, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def warnings(client: LanguageClient, u: str) -> list[t.Diagnostic]:
    return [d for d in client.diagnostics.get(u, []) if d.severity == t.DiagnosticSeverity.Warning]


async def test_real_paper_sources_give_no_false_warning(client: LanguageClient,
                                                       tmp_path_factory: pytest.TempPathFactory):
    if not PAPERS.is_dir():
        pytest.skip(f"{PAPERS} not found")
    await start(client, PAPERS, tmp_path_factory.mktemp("real-cache"))
    files = sorted([*PAPERS.rglob("*.tex"), *PAPERS.rglob("*.md")])
    texts = {}
    for f in files:
        texts[uri(f)] = f.read_text(encoding="utf-8")
        open_doc(client, f, "markdown" if f.suffix == ".md" else "latex", texts[uri(f)])
    await wait_until(lambda: all(uri(f) in client.diagnostics for f in files), what="diagnostics for every file")
    warned = []
    for u, text in texts.items():
        lines = text.split("\n")
        for d in warnings(client, u):
            r = d.range
            warned.append(lines[r.start.line][r.start.character:r.end.character])
    false = [k for k in warned if k not in TRULY_UNDEFINED]
    assert false == [], false
    assert set(warned) == TRULY_UNDEFINED
    # The natbib cites in the slides resolve against anthology.bib: no other kind of diagnostic either.
    others = [d for u in texts for d in client.diagnostics[u] if d.severity != t.DiagnosticSeverity.Warning]
    assert others == [], others


async def test_made_up_constructs(client: LanguageClient, made_up: Path, tmp_path_factory: pytest.TempPathFactory):
    if not HF_JSON.is_file():
        pytest.skip(f"{HF_JSON} not found")
    await start(client, made_up, tmp_path_factory.mktemp("made-up-cache"), feeds=[str(HF_JSON)])
    tex, md = uri(made_up / "paper.tex"), uri(made_up / "paper.md")
    open_doc(client, made_up / "paper.tex", "latex")
    open_doc(client, made_up / "paper.md", "markdown")
    await wait_until(lambda: tex in client.diagnostics and md in client.diagnostics, what="diagnostics")
    # Only the one cite that is really missing; nothing from comments, \nocite{*} or macro definitions.
    [only] = warnings(client, tex)
    assert "reallymissing" in only.message and only.range.start.line == 8
    # Markdown: crossref labels, Manubot ids, front matter, code and HTML comments are not unknown keys.
    assert warnings(client, md) == [], warnings(client, md)
    # A Manubot arXiv id is resolved against the feed: its card on hover, and offered when typing one.
    h = await hover(client, md, find(MD, "arxiv:2410.17243", offset=8))
    assert MEMORY_BARRIER in unescaped(h)
    line = "Cite [@arxiv:2410.172"
    edited = MD + line + "\n"
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=md, version=2),
        content_changes=[t.TextDocumentContentChangeWholeDocument(text=edited)]))
    res = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=md),
        position=t.Position(line=edited.count("\n") - 1, character=len(line))))
    assert res is not None
    items = res.items if isinstance(res, t.CompletionList) else res
    assert items and items[0].label == "arxiv:2410.17243" and items[0].detail and MEMORY_BARRIER in items[0].detail
