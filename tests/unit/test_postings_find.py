"""Postings.find remembers its answers (a hover's related-papers line looks up ~120 key phrases): the same answers
as a search of the vocabulary, for terms in it and not, before and after what it remembers is forgotten."""

from __future__ import annotations

import bisect
import random

import pytest

from paperlens.index.store import Postings


def test_find_answers_as_the_vocabulary_does(monkeypatch: pytest.MonkeyPatch) -> None:
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
