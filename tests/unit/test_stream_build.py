"""A large feed is streamed into the index: same answers as the in-memory build, nothing held twice."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from paperlens.core.config import Settings
from paperlens.index.catalog import Catalog
from paperlens.library import pipeline as library
from paperlens.library.pipeline import open_index
from paperlens.sources import feedfile as feeds
from paperlens.sources.errors import FeedError


def _daily(n: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = [{
        "paper": {"id": f"2501.{i:05d}", "title": f"Method{i}Net: Streaming Test Paper Number {i}",
                  "summary": f"We propose Method{i}Net, a sparse attention scheme for long context number {i}.",
                  "authors": [{"name": f"Ada Author{i}"}], "publishedAt": "2025-01-02T00:00:00.000Z",
                  "upvotes": i % 17},
    } for i in range(n)]
    # The same paper as the snapshot's DRCT (by title): it merges, it is not a second DRCT.
    items.append({"paper": {"id": "2404.00722", "title": "DRCT: Saving Image Super-resolution away from "
                            "Information Bottleneck", "summary": "x", "authors": [{"name": "Chih-Chung Hsu"}],
                            "publishedAt": "2024-03-31T00:00:00.000Z", "upvotes": 99}})
    return items


@pytest.mark.parametrize("streamed", [False, True])
def test_big_feed_builds_the_same_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool) -> None:
    feed = tmp_path / "daily.json"
    feed.write_text(json.dumps(_daily(300)))
    if streamed:
        monkeypatch.setattr(feeds, "STREAM_BYTES", 1000)
        monkeypatch.setattr(library, "STREAM_BYTES", 1000)
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), feeds=(str(feed),))
    cat = Catalog(open_index(s).index)
    assert cat.n_papers == 54 + 300
    e = cat.lookup("Method42Net")
    assert e is not None and e.title.startswith("Method42Net:") and e.paper.authors == ("Ada Author42",)
    drct = [h for h in cat.search("DRCT", 10) if h.title.startswith("DRCT:")]
    assert len(drct) == 1 and drct[0].arxiv_id == "2404.00722" and drct[0].upvotes == 99
    assert drct[0].repo_name == "ming053l/DRCT"  # the snapshot's repo link survives the merge
    assert cat.related(e, 3)


def test_streamed_feed_with_bad_json_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = tmp_path / "daily.json"
    feed.write_text(json.dumps(_daily(50))[:-200])
    monkeypatch.setattr(feeds, "STREAM_BYTES", 1000)
    monkeypatch.setattr(library, "STREAM_BYTES", 1000)
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), feeds=(str(feed),))
    with pytest.raises(FeedError, match="daily.json: invalid JSON"):
        open_index(s)
    assert not list((tmp_path / "cache").glob("index-*"))  # nothing half-built is kept
