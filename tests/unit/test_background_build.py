"""The index built in a child process (library/background.py): what it writes is the index open_index opens, a
bad feed is named, a killed build says so, and a refresh's rebuild of large sources goes through it."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest

from paperlens.core.config import Settings
from paperlens.library import pipeline
from paperlens.library.background import BUILD_NICENESS, BuildJob, run_build

SHARED = Path(__file__).resolve().parents[3] / "shared" / "realworld"
SNAPSHOT_PAPERS = 54


def _settings(tmp_path: Path, *feeds: Path) -> Settings:
    return Settings(feeds=tuple(str(f) for f in feeds), cache_dir=str(tmp_path / "cache"), offline=True)


def test_child_builds_the_index_open_index_then_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = tmp_path / "feed.json"
    shutil.copy(SHARED / "hf" / "daily_papers-2024-10-25.json", feed)
    s = _settings(tmp_path, feed)
    monkeypatch.setenv("PAPERLENS_BACKGROUND_BUILD_BYTES", "1000")
    assert pipeline.builds_long(s) and pipeline.open_built(s) is None
    before = pipeline.open_previous(s)  # nothing built yet: the shipped snapshot
    assert before.index.n == SNAPSHOT_PAPERS and before.library_source.endswith("papers.json")
    job = BuildJob(s, what=str(feed))
    assert job.wait(300) and job.ok, job.error
    assert job.pid != os.getpid()
    assert job.proc.wait(60) == 0  # a clean exit once it has said so (not an abort at interpreter shutdown)
    built = pipeline.open_built(s)
    assert built is not None and built.index.n == job.outcome["papers"] > SNAPSHOT_PAPERS
    assert pipeline.open_previous(s).index.n == built.index.n  # from now on, the previous index is this one
    # A refresh's rebuild (build_index) of the same sources finds it: nothing is built again.
    assert pipeline.build_index(s) == built.index.n


def test_a_feed_that_cannot_be_read_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('[{"paper": {"id": "2501.00001", "title": "x"', encoding="utf-8")
    monkeypatch.setenv("PAPERLENS_BACKGROUND_BUILD_BYTES", "10")
    out = run_build(_settings(tmp_path, bad), what=str(bad))
    assert out["papers"] == SNAPSHOT_PAPERS
    assert len(out["errors"]) == 1 and str(bad) in out["errors"][0]


def test_a_killed_build_says_so_and_leaves_no_index(tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    shutil.copy(SHARED / "hf" / "daily_papers-2024-10-25.json", feed)
    s = _settings(tmp_path, feed)
    job = BuildJob(s, what=str(feed))
    os.kill(job.pid, 9)
    assert job.wait(60) and not job.ok
    assert job.error == f"the index build of {feed} stopped (killed by SIGKILL)"
    assert pipeline.open_built(s) is None


def test_a_refresh_rebuild_of_large_sources_runs_in_a_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    feed = tmp_path / "feed.json"
    shutil.copy(SHARED / "hf" / "daily_papers-2024-10-25.json", feed)
    s = _settings(tmp_path, feed)
    monkeypatch.setenv("PAPERLENS_BACKGROUND_BUILD_BYTES", "1000")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = pipeline.build_index(s)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert after.ru_utime + after.ru_stime > kids.ru_utime + kids.ru_stime + 0.2  # the child did the work
    built = pipeline.open_built(s)
    assert built is not None and built.index.n == n > SNAPSHOT_PAPERS


def test_what_a_killed_build_left_is_removed_by_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    from paperlens.index.persist import prune

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in (f"index-0123abcd.tmp{dead.pid}", f"index-0123abcd.old{dead.pid}", f"index-0123abcd.tmp{os.getpid()}"):
        (cache / name).mkdir()
        (cache / name / "papers.jsonl").write_text("x")
    (cache / f"records-{dead.pid}-abc").write_text("x")
    (cache / f"records-{os.getpid()}-abc").write_text("x")
    (cache / "library.json").write_text("{}")
    prune(cache, keep="index-none")
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [f"index-0123abcd.tmp{os.getpid()}", f"records-{os.getpid()}-abc", "library.json"])  # live ones kept


def test_the_build_yields_the_cpu_to_the_server(tmp_path: Path) -> None:
    """The child runs at a lower priority than the server that started it (its workers inherit it)."""
    feed = tmp_path / "feed.json"
    shutil.copy(SHARED / "hf" / "daily_papers-2024-10-25.json", feed)
    job = BuildJob(_settings(tmp_path, feed), what=str(feed))
    want, seen = min(19, os.getpriority(os.PRIO_PROCESS, 0) + BUILD_NICENESS), None
    try:
        while not job.done.is_set() and seen != want:
            with contextlib.suppress(ProcessLookupError):
                seen = os.getpriority(os.PRIO_PROCESS, job.pid)
            time.sleep(0.002)
    finally:
        assert job.wait(300) and job.ok, job.error
    assert seen == want
