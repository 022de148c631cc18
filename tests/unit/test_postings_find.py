"""Postings.find remembers its answers (a hover's related-papers line looks up ~120 key phrases): the same answers
as a search of the vocabulary, for terms in it and not, before and after what it remembers is forgotten."""

from __future__ import annotations

import bisect
import random

import pytest

from paperlens.index.store import Postings


@pytest.mark.parametrize("small", [0, 1 << 14])  # searched and remembered term by term / remembered whole
def test_find_answers_as_the_vocabulary_does(monkeypatch: pytest.MonkeyPatch, small: int) -> None:
    monkeypatch.setattr(Postings, "SMALL", small)
    rng = random.Random(2)
    words = {"".join(rng.choice("abcdeé𝔘") for _ in range(rng.randint(1, 6))) for _ in range(3000)}
    post = Postings.build({w: {rng.randrange(100)} for w in words})
    vocab = sorted(words)
    probes = list(words) + ["", "zzz", "a" * 9, "é𝔘é𝔘é𝔘é"] + [w + "x" for w in list(words)[:200]]
    monkeypatch.setattr(Postings, "FOUND_MAX", 64)  # forgotten again and again along the way
    for _ in range(2):
        for w in rng.sample(probes, len(probes)):
            i = bisect.bisect_left(vocab, w)
            want = i if i < len(vocab) and vocab[i] == w else -1
            assert post.find(w) == want
            if want >= 0:
                assert list(post.get(w)) == sorted(post.at(want))


def test_request_unique_equals_numpy_unique() -> None:
    """core._uniq (a sort: numpy 2.4's hashing np.unique is ~5x slower on a request's ids) gives np.unique's
    answer: the same values, order and dtype."""
    import numpy as np

    from paperlens.index.core import _uniq

    rng = np.random.default_rng(11)
    for n in (0, 1, 2, 3, 17, 4000, 20000):
        for hi in (2, 50, 1 << 20):
            a = rng.integers(0, hi, n).astype(np.int32)
            u = _uniq(a)
            assert u.dtype == np.unique(a).dtype and np.array_equal(u, np.unique(a))


def test_by_key_in_a_small_index_answers_as_the_bisection(monkeypatch: pytest.MonkeyPatch) -> None:
    """An index of at most SMALL_KEYS papers (a refresh's segment) finds keys in a dict: the same answers as the
    bisection over the sorted keys that a large one uses, for keys in it and not."""
    import datetime as dt

    from paperlens.core.model import Library, Paper
    from paperlens.index import core
    from paperlens.index.core import Index

    papers = [Paper(title=f"Net{i}: Sparse Attention Number {i}", authors=(f"Ada Author{i % 5}",),
                    date=dt.date(2025, 1, 1 + i % 28), arxiv_id=f"2502.{i:05d}") for i in range(300)]
    ix = Index.build(Library(papers=papers))
    probes = [ix.keys[i] for i in range(ix.n)] + ["", "zzz", ix.keys[0] + "x", ix.keys[5][:-1]]
    by_dict = [ix.by_key(k) for k in probes]
    monkeypatch.setattr(core, "SMALL_KEYS", 0)
    assert by_dict == [ix.by_key(k) for k in probes]
    assert by_dict[:ix.n] == list(range(ix.n)) and by_dict[ix.n:] == [None] * 4
