"""textDocument/publishDiagnostics end to end: unknown keys, keys missing from the .bib, uncited mentions."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, copy_examples, open_doc, span, start, uri, wait_until
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEX = r"""\documentclass{article}
\begin{document}
Old work \cite{nosuchkey2020} and new work \cite{prefixkv2024}.
DRCT keeps the features apart \cite{hsu2024drct}.

Glocal-IB adds a global alignment loss.
\bibliography{refs}
\end{document}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_examples(tmp_path_factory.mktemp("diag-ws"), "refs.bib")
    (root / "paper.tex").write_text(TEX, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("diag-cache")


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, cache: Path):
    await start(lsp_client, ws, cache)
    open_doc(lsp_client, ws / "paper.tex", "latex")
    yield
    await lsp_client.shutdown_session()


def by_code(diags: list[t.Diagnostic]) -> dict[str, list[t.Diagnostic]]:
    out: dict[str, list[t.Diagnostic]] = {}
    for d in diags:
        out.setdefault(str(d.code), []).append(d)
    return out


async def test_defaults(client: LanguageClient, ws: Path):
    diags = list(await wait_until(lambda: client.diagnostics.get(uri(ws / "paper.tex")), what="diagnostics"))
    assert len(diags) == 2, diags
    [unknown] = [d for d in diags if d.severity == t.DiagnosticSeverity.Warning]
    assert "nosuchkey2020" in unknown.message
    assert unknown.range == span(TEX, "nosuchkey2020")
    assert unknown.source == "paperlens"
    [missing] = [d for d in diags if d.severity == t.DiagnosticSeverity.Information]
    assert "prefixkv2024" in missing.message
    assert missing.range == span(TEX, "prefixkv2024")
    assert not any(d.severity == t.DiagnosticSeverity.Hint for d in diags)  # uncited mentions: off by default


async def test_uncited_mention_hint_when_enabled(client: LanguageClient, ws: Path, cache: Path):
    u = uri(ws / "paper.tex")
    client.diagnostics.pop(u, None)
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings={"paperlens": {
        "cacheDir": str(cache), "offline": True, "diagnostics": {"uncitedMention": "hint"}}}))
    diags = list(await wait_until(lambda: client.diagnostics.get(u), what="republished diagnostics"))
    hints = [d for d in diags if d.severity == t.DiagnosticSeverity.Hint]
    assert [d.range for d in hints] == [span(TEX, "Glocal-IB")], hints  # DRCT is cited on its line
    assert "Glocal-IB" in hints[0].message
    assert len(diags) == 3


async def test_editing_fixes_the_unknown_key(client: LanguageClient, ws: Path):
    u = uri(ws / "paper.tex")
    client.diagnostics.pop(u, None)
    r = span(TEX, "nosuchkey2020")
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=u, version=2),
        content_changes=[t.TextDocumentContentChangePartial(range=r, text="tishby2000information")]))
    diags = list(await wait_until(lambda: client.diagnostics.get(u), what="diagnostics after the edit"))
    assert not any(d.severity == t.DiagnosticSeverity.Warning for d in diags), diags
    assert any(d.severity == t.DiagnosticSeverity.Information for d in diags)


async def test_closing_clears(client: LanguageClient, ws: Path):
    u = uri(ws / "paper.tex")
    client.text_document_did_close(t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=u)))
    await wait_until(lambda: (d := client.diagnostics.get(u)) is not None and len(d) == 0, what="cleared diagnostics")
