"""'Papers related to this passage' over the wire with the optional encoder installed (a small random model in
its place, tests/support/tiny_encoder.py): asked for explicitly, the passage gets a vector and is ranked against
the shipped papers' vectors, so every shipped paper is a candidate; the reasons shown still come from the key
phrases. The lightbulb an editor asks for on its own does not wait for the encoder."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from e2e_lsp import CONFIG, find, open_doc, start, uri
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.library.store import read_library, snapshot_file

pytest.importorskip("tokenizers")
from support.tiny_encoder import make_tiny_encoder  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

MD = """# Notes

Sensors drop readings, so our multivariate time series have missing values.
"""
# The server's environment is fixed when this module is read: the model is made here, once.
ZIP = make_tiny_encoder(Path(tempfile.mkdtemp(prefix="paperlens-encoder-")) / "model.zip")
ENCODER = ClientServerConfig(server_command=CONFIG.server_command,
                             server_env={**(CONFIG.server_env or {}), "PAPERLENS_ENCODER_ZIP": str(ZIP)})


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("encoder-ws")
    (root / "notes.md").write_text(MD, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ENCODER, scope="module")
async def client(lsp_client: LanguageClient, ws: Path, tmp_path_factory: pytest.TempPathFactory):
    await start(lsp_client, ws, tmp_path_factory.mktemp("encoder-cache"))
    open_doc(lsp_client, ws / "notes.md", "markdown")
    yield
    await lsp_client.shutdown_session()


async def test_an_explicit_request_ranks_a_selection_by_its_vector(client: LanguageClient, ws: Path):
    rng = t.Range(start=find(MD, "Sensors"), end=find(MD, "values.", offset=len("values.")))
    res = await client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(ws / "notes.md")), range=rng,
        context=t.CodeActionContext(diagnostics=[], trigger_kind=t.CodeActionTriggerKind.Invoked)))
    titles = [a.title for a in res or [] if isinstance(a, t.CodeAction)]
    acts = [m for m in (re.fullmatch(r"Related to this selection: cite (.+?)(?: \(both: (.+)\))?", x)
                        for x in titles) if m]
    reasons = {m.group(1): m.group(2) or "" for m in acts}
    # A paper sharing words is explained by them (the random model's cosines decide which of the two comes).
    assert any("time series" in why for why in reasons.values()), titles
    # Without a vector only the shipped papers sharing key phrases are candidates (two here); with one, all are.
    phrases_only = Catalog(Index.build(read_library(snapshot_file()))).related_passage(MD.split("\n")[2], 5)
    assert len(phrases_only) == 2
    assert len(acts) == 5, titles


async def test_the_lightbulb_on_a_selection_does_not_wait_for_the_encoder(client: LanguageClient, ws: Path):
    """Asked for by the editor on every selection (not by the user): key phrases only (~130 ms a paragraph with
    the encoder, bench/passage_latency.py)."""
    rng = t.Range(start=find(MD, "Sensors"), end=find(MD, "values.", offset=len("values.")))
    res = await client.text_document_code_action_async(t.CodeActionParams(
        text_document=t.TextDocumentIdentifier(uri=uri(ws / "notes.md")), range=rng,
        context=t.CodeActionContext(diagnostics=[], trigger_kind=t.CodeActionTriggerKind.Automatic)))
    titles = [a.title for a in res or [] if isinstance(a, t.CodeAction) and "Related to this selection" in a.title]
    assert len(titles) == 2, titles  # the two papers sharing key phrases
