"""A big feed parsed by the build's workers (library/feedstream.py): the JSON array cut into raw chunks of items
(feedfile.json_array_chunks), and the index built from them equal, file for file, to the one built from the
feed parsed here paper by paper (merge.stream_merged)."""

from __future__ import annotations

import copy
import io
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperlens.core.model import Paper, Repo
from paperlens.index.build import IndexBuilder
from paperlens.index.parallel import add_feed_parallel, feed_papers
from paperlens.index.persist import write_columns
from paperlens.library.feedstream import FeedStream, RawChunk
from paperlens.library.merge import stream_merged
from paperlens.sources import feedfile
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import json_array_chunks, read_feed_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "realworld"
REAL = SHARED / "hf" / "daily_papers-2024-10-25.json"


def _items(path: Path, items: int, block: int) -> list[Any]:
    got: list[Any] = []
    for first, raw in json_array_chunks(path, items, block):
        assert first == len(got)
        part = json.loads(raw)
        assert 0 < len(part) <= items
        got.extend(part)
    return got


@pytest.mark.parametrize(("items", "block"), [(1, 1 << 20), (4, 1000), (7, 37), (1000, 64 << 10)])
def test_real_feed_is_cut_into_its_items(items: int, block: int) -> None:
    # Blocks smaller than an item (37 bytes) make the scan carry an item's start over many reads.
    assert _items(REAL, items, block) == json.loads(REAL.read_bytes())


_NASTY = ['{"a": [1, 2]}', "[", "]", "}", "{", ",", '\\"', "\\", "\\\\", 'say "hi", [x]', "\\\\\\\"", "é ü 中文 😀",
          "\u2028", "tab\there", "", " , ] } ", "\\u005d"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice(_NASTY) + rng.choice(_NASTY)
    if kind == 1:
        return rng.choice([0, -1.5, 1e300, True, False, None])
    if kind == 2:
        return "".join(rng.choice(["a", '"', "\\", "[", "]", "{", "}", ",", " "]) for _ in range(rng.randrange(9)))
    if kind == 3:
        return rng.randrange(10**6)
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_NASTY) + str(i): _value(rng, depth + 1) for i in range(rng.randrange(4))}


@pytest.mark.parametrize("seed", range(8))
def test_strings_with_brackets_braces_and_escaped_quotes(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    items = [_value(rng) for _ in range(60)]
    path = tmp_path / "feed.json"
    text = json.dumps(items, ensure_ascii=seed % 2 == 0, indent=None if seed % 3 else 1)
    path.write_text("\n  " + text + " \n", encoding="utf-8")
    for chunk, block in ((1, 11), (5, 200), (60, 1 << 16)):
        assert _items(path, chunk, block) == items


@pytest.mark.parametrize(("text", "expect"), [
    ("[]", []), (" [ ] \n", []), ('[{"a": "]"}]', [{"a": "]"}]), ('["\\\\", "\\""]', ["\\", '"']),
    ('[[1, [2]], {"x": {"y": [3]}}]', [[1, [2]], {"x": {"y": [3]}}]),
])
def test_edge_arrays(tmp_path: Path, text: str, expect: list[Any]) -> None:
    path = tmp_path / "feed.json"
    path.write_text(text, encoding="utf-8")
    assert _items(path, 2, 3) == expect


@pytest.mark.parametrize(("text", "says"), [
    ('[{"a": 1}, {"b": 2}', "not closed"), ('[{"a": "]"}', "not closed"), ('[{"a": 1}] x', "follows the array"),
    ('{"papers": []}', "not a JSON array"),
])
def test_broken_arrays_name_the_file(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "feed.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FeedError, match=says) as e:
        list(json_array_chunks(path, 2, 4))
    assert str(path) in str(e.value)


def _feed(tmp_path: Path) -> tuple[Path, list[Paper], dict[str, Repo]]:
    """A daily-papers feed made from the real one: recurring names, duplicates by arXiv id and by title, an
    item without a title (skipped, with a warning), nasty strings; a small set that two of its papers are."""
    real = json.loads(REAL.read_bytes())
    items: list[Any] = []
    for i in range(260):
        it = copy.deepcopy(real[i % len(real)])
        it["paper"]["id"] = f"2502.{i:05d}"
        it["paper"]["title"] = f'Gloc{i % 7}-IB: "sparse" attention [{i}] {{kv}} \\ cache, part {i}'
        it["paper"]["summary"] = f"We propose Gloc{i % 7}-IB and SuperGlobal{i % 11} for time series imputation."
        items.append(it)
    items.insert(40, copy.deepcopy(items[3]))  # the same arXiv id again (a later day's listing)
    dup = copy.deepcopy(items[10])
    dup["paper"]["id"] = "2502.99999"  # another id, the same title
    items.insert(100, dup)
    items.insert(7, {"paper": {"id": "2502.77777"}})  # no title: skipped
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(items, indent=1), encoding="utf-8")
    papers, _ = read_feed_file(REAL)
    small = [Paper(title="Local record", arxiv_id="2502.00005", venue="NeurIPS", bib_key="mine5"),
             Paper(title=items[20]["paper"]["title"], abstract="", venue="ICML"),
             Paper(title="Only in the small set", arxiv_id="2601.00001")]
    repos = {papers[0].repo.lower(): Repo(papers[0].repo, identifiers=("GlocalLayer",))} if papers[0].repo else {}
    return path, small, repos


def test_feed_stream_gives_stream_merged_papers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)  # the test feed is streamed as a big one is
    path, small, repos = _feed(tmp_path)
    w1: list[str] = []
    want = list(stream_merged(small, [path], repos, w1))
    w2: list[str] = []
    seen: list[int] = []
    got = list(feed_papers(FeedStream(small, [path], w2, seen.append, chunk=9), repos))
    assert got == want and w2 == w1
    assert len(want) == 260 + 1  # the duplicates dropped, the small set's last paper added
    assert any("skipped" in w for w in w1)
    assert next(p for p in got if p.arxiv_id == "2502.00005").venue == "NeurIPS"
    assert seen[-1] == len(want)


def test_parallel_feed_build_equals_serial_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path, small, repos = _feed(tmp_path)
    serial = IndexBuilder(dict(repos), io.BytesIO())
    w1: list[str] = []
    serial.add_all(stream_merged(small, [path], repos, w1))
    parallel = IndexBuilder(dict(repos), io.BytesIO())
    w2: list[str] = []
    add_feed_parallel(parallel, FeedStream(small, [path], w2, chunk=23), workers=2, min_chunks=0)
    assert parallel.workers is not None  # (built on the workers, not here)
    assert w2 == w1
    out = {}
    for name, b in (("serial", serial), ("parallel", parallel)):
        out[name] = tmp_path / name
        out[name].mkdir()
        write_columns(b.finish(), out[name])
    names = sorted(p.name for p in out["serial"].iterdir() if p.name != "meta.json")
    assert len(names) > 30
    for name in names:
        assert (out["serial"] / name).read_bytes() == (out["parallel"] / name).read_bytes(), name


def _fails_naming(path: Path, repos: dict[str, Repo], source: FeedStream, match: str) -> None:
    """The parallel build of source fails with a FeedError that matches and names the feed file."""
    b = IndexBuilder(dict(repos), io.BytesIO())
    with pytest.raises(FeedError, match=match) as e:
        add_feed_parallel(b, source, workers=2, min_chunks=0)
    assert str(path) in str(e.value)
    b.close_workers()


def test_invalid_item_fails_the_build_with_the_file_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path, small, repos = _feed(tmp_path)
    text = path.read_text(encoding="utf-8")
    cut = text.index('"2502.00150"')
    path.write_text(text[:cut] + "nul" + text[cut:], encoding="utf-8")  # not JSON, but the array still closes
    _fails_naming(path, repos, FeedStream(small, [path], [], chunk=23), "invalid JSON after")


def test_feed_cut_short_fails_the_build_with_the_file_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed whose array ends mid-way (a download cut short) fails the build with the file named, after the
    workers had chunks of it in their care."""
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path, small, repos = _feed(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    _fails_naming(path, repos, FeedStream(small, [path], [], chunk=11), "the array is not closed")


def test_feed_replaced_while_it_is_built_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers read their chunks from the feed file themselves: a feed replaced mid-way (a refresh that
    saved a new one) fails the build with the file named, not with chunks of the new file read at the old
    one's offsets."""
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path, small, repos = _feed(tmp_path)
    source = FeedStream(small, [path], [], chunk=11)
    spans = list(source.raw_chunks())

    def replaced() -> Iterator[RawChunk]:
        for i, raw in enumerate(spans):
            if i == 3:
                new = tmp_path / "new.json"
                new.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))[5:]), encoding="utf-8")
                os.replace(new, path)
            yield raw

    monkeypatch.setattr(source, "raw_chunks", replaced)
    _fails_naming(path, repos, source, "cannot read it after [0-9]+ papers: the file changed")


def test_a_worker_that_dies_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies mid-way (here: on a chunk it cannot parse) fails the build with an error that says so,
    and nothing waits for it: the build's threads and the other worker stop."""
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path, small, repos = _feed(tmp_path)
    source = FeedStream(small, [path], [], chunk=11)
    good = list(source.raw_chunks())
    broken = RawChunk(str(path), 0, None, False)  # type: ignore[arg-type]  # (the worker's parse raises)
    monkeypatch.setattr(source, "raw_chunks", lambda: iter([*good[:5], broken, *good[5:]]))
    b = IndexBuilder(dict(repos), io.BytesIO())
    with pytest.raises(OSError, match="index build worker [0-9]+ exited"):
        add_feed_parallel(b, source, workers=2, min_chunks=0)
    b.close_workers()


def test_empty_feed_says_no_papers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path = tmp_path / "feed.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(FeedError, match="no papers found"):
        list(feed_papers(FeedStream([], [path], []), {}))


def test_feed_that_is_not_an_array_is_parsed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big feed that is not one JSON array (a saved library, {"papers": [...]}) is parsed in this process, as
    before, and decided on the same way: the same papers as stream_merged, on the workers too."""
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    path, small, repos = _feed(tmp_path)
    wrapped = tmp_path / "library.json"
    wrapped.write_text(json.dumps({"papers": json.loads(path.read_text(encoding="utf-8"))}), encoding="utf-8")
    w1: list[str] = []
    want = list(stream_merged(small, [wrapped], repos, w1))
    w2: list[str] = []
    assert list(feed_papers(FeedStream(small, [wrapped], w2, chunk=50), repos)) == want and w2 == w1
    b = IndexBuilder(dict(repos), io.BytesIO())
    add_feed_parallel(b, FeedStream(small, [wrapped], [], chunk=50), workers=2, min_chunks=0)
    assert b.n == len(want) == 261
    b.close_workers()


def test_warnings_name_the_real_entry_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad item's warning names its place in the feed's array (as a feed read whole says it: entry 2 is the
    3rd item), whether the feed is streamed here item by item or cut into chunks that workers parse."""
    real = json.loads(REAL.read_bytes())
    items: list[Any] = [copy.deepcopy(real[i % len(real)]) for i in range(40)]
    for i, it in enumerate(items):
        it["paper"]["id"] = f"2502.{i:05d}"
    items[2] = {"paper": {"id": "2502.77777"}}  # no title: skipped
    items[31] = "not an object"  # in a later chunk, not its first item
    path = tmp_path / "entry 0 feed.json"  # (a path that says "entry 0" stays as it is)
    path.write_text(json.dumps(items), encoding="utf-8")
    want = [f"{path}: entry 2 (id '2502.77777') skipped: no title",
            f"{path}: entry 31 (str) skipped: expected an object, got str"]
    whole: list[str] = read_feed_file(path)[1]
    assert [w for w in whole if "skipped" in w] == want
    monkeypatch.setattr(feedfile, "STREAM_BYTES", 0)
    streamed: list[str] = []
    list(feedfile.iter_feed_file(path, streamed))
    assert streamed == whole
    for chunk in (1, 3, 7, 50):
        on_workers: list[str] = []
        list(feed_papers(FeedStream([], [path], on_workers, chunk=chunk), {}))
        assert on_workers == whole, chunk
    b = IndexBuilder({}, io.BytesIO())
    parallel: list[str] = []
    add_feed_parallel(b, FeedStream([], [path], parallel, chunk=7), workers=2, min_chunks=0)
    b.close_workers()
    assert parallel == whole
