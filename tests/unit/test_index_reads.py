"""How the server reads a saved index at a million papers: the related-papers path reads its scattered posting
slices by pread (store.FileSlices), not through the memory map, so that its pages stay in the kernel's file
cache instead of the server's RSS; and the index's columns are read once into that cache at start
(store.prefetch), so the first requests do not wait for the disk."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from paperlens.core.config import Settings
from paperlens.core.model import Paper
from paperlens.index import segments, store
from paperlens.index.core import Index
from paperlens.index.persist import read_columns
from paperlens.index.store import FileSlices, load_mapped, prefetch
from paperlens.library.pipeline import find_index, open_index, sources_fingerprint

TOPICS = ["image super-resolution with window attention", "time series imputation with an information bottleneck",
          "kv cache compression for long context inference", "speech enhancement with phase modeling"]


def _papers(n: int) -> list[Paper]:
    return [Paper(title=f"Net{i}: {TOPICS[i % 4].capitalize()} number {i}", authors=(f"Ada Author{i % 5}",),
                  date=dt.date(2025, 1, 1 + i % 28), upvotes=i % 9, arxiv_id=f"2502.{i:05d}",
                  abstract=f"We study {TOPICS[i % 4]} and {TOPICS[(i * 3) % 4]}; variant {i} of the method.")
            for i in range(n)]


@pytest.fixture
def ipath(tmp_path: Path) -> Path:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([{"paper": {"id": p.arxiv_id, "title": p.title, "summary": p.abstract,
                                           "authors": [{"name": a} for a in p.authors],
                                           "publishedAt": f"{p.date}T00:00:00.000Z", "upvotes": p.upvotes}}
                                for p in _papers(300)]))
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), feeds=(str(feed),), offline=True)
    open_index(s)
    found = find_index(s.cache_path, sources_fingerprint(s))
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def pread_every_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test indexes are small: read every column by pread, as a 1M index's large ones are."""
    monkeypatch.setattr(store, "PREAD_MIN", 0)


def test_small_columns_are_sliced_through_the_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "PREAD_MIN", 1 << 20)
    np.save(tmp_path / "small.npy", np.arange(1000, dtype=np.int64))
    np.save(tmp_path / "big.npy", np.arange(1 << 18, dtype=np.int64))  # 2 MB
    small, big = FileSlices(load_mapped(tmp_path / "small.npy")), FileSlices(load_mapped(tmp_path / "big.npy"))
    assert np.shares_memory(small[10:20], small._a) and not np.shares_memory(big[10:20], big._a)
    assert np.array_equal(big[10:20], np.arange(10, 20))


def test_file_slices_equal_the_mapped_array_and_outlive_the_file(tmp_path: Path) -> None:
    a = np.random.default_rng(3).integers(0, 1 << 30, 10_000).astype(np.int32)
    np.save(tmp_path / "col.npy", a)
    fs = FileSlices(load_mapped(tmp_path / "col.npy"))
    rng = np.random.default_rng(4)
    for lo, hi in [(0, 0), (0, 1), (9_999, 10_000), (0, 10_000), (5, 3), (9_990, 20_000),
                   *rng.integers(0, 10_000, (50, 2)).tolist()]:
        assert np.array_equal(fs[lo:hi], a[lo:hi]), (lo, hi)
    (tmp_path / "col.npy").unlink()  # a merge removed the segment: a reader that has it open still reads it
    assert np.array_equal(fs[100:200], a[100:200])
    b = (a % 1000).astype(np.float16)
    mem = FileSlices(b)  # not backed by a file: sliced as is
    assert np.array_equal(mem[7:11], b[7:11])


def test_related_papers_read_by_pread_equal_those_of_the_index_in_memory(ipath: Path) -> None:
    ix = segments.open_segments(ipath)
    assert ix is not None and len(ix.segs) == 1
    mapped = ix.segs[0]
    in_memory = Index(**{k: (np.array(v) if isinstance(v, np.ndarray) else v)
                         for k, v in read_columns(ipath / "seg-0").items()})
    for i in range(0, mapped.n, 7):
        got = mapped.related(i, 5)
        assert got and got == in_memory.related(i, 5)
        query = mapped.paper_term_ids(i)
        assert query == in_memory.paper_term_ids(i)
        for j, _ in got:
            assert mapped.why(query, j) == in_memory.why(query, j)
    assert any(mapped.why(mapped.paper_term_ids(0), j) for j, _ in mapped.related(0, 5))


def test_prefetch_reads_every_segments_columns_within_its_budget(ipath: Path) -> None:
    segments.add(ipath, segments.Delta(papers=_papers(310)[300:]), "test-sources")
    ix = segments.open_segments(ipath)
    assert ix is not None and len(ix.segs) == 2
    files = ix.column_files()
    assert {f.parent.name for f in files} == {"seg-0", *(d.name for d in ix.dirs[1:])}
    assert all(f.suffix in (".npy", ".bloom") for f in files) and any(f.name == "rel.ids.npy" for f in files)
    sizes = [f.stat().st_size for f in files]
    assert sizes == sorted(sizes)
    assert prefetch(files, 1 << 40) == sum(sizes)
    assert prefetch(files, 1000) == 1000
    assert prefetch([ipath / "gone.npy", *files[:1]], 1 << 40) == sizes[0]  # a file merged away: skipped
