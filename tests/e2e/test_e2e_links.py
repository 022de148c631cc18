"""textDocument/documentLink end to end: GitHub URLs, arXiv ids and method mentions that have a repo."""

from __future__ import annotations

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, open_doc, span, start, uri
from lsprotocol import types as t
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

MD = """# Links

Code: https://github.com/ming053l/DRCT and the paper arXiv:2404.00722.
The Block Transformer splits attention; nothing to link in this sentence's other words.
"""


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("links-ws")
    (root / "links.md").write_text(MD, encoding="utf-8")
    await start(lsp_client, root, tmp_path_factory.mktemp("links-cache"))
    lsp_client.doc_uri = open_doc(lsp_client, root / "links.md", "markdown")  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_links(client: LanguageClient):
    res = await client.text_document_document_link_async(t.DocumentLinkParams(
        text_document=t.TextDocumentIdentifier(uri=client.doc_uri)))  # type: ignore[attr-defined]
    assert res is not None
    got = {(link.target, (link.range.start.line, link.range.start.character, link.range.end.character))
           for link in res}

    def at(needle: str) -> tuple[int, int, int]:
        r = span(MD, needle)
        return r.start.line, r.start.character, r.end.character

    assert ("https://github.com/ming053l/DRCT", at("https://github.com/ming053l/DRCT")) in got
    assert ("https://arxiv.org/abs/2404.00722", at("arXiv:2404.00722")) in got \
        or ("https://arxiv.org/abs/2404.00722", at("2404.00722")) in got
    assert ("https://github.com/itsnamgyu/block-transformer", at("Block Transformer")) in got
    assert len(res) == 3, [(x.target, x.range) for x in res]
    assert all(link.target and link.target.startswith("https://") for link in res)


async def test_no_links_in_an_unknown_document(client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    res = await client.text_document_document_link_async(t.DocumentLinkParams(
        text_document=t.TextDocumentIdentifier(uri=uri(tmp_path_factory.getbasetemp() / "nope.md"))))
    assert not res
