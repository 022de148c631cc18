"""The related-paper postings sorted a range at a time on disk (index/extsort.py) equal the one in-memory sort."""

from __future__ import annotations

import random
from array import array

import numpy as np
import pytest

from paperlens.index import extsort
from paperlens.index.build import Strings, by_doc_order, identity_order, postings
from paperlens.index.extsort import TripleRuns, _containing, doc_order, gather, sort_packed


def _strings(ids: np.ndarray) -> list[bytes]:
    # Term strings whose order is not their ids' order (and some sharing long prefixes).
    return [f"phrase {(j * 7919) % 1000:04d} {'ü' if j % 3 else ''}x{j}".encode() for j in ids.tolist()]


@pytest.mark.parametrize("run", [1, 37, 500, 1 << 22])
def test_runs_on_disk_give_the_in_memory_postings(run: int) -> None:
    rng = np.random.default_rng(5)
    n_terms, n_papers = 900, 400
    rank = rng.permutation(n_papers).astype(np.int32)
    runs = TripleRuns(n_terms, run)
    ts, ss, ws = [], [], []
    for lo in range(0, n_papers, 50):  # chunks of papers, each paper with distinct terms and weights
        for seq in range(lo, lo + 50):
            k = int(rng.integers(0, 30))
            t = rng.choice(n_terms - 100, size=k, replace=False).astype(np.uint32)  # (some terms never used)
            ts.append(t)
            ss.append(np.full(k, seq, dtype=np.uint32))
            ws.append(rng.random(k).astype(np.float32).astype(np.float16))
        runs.add(np.concatenate(ts[-50:]), np.concatenate(ss[-50:]), np.concatenate(ws[-50:]))
    t_all, s_all, w_all = np.concatenate(ts), np.concatenate(ss), np.concatenate(ws)
    used = np.zeros(n_terms, dtype=bool)
    used[t_all] = True
    want, want_kept, want_w = postings(_strings, n_terms, t_all, s_all, rank, used, w_all)
    got = runs.postings(_strings, rank)
    assert got is not None
    post, kept, w = got
    assert list(post.terms) == list(want.terms)
    assert np.array_equal(kept, want_kept)
    assert np.array_equal(np.asarray(post.offsets), np.asarray(want.offsets))
    assert np.array_equal(np.asarray(post.ids), np.asarray(want.ids))
    assert want_w is not None and np.array_equal(w.view(np.uint16), want_w.view(np.uint16))
    # The per-paper transpose, a range of papers at a time.
    cols = doc_order(post, w, n_papers, run)
    assert cols is not None
    by_doc = by_doc_order(np.asarray(want.ids), want_w)
    term_of = np.repeat(np.arange(len(want.terms), dtype=np.int32), np.diff(want.offsets))
    assert np.array_equal(cols[0][1:], np.cumsum(np.bincount(np.asarray(want.ids), minlength=n_papers)))
    assert np.array_equal(cols[1], term_of[by_doc])
    assert np.array_equal(cols[2].view(np.uint16), want_w[by_doc].view(np.uint16))


@pytest.mark.parametrize("run", [1, 53, 1 << 22])
def test_runs_with_terms_left_out_give_the_in_memory_postings(run: int) -> None:
    # The names' postings (build._hashed_names): pairs without weight, repeated pairs, terms left out by a mask
    # (code names many repos share) and a kept term with no pair.
    rng = np.random.default_rng(11)
    n_terms, n_papers = 300, 250
    rank = rng.permutation(n_papers).astype(np.int32)
    runs = TripleRuns(n_terms, run)
    ts, ss = [], []
    for lo in range(0, n_papers, 40):
        k = int(rng.integers(50, 200))
        t = rng.integers(0, n_terms - 1, size=k).astype(np.uint32)  # (the last term has no pair)
        s = rng.integers(lo, min(lo + 40, n_papers), size=k).astype(np.uint32)
        runs.add(t, s, np.zeros(k, dtype=np.float16))
        ts.append(t)
        ss.append(s)
    keep = rng.random(n_terms) < 0.7
    keep[-1] = True
    want, want_kept, _ = postings(_strings, n_terms, np.concatenate(ts), np.concatenate(ss), rank, keep)
    got = runs.postings(_strings, rank, keep)
    assert got is not None
    post, kept, _ = got
    assert list(post.terms) == list(want.terms) and len(post.terms) == int(keep.sum())
    assert np.array_equal(kept, want_kept)
    assert np.array_equal(np.asarray(post.offsets), np.asarray(want.offsets))
    assert np.array_equal(np.asarray(post.ids), np.asarray(want.ids))


def test_no_triples() -> None:
    got = TripleRuns(10).postings(_strings, np.arange(5, dtype=np.int32))
    assert got is not None
    post, kept, w = got
    assert len(post.terms) == 0 and len(kept) == 0 and len(w) == 0 and list(np.asarray(post.offsets)) == [0]


@pytest.mark.parametrize("split", [False, True])
def test_packed_strings_sort_as_python_sorts_bytes(split: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also cut in two halves by first byte, sorted on two threads (as many strings are): the same order."""
    if split:
        monkeypatch.setattr(extsort, "SPLIT_MIN", 2)
        monkeypatch.setattr(extsort, "_threads", lambda: 2)
    rng = random.Random(3)
    for trial in range(200):
        alpha = rng.choice(["ab", "abc ü", "a", "zb\u00e9q"])  # small alphabets: long shared prefixes, duplicates
        strs = ["".join(rng.choice(alpha) for _ in range(rng.randint(0, 30))).encode()
                for _ in range(rng.randint(0, 60))]
        if trial % 3 == 0:
            strs = [b"prefixprefixprefix" + x for x in strs]
        off = np.zeros(len(strs) + 1, dtype=np.int64)
        if strs:
            np.cumsum([len(x) for x in strs], out=off[1:])
        blob = np.frombuffer(b"".join(strs), dtype=np.uint8)
        want = sorted(range(len(strs)), key=strs.__getitem__)
        order = sort_packed(blob, off)
        assert order.tolist() == want
        b2, o2 = gather(blob, off, order)
        assert [bytes(b2[o2[i] : o2[i + 1]]) for i in range(len(strs))] == [strs[i] for i in want]


def test_identity_order_is_the_tuple_sort() -> None:
    """The order keys are given in (date, arXiv id, title): papers without an id tie on it, titles break ties."""
    rng = random.Random(1)
    for _ in range(200):
        n = rng.randint(0, 80)
        arxiv, titles, dates = Strings(), Strings(), array("i")
        for _ in range(n):
            arxiv.add(rng.choice(["", "", "2501.00001", "2501.00002", "2412.99999", f"2501.{rng.randint(0, 20):05d}"]))
            titles.add(rng.choice(["b", "a", "ä title", "a", "zz", ""]))
            dates.append(rng.randint(0, 3))
        got = identity_order(np.frombuffer(dates, dtype=np.int32), arxiv, titles).tolist()
        assert got == sorted(range(n), key=lambda i: (dates[i], arxiv.get(i), titles.get(i)))


def test_containing_is_searchsorted() -> None:
    # doc_order finds each posting's term by binary searches in ascending order (_containing): the same answers.
    rng = np.random.default_rng(6)
    for _ in range(300):
        off = np.sort(rng.integers(0, 500, int(rng.integers(1, 40))))
        off[0] = 0
        at = rng.integers(0, 500, int(rng.integers(0, 200)))
        assert _containing(off, at).tolist() == (np.searchsorted(off, at, side="right") - 1).tolist()
