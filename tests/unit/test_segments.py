"""Issue 13: an index that grows by what is new. New papers go into a new segment, upvotes into the live table;
the segments already written are not touched, keys never change, and a merge killed at any point leaves an index
that opens and answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from paperlens.core.config import Settings
from paperlens.core.model import Paper
from paperlens.index import segments
from paperlens.index.catalog import Catalog
from paperlens.library.pipeline import find_index, open_index, refresh, sources_fingerprint
from paperlens.library.store import library_path, read_library
from support.fixture_server import FixtureServer


def _paper(i: int, *, first: str = "Ada", last: str = "Author", title: str | None = None, upvotes: int = 3) -> Paper:
    return Paper(title=title or f"Segment{i}Net: Sparse Attention for Long Context Number {i}",
                 authors=(f"{first} {last}{i % 7}",), date=dt.date(2025, 1, 1 + i % 28), upvotes=upvotes,
                 arxiv_id=f"2502.{i:05d}", abstract=f"We propose Segment{i}Net, a sparse attention scheme for "
                 f"long context retrieval and kv cache compression, variant {i}.")


def _feed(path: Path, papers: list[Paper]) -> None:
    path.write_text(json.dumps([{"paper": {"id": p.arxiv_id, "title": p.title, "summary": p.abstract,
                                           "authors": [{"name": a} for a in p.authors],
                                           "publishedAt": f"{p.date}T00:00:00.000Z", "upvotes": p.upvotes}}
                                for p in papers]))


def _digest(d: Path) -> dict[str, str]:
    """Every file of a directory tree, by content hash (lock files aside)."""
    return {str(f.relative_to(d)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(d.rglob("*")) if f.is_file() and f.name != ".in-use"}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Settings, Path]:
    feed = tmp_path / "feed.json"
    _feed(feed, [_paper(i) for i in range(200)])
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), feeds=(str(feed),), offline=True)
    open_index(s)
    ipath = find_index(s.cache_path, sources_fingerprint(s))
    assert ipath is not None
    return s, ipath


def test_added_papers_answer_without_a_rebuild_and_old_files_stay_byte_identical(built: tuple[Settings, Path]) -> None:
    s, ipath = built
    before = Catalog(open_index(s).index)
    old_keys = {(e.arxiv_id, e.title): e.key for e in map(before.base.entry, range(before.base.n))}
    seg0 = _digest(ipath / "seg-0")
    some = before.lookup("Segment7Net")
    assert some is not None and some.upvotes == 3
    # A new paper whose generated key is one the index has given already ("author02025segment7net" style).
    twin = dataclasses.replace(_paper(7), arxiv_id="2503.00007", title="Segment7Net Revisited: a Second Look",
                               abstract="We revisit Segment7Net with a new retrieval objective.")
    new = [dataclasses.replace(_paper(1000 + i), title=f"FreshNet{i}: Incremental Indexing of Paper Number {i}")
           for i in range(5)] + [twin]
    segments.add(ipath, segments.Delta(papers=new, upvotes={some.key: 4242}), "test-sources")

    m = segments.read_manifest(ipath)
    assert m is not None and m.segments[0] == "seg-0" and len(m.segments) == 2 and m.sources == "test-sources"
    assert _digest(ipath / "seg-0") == seg0, "the built segment was rewritten"
    ix = segments.open_segments(ipath)
    assert ix is not None and ix.n == before.base.n + 6
    cat = Catalog(ix)
    # Searchable, hoverable (a name and its card), citable (by key), and found by arXiv id.
    hit = cat.search("FreshNet3", 5)
    assert hit and hit[0].title.startswith("FreshNet3:")
    m3 = cat.mention("FreshNet3")
    assert m3 is not None and m3.entries[0].paper.abstract.startswith("We propose Segment1003Net")
    assert cat.by_key(hit[0].key) is not None and cat.by_arxiv("2502.01003") is not None
    assert any(e.title.startswith("FreshNet") for e in cat.search("incremental indexing", 10))
    # Keys of existing papers never change; the new twin got a key of its own.
    for i in range(before.base.n):
        e = ix.entry(i)
        assert old_keys[(e.arxiv_id, e.title)] == e.key
    twin_e = cat.by_arxiv("2503.00007")
    assert twin_e is not None and twin_e.key not in old_keys.values()
    # The live upvotes show on the entry and on its card's record.
    e7 = cat.by_key(some.key)
    assert e7 is not None and e7.upvotes == 4242 and e7.paper.upvotes == 4242
    # Related papers come from both segments.
    rel = cat.related(hit[0], 5)
    assert rel and any(r.title.startswith("FreshNet") for r in rel) and any(r.title.startswith("Segment") for r in rel)


def test_related_queries_translated_through_the_term_maps_equal_those_translated_by_name(
        built: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A query is carried to a small segment through its term map to the first segment (and back); the answers
    (papers, scores, reasons) are those of looking every phrase up by name."""
    s, ipath = built
    for b in range(2):  # two small segments, sharing phrases with the first one and with each other
        segments.add(ipath, segments.Delta(papers=[dataclasses.replace(
            _paper(2000 + 10 * b + i), title=f"Fresh{b}Net{i}: Sparse Attention for Long Context Retrieval")
            for i in range(6)]), "test-sources")

    def answers() -> list[object]:
        ix = segments.open_segments(ipath)
        assert ix is not None and len(ix.segs) == 3
        out: list[object] = []
        for i in [*range(0, ix.starts[1], 7), *range(ix.starts[1], ix.n)]:
            q = ix.paper_query(i)
            hits = ix.related_to(q, 20, exclude=i)  # (20: the weaker papers of every segment too)
            out.append((i, hits, [ix.why(q, j) for j, _ in hits]))
        return out

    mapped = answers()
    monkeypatch.setattr(segments, "SEG_TERMS_MAX", -1)  # every segment translated by name
    by_name = answers()
    assert mapped == by_name
    ix = segments.open_segments(ipath)
    assert ix is not None
    across = [i for i, hits, _ in mapped if any(ix.loc(int(i))[0] != ix.loc(j)[0] for j, _ in hits)]
    assert across, "no query found papers in another segment: the maps were not exercised"


def test_a_refresh_adds_a_segment_instead_of_rebuilding(tmp_path: Path, fixture_server: FixtureServer) -> None:
    daily = [{"paper": {"id": "2501.00001", "title": "NewNet: A Test Paper for Refresh",
                        "summary": "We propose NewNet.", "authors": [{"name": "Ada Lovelace"}],
                        "publishedAt": "2025-01-02T00:00:00.000Z", "upvotes": 7}}]
    fixture_server.hf_routes["/api/daily_papers"] = lambda q: daily if q.get("p", "0") == "0" else []
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), github_base_url=fixture_server.base_url,
                            hf_base_url=fixture_server.base_url, github_token_env="PAPERLENS_TEST_NO_TOKEN")
    assert refresh(s).saved
    ipath = find_index(s.cache_path, sources_fingerprint(s))
    assert ipath is not None
    key = Catalog(open_index(s).index).lookup("NewNet")
    assert key is not None and key.upvotes == 7
    seg0 = _digest(ipath / "seg-0")
    daily = [{"paper": {**daily[0]["paper"], "upvotes": 70}},
             {"paper": {"id": "2501.00002", "title": "LaterNet: Another Test Paper", "summary": "We propose LaterNet.",
                        "authors": [{"name": "Grace Hopper"}], "publishedAt": "2025-01-03T00:00:00.000Z",
                        "upvotes": 2}}]
    shutil.rmtree(s.cache_path / "http")  # the feed's cached answer is within its time-to-live: ask again
    summary = refresh(s)
    assert summary.saved and summary.new_papers == 1
    # The same index directory answers for the new library: seg-0 untouched, one segment more.
    assert find_index(s.cache_path, sources_fingerprint(s)) == ipath
    assert _digest(ipath / "seg-0") == seg0
    m = segments.read_manifest(ipath)
    assert m is not None and len(m.segments) == 2
    cat = Catalog(open_index(s).index)
    later = cat.lookup("LaterNet")
    assert later is not None and later.title.startswith("LaterNet")
    again = cat.by_key(key.key)
    assert again is not None and again.upvotes == 70 and again.title.startswith("NewNet")
    assert any(p.title.startswith("LaterNet") for p in read_library(library_path(s)).papers)


MERGER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from paperlens.index import segments
    print("merging", flush=True)
    segments.merge(Path(sys.argv[1]), force=True)
    print("merged", flush=True)
""")

READER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from paperlens.index import segments
    from paperlens.index.catalog import Catalog
    cat = Catalog(segments.open_segments(Path(sys.argv[1])))
    print("ready", cat.base.n, flush=True)
    for line in sys.stdin:
        e = cat.lookup(line.strip())
        print(e.paper.title if e else "none", flush=True)
""")


def _env() -> dict[str, str]:
    server = str(Path(__file__).resolve().parents[2] / "server")
    return {**os.environ, "PYTHONPATH": server + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_kill_9_during_a_merge_leaves_an_index_that_answers(built: tuple[Settings, Path]) -> None:
    _, ipath = built
    first = segments.open_segments(ipath)
    assert first is not None
    total = first.n + 600
    del first
    for g in range(4):  # four small segments of 150 papers: a merge that takes a moment
        papers = [dataclasses.replace(_paper(5000 + 150 * g + i),
                                      title=f"Merge{g}x{i}Net: A Paper for the Merge Test {g} {i}") for i in range(150)]
        segments.add(ipath, segments.Delta(papers=papers), "s")
    probes = ["Merge0x3Net", "Merge3x149Net", "Segment5Net"]
    reader = subprocess.Popen([sys.executable, "-c", READER, str(ipath)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["ready", str(total)]
        landed = 0
        for delay in (0.1, 0.3, 0.6, 1.0, 1.6):
            p = subprocess.Popen([sys.executable, "-c", MERGER, str(ipath)], stdout=subprocess.PIPE, text=True,
                                 env=_env())
            assert p.stdout is not None and p.stdout.readline().strip() == "merging"
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
            landed += "merged" not in p.stdout.read()
            ix = segments.open_segments(ipath)
            assert ix is not None and ix.n == total, delay
            cat = Catalog(ix)
            for name in probes:
                e = cat.lookup(name)
                assert e is not None and e.title.startswith(name.split("Net")[0]), (delay, name)
        assert landed >= 2, "the merges finished before they could be killed"
        # A merge that completes: one small segment instead of four, the same answers and keys.
        before = Catalog(segments.open_segments(ipath))  # type: ignore[arg-type]
        keys = {(e.arxiv_id, e.title): e.key for e in map(before.base.entry, range(total))}
        m = segments.read_manifest(ipath)
        assert m is not None
        assert segments.merge(ipath, force=True) or len(m.segments) == 2  # (a late kill let one finish)
        m = segments.read_manifest(ipath)
        assert m is not None and len(m.segments) == 2
        after = segments.open_segments(ipath)
        assert after is not None and after.n == total
        assert {(e.arxiv_id, e.title): e.key for e in map(after.entry, range(total))} == keys
        # The reader opened the old segments before the merge: they were kept for it, and it still answers.
        for name in probes:
            reader.stdin.write(name + "\n")
            reader.stdin.flush()
            assert reader.stdout.readline().startswith(name.split("Net")[0]), name
    finally:
        reader.kill()
        reader.wait()
    # Once no one uses them, the merged-away segments and the killed merges' temp dirs are deleted.
    del before, after, cat, ix, e
    gc.collect()  # a Catalog is in a reference cycle: its segments' pins close when it is collected
    segments.collect(ipath)
    m = segments.read_manifest(ipath)
    assert m is not None
    assert sorted(d.name for d in ipath.iterdir() if d.is_dir()) == sorted(m.segments)


def test_shipped_snapshot_fingerprint_is_its_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index built on the shipped snapshot is found again after a reinstall elsewhere (same content), and
    built again when the snapshot or its vectors change."""
    from paperlens.library import pipeline
    from paperlens.library.store import snapshot_file

    s = Settings(cache_dir=str(tmp_path / "cache"))
    prints = []
    for name, extra in (("a", b""), ("b", b""), ("c", b" "), ("d", b"")):
        d = tmp_path / name
        d.mkdir()
        (d / "papers.json").write_bytes(snapshot_file().read_bytes() + extra)
        (d / "vectors-minilm.npz").write_bytes(b"v2" if name == "d" else b"v1")
        monkeypatch.setattr(pipeline, "snapshot_file", lambda d=d: d / "papers.json")
        monkeypatch.setattr(pipeline, "base_path", lambda _s, d=d: d / "papers.json")
        prints.append(sources_fingerprint(s))
    assert prints[0] == prints[1]  # same content, another place
    assert prints[2] != prints[0] and prints[3] != prints[0]  # other papers; other vectors


def test_a_fetched_paper_a_local_feed_also_holds_is_not_new_and_rebuilds(
        tmp_path: Path, fixture_server: FixtureServer) -> None:
    """The local feed's fields win for its papers, so the live feed bringing one of them is not an incremental
    change (the index is built again) and does not count as new; the others do."""
    local = [_paper(i) for i in range(30)]
    feed = tmp_path / "feed.json"
    _feed(feed, local)
    daily = [{"paper": {"id": local[4].arxiv_id, "title": local[4].title, "summary": local[4].abstract,
                        "authors": [{"name": a} for a in local[4].authors], "upvotes": 99,
                        "publishedAt": f"{local[4].date}T00:00:00.000Z"}},
             {"paper": {"id": "2501.00002", "title": "LaterNet: Another Test Paper", "summary": "We propose LaterNet.",
                        "authors": [{"name": "Grace Hopper"}], "publishedAt": "2025-01-03T00:00:00.000Z",
                        "upvotes": 2}}]
    fixture_server.hf_routes["/api/daily_papers"] = lambda q: daily if q.get("p", "0") == "0" else []
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), github_base_url=fixture_server.base_url,
                            hf_base_url=fixture_server.base_url, github_token_env="PAPERLENS_TEST_NO_TOKEN",
                            feeds=(str(feed), f"{fixture_server.base_url}/api/daily_papers"))
    open_index(s)
    summary = refresh(s)
    assert summary.saved and summary.new_papers == 1 and not summary.incremental
    cat = Catalog(open_index(s).index)
    assert cat.lookup("LaterNet") is not None and cat.lookup("Segment4Net") is not None


def test_a_grown_index_shares_the_segments_already_open(built: tuple[Settings, Path]) -> None:
    """The index a refresh grew opens with the segments the serving index already maps (not mapped and paged in
    a second time); each Segments still gives entries of its own."""
    _, ipath = built
    old = segments.open_segments(ipath)
    assert old is not None
    segments.add(ipath, segments.Delta(papers=[_paper(5000)]), "test-sources")
    new = segments.open_segments(ipath)
    assert new is not None and len(new.segs) == 2 and new.n == old.n + 1
    assert new.segs[0] is old.segs[0]
    assert new.entry(0).index is new and old.entry(0).index is old  # entries belong to the Segments asked
    n = new.n
    del old, new
    gc.collect()
    again = segments.open_segments(ipath)
    assert again is not None and again.n == n
