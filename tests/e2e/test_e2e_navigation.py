"""textDocument/definition and textDocument/references end to end, for citation keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, copy_examples, find, open_doc, span, start, uri
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

A = r"""\section{Intro}
DRCT keeps the features~\cite{hsu2024drct}, unlike \cite{tishby2000information,hsu2024drct}.
Unknown \cite{nosuchkey2020}.
"""
B = r"""\section{Method}
We follow \citep[Sec.~2]{hsu2024drct}.
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_examples(tmp_path_factory.mktemp("nav-ws"), "refs.bib")
    (root / "a.tex").write_text(A, encoding="utf-8")
    (root / "sections").mkdir()
    (root / "sections" / "b.tex").write_text(B, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("nav-cache"))
    open_doc(lsp_client, ws / "a.tex", "latex")  # b.tex stays closed: read from disk
    yield
    await lsp_client.shutdown_session()


async def definition(client: LanguageClient, ws: Path, pos: t.Position):
    return await client.text_document_definition_async(t.DefinitionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(ws / "a.tex")), position=pos))


async def test_definition_of_a_cite_key(client: LanguageClient, ws: Path):
    res = await definition(client, ws, find(A, "hsu2024drct", offset=4))
    loc = res[0] if isinstance(res, (list, tuple)) else res
    assert isinstance(loc, t.Location)
    assert loc.uri == uri(ws / "refs.bib")
    bib = (ws / "refs.bib").read_text(encoding="utf-8")
    start = find(bib, "@misc{hsu2024drct")
    assert loc.range.start == start
    end_text = bib.split("\n")[loc.range.end.line]
    assert loc.range.end.line > start.line and end_text.startswith("}")
    # The second key of a multi-key citation too.
    other = await definition(client, ws, find(A, "tishby2000information", offset=2))
    other = other[0] if isinstance(other, (list, tuple)) else other
    assert other.range.start == find(bib, "@article{tishby2000information")


async def test_no_definition_for_unknown_keys_or_prose(client: LanguageClient, ws: Path):
    assert not await definition(client, ws, find(A, "nosuchkey2020", offset=3))
    assert not await definition(client, ws, find(A, "features", offset=3))


async def test_references_across_workspace_files(client: LanguageClient, ws: Path):
    res = await client.text_document_references_async(t.ReferenceParams(
        text_document=t.TextDocumentIdentifier(uri=uri(ws / "a.tex")), position=find(A, "hsu2024drct", offset=1),
        context=t.ReferenceContext(include_declaration=False)))
    got = sorted((loc.uri, loc.range.start.line, loc.range.start.character, loc.range.end.character)
                 for loc in res or ())

    def at(path: Path, text: str, nth: int) -> tuple[str, int, int, int]:
        r = span(text, "hsu2024drct", nth)
        return uri(path), r.start.line, r.start.character, r.end.character

    want = sorted([at(ws / "a.tex", A, 0), at(ws / "a.tex", A, 1), at(ws / "sections" / "b.tex", B, 0)])
    assert got == want
