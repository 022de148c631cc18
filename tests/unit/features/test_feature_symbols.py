"""workspace_symbols: papers by name; at their .bib entry when the workspace has one, else at a page."""

from __future__ import annotations

from cursor import ROOT, bibs_of, catalog_with

from paperlens.features.results import Region
from paperlens.features.symbols import workspace_symbols
from paperlens.index.core import Index


def test_a_paper_in_the_bib_points_at_its_entry(base: Index, refs: dict[str, str]) -> None:
    bibs = bibs_of(refs)
    syms = workspace_symbols(catalog_with(base, bibs), bibs, "hsu2024drct")
    mine = next(s for s in syms if s.key == "hsu2024drct")
    assert mine.place is not None and mine.place.uri == (ROOT / "refs.bib").as_uri() and mine.url is None
    start = refs["refs.bib"].split("\n").index("@misc{hsu2024drct,")
    assert mine.place.region.start_line == start and mine.place.region.start == 0
    assert mine.name.startswith("DRCT")


def test_a_feed_paper_points_at_its_repo(base: Index) -> None:
    bibs = bibs_of({})
    [first, *_] = workspace_symbols(catalog_with(base, bibs), bibs, "PrefixKV")
    assert (first.key, first.place, first.url) == ("prefixkv2024", None, "https://github.com/THU-MIG/PrefixKV")
    assert first.name.startswith("PrefixKV: ")


def test_an_empty_query_finds_nothing(base: Index) -> None:
    bibs = bibs_of({})
    assert workspace_symbols(catalog_with(base, bibs), bibs, "  ") == []


def test_regions_are_plain(base: Index, refs: dict[str, str]) -> None:
    bibs = bibs_of(refs)
    for s in workspace_symbols(catalog_with(base, bibs), bibs, "information bottleneck"):
        assert s.place is None or isinstance(s.place.region, Region)
