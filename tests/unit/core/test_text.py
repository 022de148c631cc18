"""core/text's name forms, which a build computes several times a paper: the same as their plain definitions."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from paperlens.core.model import Paper
from paperlens.core.text import fold, last_name, norm_name, words
from paperlens.index.keys import base_key

_NAMEISH = st.text(alphabet=st.sampled_from(list("aZ09 -_.,'é中ﬁ\x00\x7f~Ωß")), max_size=30) | st.text(max_size=30)


@settings(max_examples=400, deadline=None)
@given(_NAMEISH)
def test_norm_name_is_folded_letters_and_digits(s: str) -> None:
    assert norm_name(s) == re.sub(r"[^0-9a-z]+", "", fold(s))


@settings(max_examples=300, deadline=None)
@given(_NAMEISH)
def test_last_name_is_the_folded_letters_and_digits_of_the_last_name(author: str) -> None:
    a = author.strip()
    if "," in a:
        last = a.split(",", 1)[0]
    else:
        parts = a.split()
        last = parts[-1] if parts else ""
        if last.lower() in {"jr", "jr.", "ii", "iii"} and len(parts) > 1:
            last = parts[-2]
    assert last_name(author) == re.sub(r"[^a-z0-9]", "", fold(last.split("-")[0]))


@settings(max_examples=200, deadline=None)
@given(_NAMEISH, st.lists(_NAMEISH, max_size=2), st.none() | st.sampled_from(["DRCT", "Ü-Net", "x" * 20]))
def test_base_key_with_the_title_words_given(title: str, authors: list[str], method: str | None) -> None:
    p = Paper(title=title, authors=tuple(authors))
    assert base_key(p, method, words(title)) == base_key(p, method)
