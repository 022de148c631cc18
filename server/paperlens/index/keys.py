"""Citation keys: stable, unique, human-style (Google Scholar's `ho2024block`)."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence

from paperlens.core.model import Paper
from paperlens.core.text import STOP_WORDS, fold, last_name, words

_PARTICLES = frozenset({"van", "von", "der", "de", "la", "le", "di", "da", "del", "den", "du"})


def base_key(paper: Paper, method: str | None, title_words: list[str] | None = None) -> str:
    """The key before de-duplication: author+year+word, else method+year, else word+year. title_words: the
    title's `words`, when the caller has them."""
    year = str(paper.year) if paper.year else ""
    first_word = next((w for w in (words(paper.title) if title_words is None else title_words)
                       if w not in STOP_WORDS and not w.isdigit()), "paper")
    if paper.authors:
        ln = last_name(paper.authors[0])
        if ln:
            return f"{ln}{year}{first_word}"
    if method:
        m = re.sub(r"[^a-z0-9]", "", fold(method))
        if m and len(m) <= 16:
            return f"{m}{year}"
    return f"{first_word}{year}"


def assign_keys(papers: Iterable[tuple[Paper, str | None]], taken: Container[str] = frozenset()) -> list[str]:
    """Unique keys in order; a paper's own .bib key wins, clashes get a/b/c... suffixes."""
    return dedupe_keys([(p.bib_key or base_key(p, m), bool(p.bib_key)) for p, m in papers], taken)


def dedupe_keys(bases: list[tuple[str, bool]], taken: Container[str] = frozenset()) -> list[str]:
    """(key, is the user's own) in order -> unique keys; user keys are kept, generated ones get a/b/c...
    `taken`: keys already given elsewhere (another segment of the index; asked, never listed)."""
    return dedupe_key_list([k for k, _ in bases], [own for _, own in bases], taken)


def dedupe_key_list(keys: Sequence[str], own_keys: Sequence[bool | int], taken: Container[str] = frozenset()
                    ) -> list[str]:
    """`dedupe_keys` over a list of keys and one of flags (a million papers' build: no tuple a paper)."""
    # User keys are claimed first so that a generated key never steals one.
    used: set[str] = {k for k, own in zip(keys, own_keys, strict=True) if own}
    out: list[str] = []
    # The next suffix to try per base key: 20k papers sharing a base key cost 20k steps, not 20k² / 2.
    next_suffix: dict[str, int] = {}
    for key, own in zip(keys, own_keys, strict=True):
        if own:
            out.append(key)
            continue
        if key in used or key in taken:
            i = next_suffix.get(key, 0)
            while key + _suffix(i) in used or key + _suffix(i) in taken:
                i += 1
            next_suffix[key] = i + 1
            key = key + _suffix(i)
        used.add(key)
        out.append(key)
    return out


def _suffix(i: int) -> str:
    """a, b, ..., z, aa, ab, ..."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(97 + r) + s
    return s
