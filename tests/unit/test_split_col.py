"""bibindex.split_col: a cached column split a piece at a time gives exactly str.split's answer."""

from __future__ import annotations

import random

import pytest

from paperlens.index import bibindex
from paperlens.index.bibindex import split_col


@pytest.mark.parametrize("text", ["", "\x00", "a", "a\x00", "\x00a", "a\x00\x00b", "\x00\x00\x00"])
def test_small_columns_split_like_str_split(text: str) -> None:
    assert split_col(text) == text.split("\x00")


def test_long_columns_split_in_pieces_like_str_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bibindex, "SPLIT_CHARS", 7)  # many pieces, separators at and around every cut
    rng = random.Random(3)
    for _ in range(300):
        text = "".join(rng.choice("ab\x00é") for _ in range(rng.randint(0, 60)))
        assert split_col(text) == text.split("\x00"), repr(text)
        assert split_col(text.replace("\x00", "\n"), "\n") == text.split("\x00")
