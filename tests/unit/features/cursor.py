"""A fixture notation for feature tests (after texlab's crates/*/src/tests.rs and rust-analyzer's `$0`): a document
string with `$0` where the cursor is; `region` finds the span a result should cover."""

from __future__ import annotations

from pathlib import Path

from paperlens.analysis.bibs import BibFile, Bibs
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import doc_kind
from paperlens.core.config import Settings, parse_settings
from paperlens.features.context import FeatureContext
from paperlens.features.results import Region
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index

CURSOR = "$0"
ROOT = Path("/ws")


def bibs_of(files: dict[str, str]) -> Bibs:
    """The workspace's .bib files, by name under /ws."""
    return Bibs({(ROOT / n).as_uri(): BibFile((ROOT / n).as_uri(), ROOT / n, text) for n, text in files.items()})


def catalog_with(base: Index, bibs: Bibs) -> Catalog:
    return Catalog(base, bibs.papers())


def context(text: str, base: Index, *, name: str = "main.tex", bib: dict[str, str] | None = None,
            settings: dict[str, object] | None = None, **kw: object) -> tuple[FeatureContext, int, int]:
    """The context of a document written with one `$0`, and the cursor's (line, code point)."""
    before, mark, after = text.partition(CURSOR)
    assert mark, f"no {CURSOR} in the fixture"
    line = before.count("\n")
    col = len(before) - (before.rfind("\n") + 1)
    uri = (ROOT / name).as_uri()
    doc = DocAnalysis.from_text(uri, doc_kind(None, uri), before + after)
    bibs = bibs_of(bib or {})
    parsed: Settings = parse_settings(settings or {})[0]
    ctx = FeatureContext(doc, catalog_with(base, bibs), bibs, parsed, **kw)  # type: ignore[arg-type]
    return ctx, line, col


def region(ctx: FeatureContext, needle: str, nth: int = 0) -> Region:
    """Where the nth `needle` stands in the context's document."""
    seen = 0
    for i, line in enumerate(ctx.doc.lines):
        start = line.find(needle)
        while start >= 0:
            if seen == nth:
                return Region.on_line(i, start, start + len(needle))
            seen += 1
            start = line.find(needle, start + 1)
    raise AssertionError(f"{needle!r} not in the document")
