"""'Papers related to this passage' end to end: LaTeX, Markdown and Python, with reasons; the hover's Related line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, apply_text_edits, find, hover, open_doc, span, start, uri
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEX = r"""\documentclass{article}
\begin{document}
\section{Method}

Sensors drop readings, so our multivariate time series have missing values.
We impute them with an \emph{information bottleneck} that keeps what predicts the future
and forgets the noise of the gaps.

\bibliography{refs}
\end{document}
"""
MD = """# Notes

Compressing the KV cache of vision-language models: long multimodal prompts
no longer fit in GPU memory during decoding.
"""
PY = '''import torch


def prune_kv_cache(cache, keep):
    """Drop the least attended entries of the key-value cache during long-context decoding."""
    # retrieval heads keep their full cache
    return cache[:, :keep]


x = 1
'''
BIB = """@article{me2026sensors,
  title    = {Variational bottlenecks for sensor imputation},
  author   = {Doe, Jane},
  year     = {2026},
  abstract = {We impute missing sensor readings in multivariate time series with a variational information
              bottleneck that discards the noise of missing values.}
}
"""
INVOKED = t.CodeActionTriggerKind.Invoked


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("related-ws")
    (root / "paper.tex").write_text(TEX, encoding="utf-8")
    (root / "notes.md").write_text(MD, encoding="utf-8")
    (root / "kv.py").write_text(PY, encoding="utf-8")
    (root / "refs.bib").write_text(BIB, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("related-cache"))
    open_doc(lsp_client, ws / "paper.tex", "latex")
    open_doc(lsp_client, ws / "notes.md", "markdown")
    open_doc(lsp_client, ws / "kv.py", "python")
    yield
    await lsp_client.shutdown_session()


async def actions(client: LanguageClient, path: Path, rng: t.Range,
                  trigger: t.CodeActionTriggerKind | None = None) -> list[t.CodeAction]:
    res = await client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(path)), range=rng,
        context=t.CodeActionContext(diagnostics=[], trigger_kind=trigger)))
    return [a for a in res or [] if isinstance(a, t.CodeAction)]


def passage(acts: list[t.CodeAction], what: str) -> list[tuple[t.CodeAction, str, list[str]]]:
    """The passage actions: (action, cited name, reasons)."""
    out = []
    for a in acts:
        m = re.fullmatch(rf"Related to this {what}: cite (.+?)(?: \(both: (.+)\))?", a.title)
        if m:
            out.append((a, m.group(1), (m.group(2) or "").split(", ")))
    return out


def edited(action: t.CodeAction, target: str, text: str) -> str:
    assert action.edit is not None and action.edit.document_changes is not None
    edits = [e for ch in action.edit.document_changes if isinstance(ch, t.TextDocumentEdit)
             and ch.text_document.uri == target for e in ch.edits if isinstance(e, t.TextEdit)]
    return apply_text_edits(text, edits)


async def test_latex_paragraph(client: LanguageClient, ws: Path):
    at = find(TEX, "impute them")
    acts = passage(await actions(client, ws / "paper.tex", t.Range(start=at, end=at), INVOKED), "paragraph")
    assert 3 <= len(acts) <= 5, [a.title for a in await actions(client, ws / "paper.tex",
                                                                t.Range(start=at, end=at), INVOKED)]
    names = [n for _, n, _ in acts]
    # The workspace's own .bib paper (it has an abstract) and the feed's Glocal-IB lead.
    assert "Variational bottlenecks for sensor imputation" in names[:3], names
    assert "Glocal-IB" in names[:3], names
    reasons = {n: why for _, n, why in acts}
    assert "information bottleneck" in reasons["Glocal-IB"] or "time series" in reasons["Glocal-IB"]
    a = next(a for a, n, _ in acts if n == "Glocal-IB")
    assert a.kind == "refactor.rewrite.paperlens.related.passage"
    new = edited(a, uri(ws / "paper.tex"), TEX)
    key = re.search(r"~\\cite\{([^}]+)\}", new)
    assert key is not None
    assert f"forgets the noise of the gaps~\\cite{{{key.group(1)}}}." in new  # before the full stop


async def test_no_lightbulb_on_every_paragraph(client: LanguageClient, ws: Path):
    at = find(TEX, "impute them")
    assert passage(await actions(client, ws / "paper.tex", t.Range(start=at, end=at),
                                 t.CodeActionTriggerKind.Automatic), "paragraph") == []


async def test_markdown_selection(client: LanguageClient, ws: Path):
    rng = t.Range(start=find(MD, "Compressing"), end=find(MD, "decoding.", offset=len("decoding.")))
    acts = passage(await actions(client, ws / "notes.md", rng, t.CodeActionTriggerKind.Automatic), "selection")
    assert acts, "a selection gets passage actions without asking"
    names = [n for _, n, _ in acts]
    assert any(n in ("PrefixKV", "ZipVL", "RazorAttention", "CacheGen") for n in names[:3]), names
    assert any("kv cache" in why or "kv" in why for _, _, why in acts)
    a, name, _ = acts[0]
    new = edited(a, uri(ws / "notes.md"), MD)
    assert re.search(r"during decoding \[@[^\]]+\]\.\n", new), new


async def test_python_function_with_docstring(client: LanguageClient, ws: Path):
    at = find(PY, "return cache")
    acts = passage(await actions(client, ws / "kv.py", t.Range(start=at, end=at), INVOKED), "function")
    assert acts
    names = [n for _, n, _ in acts]
    assert "RazorAttention" in names[:3] or "PrefixKV" in names[:3], names
    a = next(a for a, n, _ in acts if n in ("RazorAttention", "PrefixKV"))
    new = edited(a, uri(ws / "kv.py"), PY)
    def_line = new.split("\n")[3]
    assert def_line.startswith("def prune_kv_cache(cache, keep):  # ")
    assert "https://" in def_line or "(" in def_line
    assert new.replace(def_line, "def prune_kv_cache(cache, keep):", 1) == PY
    # Outside any function nothing is offered.
    at = find(PY, "x = 1")
    assert passage(await actions(client, ws / "kv.py", t.Range(start=at, end=at), INVOKED), "function") == []


async def test_related_on_a_name_says_why(client: LanguageClient, ws: Path):
    doc = "Glocal-IB imputes series.\n"
    p = ws / "name.tex"
    p.write_text(doc, encoding="utf-8")
    open_doc(client, p, "latex")
    acts = await actions(client, p, span(doc, "Glocal-IB"))
    related = [a.title for a in acts if a.title.startswith("Related: ")]
    assert related and all("(both: " in x for x in related), related


async def test_hover_has_a_related_line(client: LanguageClient, ws: Path):
    doc = "We build on Glocal-IB here.\n"
    p = ws / "hover.md"
    p.write_text(doc, encoding="utf-8")
    u = open_doc(client, p, "markdown")
    h = await hover(client, u, find(doc, "Glocal-IB", offset=2))
    assert h is not None and isinstance(h.contents, t.MarkupContent)
    line = next(x for x in h.contents.value.split("\n") if x.startswith("**Related:** "))
    links = re.findall(r"\[([^\]]+)\]\((https://[^)]+)\)", line)
    assert len(links) == 3, line
    assert all(u.startswith(("https://github.com/", "https://huggingface.co/papers")) for _, u in links)


async def test_passage_never_suggests_the_paper_at_the_cursor_or_one_it_cites(client: LanguageClient, ws: Path):
    doc = ("\\section{Related work}\n\n"
           "Glocal-IB imputes missing values of multivariate time series with an information bottleneck,\n"
           "as forecasting with missing values does~\\cite{crib2025}.\n")
    p = ws / "cited.tex"
    p.write_text(doc, encoding="utf-8")
    open_doc(client, p, "latex")
    at = find(doc, "Glocal-IB", offset=3)
    acts = passage(await actions(client, p, t.Range(start=at, end=at), INVOKED), "paragraph")
    names = [n for _, n, _ in acts]
    assert len(acts) >= 3, names
    # Both lead the same passage when it neither names nor cites them (test_latex_paragraph, the CLI test).
    assert "Glocal-IB" not in names and not any("Revisiting Multivariate" in n or n == "CRIB" for n in names), names
    assert all("glocalib2025" not in (a.edit and str(a.edit)) for a, _, _ in acts)
