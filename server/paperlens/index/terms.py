"""Content terms: the words that say what a paper is about (for related-paper search)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..text import STOP_WORDS, words


def _stem(w: str) -> str:
    # Crude plural folding keeps "transformers" and "transformer" together without a stemmer dependency.
    if len(w) > 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def content_terms(title: str, abstract: str, keywords: Iterable[str]) -> Counter[str]:
    """Weighted bag of content words: title and keywords count more than the abstract."""
    c: Counter[str] = Counter()
    for w in words(title):
        if len(w) > 2 and w not in STOP_WORDS and not w.isdigit():
            c[_stem(w)] += 4
    for kw in keywords:
        for w in words(kw):
            if len(w) > 2 and w not in STOP_WORDS:
                c[_stem(w)] += 2
    # Count first (in C), then filter and stem each distinct word once (memoised); first-seen order is kept.
    memo = _ABSTRACT_TERM
    for w, k in Counter(words(abstract)).items():
        t = memo.get(w)
        if t is None:
            t = _stem(w) if len(w) > 2 and w not in STOP_WORDS and not w.isdigit() else ""
            if len(memo) < 1_000_000:
                memo[w] = t
        if t:
            c[t] += k
    return c


_ABSTRACT_TERM: dict[str, str] = {}  # word -> its content term, "" for a word that is not one
