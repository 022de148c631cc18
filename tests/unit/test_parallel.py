"""A build in worker processes gives the same index, file for file, as a build paper by paper."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from paperlens.core.model import Paper, Repo
from paperlens.index.build import IndexBuilder
from paperlens.index.catalog import Catalog
from paperlens.index.parallel import add_all_parallel
from paperlens.index.persist import load_index, write_columns
from paperlens.library.store import read_library, snapshot_file
from paperlens.sources.feedfile import read_feed_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "realworld"


def _papers() -> tuple[list[Paper], dict[str, Repo]]:
    lib = read_library(snapshot_file())  # real papers, with repos whose code identifiers become names
    real, _ = read_feed_file(SHARED / "hf" / "daily_papers-2024-10-25.json")
    made_up = []
    for i in range(300):
        # Names, words and phrases that recur across chunks, a name met first in a later paper's abstract, and
        # a shared repo: the merge must number terms and pick displays as a paper-by-paper build does.
        made_up.append(dataclasses.replace(
            real[i % len(real)], arxiv_id=f"2502.{i:05d}", bib_key=None,
            title=f"Gloc{i % 7}-IB: sparse attention for kv cache compression, part {i}",
            abstract=f"We propose Gloc{i % 7}-IB and SuperGlobal{i % 11}, a rotary (RoPE{i % 5}) scheme for "
                     f"time series imputation; information bottleneck number {i % 13}.",
            upvotes=i % 9))
    # One name, common in one paper's spelling and not in another's; a code identifier that a later paper's
    # title names: the name flags are merged across chunks.
    repos = {**lib.repos, "lab/glocal": Repo("lab/glocal", identifiers=("GlocalLayer", "QuantKVStore"))}
    flags = [dataclasses.replace(real[0], arxiv_id=f"2503.{i:05d}", title=t, abstract="x", repo=r)
             for i, (t, r) in enumerate([("HarborLantern: a test", "lab/glocal"), ("QuantKVStore: code", None),
                                         ("Harbor Lantern: b", None)])]
    return [*lib.papers, flags[0], *real, *made_up, *lib.papers[:5], *flags[1:]], repos


def _build(papers: list[Paper], repos: dict[str, Repo], parallel: bool, tmp: Path) -> Path:
    b = IndexBuilder(dict(repos), io.BytesIO())
    if parallel:
        add_all_parallel(b, papers, workers=2, chunk=23, min_parallel=0)
    else:
        b.add_all(papers)
    out = tmp / ("parallel" if parallel else "serial")
    out.mkdir()
    write_columns(b.finish(), out)
    return out


def test_parallel_build_equals_serial_build(tmp_path: Path) -> None:
    papers, repos = _papers()
    assert len(papers) > 300
    serial = _build(papers, repos, False, tmp_path)
    parallel = _build(papers, repos, True, tmp_path)
    names = sorted(p.name for p in serial.iterdir() if p.name != "meta.json")  # meta.json holds the save time
    assert names == sorted(p.name for p in parallel.iterdir() if p.name != "meta.json")
    assert len(names) > 30
    for name in names:
        assert (serial / name).read_bytes() == (parallel / name).read_bytes(), name
    cat = Catalog(load_index(parallel))
    e = cat.lookup("Gloc3-IB")
    assert e is not None and e.title.startswith("Gloc3-IB:")
    assert cat.related(e, 3)


def test_small_stream_is_built_here(tmp_path: Path) -> None:
    papers, repos = _papers()
    b = IndexBuilder(dict(repos), io.BytesIO())
    add_all_parallel(b, papers[:40], workers=2)  # below MIN_PARALLEL: no worker is started
    assert b.n == 40


def test_a_chunk_whose_terms_share_a_hash_is_logged(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    # parallel._hashed checks a chunk's vocabulary for two terms with one 64-bit hash (sorted, not np.unique).
    import numpy as np

    from paperlens.index import parallel

    terms = ["a", "b", "c"]
    assert parallel._hashed(terms)[2].tolist() == parallel.term_hashes(*parallel.pack(terms)).tolist()
    assert not caplog.records
    monkeypatch.setattr(parallel, "term_hashes", lambda blob, off: np.array([7, 3, 7], dtype=np.uint64))
    with caplog.at_level("WARNING", logger=parallel.log.name):
        parallel._hashed(["a", "b", "c"])
    assert "share a 64-bit hash" in caplog.text
