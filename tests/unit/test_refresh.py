"""`refresh` against a real loopback server playing GitHub and HF: repos resolve code names to papers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paperlens.core.config import Settings
from paperlens.index.catalog import Catalog
from paperlens.library.pipeline import open_index, refresh
from paperlens.library.store import library_path, read_library
from paperlens.sources.http import HttpClient
from support.fixture_server import FixtureServer

DAILY = [{
    "paper": {"id": "2501.00001", "title": "NewNet: A Test Paper for Refresh", "summary": "We propose NewNet.",
              "authors": [{"name": "Ada Lovelace"}], "publishedAt": "2025-01-02T00:00:00.000Z", "upvotes": 7,
              "githubRepo": "https://github.com/ming053l/DRCT-extra"},
    "title": "NewNet: A Test Paper for Refresh", "publishedAt": "2025-01-03T00:00:00.000Z",
}]


def _settings(tmp: Path, server: FixtureServer, **kw: object) -> Settings:
    return dataclasses.replace(Settings(), cache_dir=str(tmp / "cache"), github_base_url=server.base_url,
                               hf_base_url=server.base_url, github_token_env="PAPERLENS_TEST_NO_TOKEN",
                               **kw)  # type: ignore[arg-type]


@pytest.fixture
def refreshed(tmp_path: Path, fixture_server: FixtureServer) -> tuple[Settings, Catalog]:
    fixture_server.hf_routes["/api/daily_papers"] = lambda q: DAILY if q.get("p", "0") == "0" else []
    s = _settings(tmp_path, fixture_server)
    summary = refresh(s)
    assert summary.saved, summary.describe()
    assert summary.repos_fetched == 6  # the six fixture repos; the others answer 404 and are skipped
    assert summary.new_papers == 1
    return s, Catalog(open_index(s).index)


@pytest.mark.parametrize(
    ("name", "title_start"),
    [("DRCT_arch", "DRCT:"), ("DRCT", "DRCT:"), ("drct", "DRCT:"), ("Glocal_IB", "Glocal Information"),
     ("PrefixKV", "PrefixKV"), ("BlockTransformer", "Block Transformer"), ("NewNet", "NewNet")],
)
def test_code_names_resolve_to_papers(refreshed: tuple[Settings, Catalog], name: str, title_start: str) -> None:
    _, cat = refreshed
    m = cat.mention(name)
    assert m is not None and m.entries[0].title.startswith(title_start), name


def test_readme_bibtex_supplies_authors_and_arxiv(refreshed: tuple[Settings, Catalog]) -> None:
    _, cat = refreshed
    e = cat.lookup("DRCT")
    assert e is not None
    assert e.paper.authors == ("Chih-Chung Hsu", "Chia-Ming Lee", "Yi-Shiuan Chou")
    assert e.arxiv_id == "2404.00722"
    assert e.key == "hsu2024drct"  # author-style key once names are known
    repo = e.repo
    assert repo is not None and repo.language == "Jupyter Notebook" and repo.pushed_at


def test_refresh_is_cached_and_revalidated(tmp_path: Path, fixture_server: FixtureServer) -> None:
    fixture_server.hf_routes["/api/daily_papers"] = []
    s = _settings(tmp_path, fixture_server)
    refresh(s)
    fixture_server.clear_requests()
    refresh(s)  # every fetched resource is within its time-to-live: no request for it at all
    assert fixture_server.requests_to("/repos/ming053l/DRCT") == []
    assert fixture_server.requests_to("/repos/THU-MIG/PrefixKV") == []


def test_failed_refresh_keeps_good_data(tmp_path: Path, fixture_server: FixtureServer) -> None:
    fixture_server.hf_routes["/api/daily_papers"] = DAILY
    good = _settings(tmp_path, fixture_server)
    refresh(good)
    before = library_path(good).read_bytes()
    # A second cache dir's HTTP cache is empty, and every request fails: nothing new can be had.
    fixture_server.fail_next(10_000, status=500)
    bad = dataclasses.replace(good, cache_dir=str(tmp_path / "cache"))
    import shutil

    shutil.rmtree(tmp_path / "cache" / "http", ignore_errors=True)
    with HttpClient(cache_dir=tmp_path / "cache", backoff_base=0.0, retries=1) as http:
        summary = refresh(bad, http=http)
    assert summary.repos_fetched == 0 and summary.feeds_ok == 0 and not summary.saved
    assert library_path(good).read_bytes() == before
    lib = read_library(library_path(good))
    assert any(p.title.startswith("NewNet") for p in lib.papers)


def test_offline_refresh_touches_no_network(tmp_path: Path, fixture_server: FixtureServer) -> None:
    s = _settings(tmp_path, fixture_server, offline=True)
    summary = refresh(s)
    assert fixture_server.requests_to("") == []
    assert not summary.saved
    assert Catalog(open_index(s).index).lookup("DRCT") is not None  # the snapshot still answers


def _linking(i: int) -> dict[str, object]:
    return {"paper": {"id": f"2502.{i:05d}", "title": f"Rotor{i}: Paper {i} With Its Own Repo",
                      "summary": f"We propose Rotor{i}.", "authors": [{"name": "Ada Lovelace"}],
                      "publishedAt": "2025-02-01T00:00:00.000Z", "upvotes": 1,
                      "githubRepo": f"https://github.com/rotation/rotor{i}"}}


def test_refresh_fetches_a_bounded_rotation_of_repos(tmp_path: Path, fixture_server: FixtureServer) -> None:
    """A big library costs a bounded number of GitHub requests a refresh: the fetched papers' repos always, the
    others `repo_budget` at a time in rotation, each once before any comes round again."""
    import json

    feed = tmp_path / "library-feed.json"
    feed.write_text(json.dumps([_linking(i) for i in range(10)]))
    fixture_server.hf_routes["/api/daily_papers"] = lambda q: DAILY if q.get("p", "0") == "0" else []
    s = _settings(tmp_path, fixture_server, feeds=(str(feed), f"{fixture_server.base_url}/api/daily_papers"))
    others: list[str] = []
    due = 0
    while True:
        fixture_server.clear_requests()
        summary = refresh(s, repo_budget=8)
        due = summary.repos_due
        asked = sorted({"/".join(r.path.split("/")[2:4]).lower() for r in fixture_server.requests_to("/repos/")})
        assert "ming053l/drct-extra" in asked, "the fetched paper's repo, every time"
        asked.remove("ming053l/drct-extra")
        assert len(asked) <= 8, asked
        if not others:
            assert "come round on later refreshes" in summary.describe()
        if len(others) + len(asked) >= due - 1:
            break
        assert not set(asked) & set(others), (asked, others)  # none twice before every one came round
        others += asked
    assert {f"rotation/rotor{i}" for i in range(10)} <= set(others + asked)
    assert len(set(others + asked)) == due - 1
