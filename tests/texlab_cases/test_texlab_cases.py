"""texlab's citation tests (cases.py) run against `paperlens serve` over stdio: each case gets its own workspace
(its files on disk, every file opened), one LSP request at the fixture's cursor, and the answer checked against the
fixture's ranges. `.venv/bin/python -m pytest -q tests/texlab_cases` runs them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from cases import CASES, ISSUE_CASES, Case
from fixture import Fixture, Mark, parse
from lsprotocol import types as t
from pytest_lsp import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from e2e_lsp import CONFIG, capabilities, open_doc, start, uri, wait_until  # noqa: E402

LANG = {".tex": "latex", ".bib": "bibtex", ".md": "markdown"}
ALL = CASES + ISSUE_CASES


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield lsp_client
    await lsp_client.shutdown_session()


def rng(m: Mark) -> t.Range:
    return t.Range(start=t.Position(line=m.line, character=m.start), end=t.Position(line=m.line, character=m.end))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index cache for every case (building the index is the slow part of a start)."""
    return tmp_path_factory.mktemp("texlab-cases-cache")


async def open_case(client: LanguageClient, case: Case, tmp: Path, cache: Path) -> tuple[Fixture, Path]:
    fx = parse(case.fixture)
    root = tmp / "ws"
    root.mkdir()
    for name, text in fx.files.items():
        (root / name).write_text(text, encoding="utf-8")
    caps = capabilities()
    assert caps.text_document is not None
    caps.text_document.definition = t.DefinitionClientCapabilities(link_support=True)
    await start(client, root, cache, caps=caps, **case.settings)
    for name in fx.files:
        open_doc(client, root / name, LANG[Path(name).suffix])
    return fx, root


def at(fx: Fixture, root: Path) -> tuple[t.TextDocumentIdentifier, t.Position]:
    assert fx.cursor is not None, "case without a cursor"
    return (t.TextDocumentIdentifier(uri=uri(root / fx.cursor.file)),
            t.Position(line=fx.cursor.line, character=fx.cursor.start))


async def completion_items(client: LanguageClient, fx: Fixture, root: Path) -> list[t.CompletionItem]:
    doc, pos = at(fx, root)
    res = await client.text_document_completion_async(t.CompletionParams(text_document=doc, position=pos))
    if res is None:
        return []
    return list(res.items if isinstance(res, t.CompletionList) else res)


async def check_completion(client: LanguageClient, case: Case, fx: Fixture, root: Path) -> None:
    items = await completion_items(client, fx, root)
    if case.nothing and case.request == "completion":
        assert items == [], [i.label for i in items]
        return
    labels = [i.label for i in items]
    for want in case.offered:
        assert want in labels, f"{want} not offered: {labels[:10]}"
    for unwanted in case.not_offered:
        assert unwanted not in labels, f"{unwanted} offered: {labels[:10]}"
    assert fx.cursor is not None
    [expected] = fx.ranges_in(fx.cursor.file) or [fx.cursor]  # no range marked: an empty one at the cursor
    for item in items:  # every item replaces exactly what was typed of the key
        assert isinstance(item.text_edit, t.TextEdit), item
        assert item.text_edit.range == rng(expected), (item.label, item.text_edit.range)
    if case.request == "resolve":
        [item] = [i for i in items if i.label == case.offered[0]]
        resolved = await client.completion_item_resolve_async(item)
        doc = resolved.documentation
        text = doc.value if isinstance(doc, t.MarkupContent) else (doc or "")
        if case.nothing:
            assert not text, text
        for want in case.contains:
            assert want in text, text


async def check_hover(client: LanguageClient, case: Case, fx: Fixture, root: Path) -> None:
    doc, pos = at(fx, root)
    h = await client.text_document_hover_async(t.HoverParams(text_document=doc, position=pos))
    if case.nothing:
        assert h is None
        return
    assert h is not None and isinstance(h.contents, t.MarkupContent)
    for want in case.contains:
        assert want in h.contents.value.replace("\\", ""), h.contents.value
    [expected] = fx.ranges
    assert h.range == rng(expected)


async def check_definition(client: LanguageClient, case: Case, fx: Fixture, root: Path) -> None:
    """As texlab's: the link's origin is the marked range at the cursor; its target the entry (or file) and,
    to select, its key. The cases run with a client that takes links; test_e2e_navigation covers plain ones."""
    doc, pos = at(fx, root)
    res = await client.text_document_definition_async(t.DefinitionParams(text_document=doc, position=pos))
    assert isinstance(res, list) and len(res) == 1 and isinstance(res[0], t.LocationLink), res
    link = res[0]
    assert link.target_uri == uri(root / case.target)
    assert fx.cursor is not None
    [origin] = fx.ranges_in(fx.cursor.file)
    assert link.origin_selection_range == rng(origin)
    selection, whole = fx.ranges_in(case.target)
    assert link.target_selection_range == rng(selection)
    assert link.target_range == rng(whole)


async def check_references(client: LanguageClient, case: Case, fx: Fixture, root: Path) -> None:
    doc, pos = at(fx, root)
    res = await client.text_document_references_async(t.ReferenceParams(
        text_document=doc, position=pos, context=t.ReferenceContext(include_declaration=case.include_declaration)))
    got = sorted((loc.uri, loc.range.start.line, loc.range.start.character, loc.range.end.character)
                 for loc in res or ())
    want = sorted((uri(root / m.file), m.line, m.start, m.end) for m in fx.ranges)
    assert got == want


async def check_diagnostics(client: LanguageClient, case: Case, fx: Fixture, root: Path) -> None:
    uris = {uri(root / name): name for name in fx.files}
    await wait_until(lambda: all(u in client.diagnostics for u in uris), what="diagnostics for every file")
    await asyncio.sleep(0.3)  # a .bib reloads after a short debounce: take the latest
    got = [(uris[u], d) for u, ds in client.diagnostics.items() if u in uris for d in ds]
    if case.nothing:
        assert got == [], got
        return
    assert len(got) == len(case.diagnostics), got
    for (file, code), mark in zip(case.diagnostics, fx.ranges, strict=True):
        [d] = [d for f, d in got if f == file and d.code == code]
        assert d.source == "paperlens" and d.message
        if mark.start == mark.end:
            assert d.range.start == rng(mark).start, (d.range, mark)
        else:
            assert d.range == rng(mark), (d.range, mark)


CHECKS = {"completion": check_completion, "resolve": check_completion, "hover": check_hover,
          "definition": check_definition, "references": check_references, "diagnostics": check_diagnostics}


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
async def test_case(client: LanguageClient, case: Case, tmp_path: Path, cache: Path) -> None:
    fx, root = await open_case(client, case, tmp_path, cache)
    await CHECKS[case.request](client, case, fx, root)
