"""The records file's lines (index/build.py `record`): the bytes json.dumps gives, put together field by field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlens.core.model import Paper
from paperlens.index.aliases import paper_aliases
from paperlens.index.build import record
from paperlens.sources.feedfile import read_feed_file


def dumped(p: Paper, aliases: list[str]) -> bytes:
    """What the records file held before: the dict and json.dumps."""
    return json.dumps({"paper": p.to_json(), "aliases": aliases}, ensure_ascii=False).encode("utf-8") + b"\n"


def test_real_feeds_records_are_json_dumps(shared_dir: Path) -> None:
    files = [*sorted((shared_dir / "realworld" / "hf").glob("daily_papers-*.json")),
             *sorted((shared_dir / "realworld" / "bib").glob("*.bib")), shared_dir / "seed" / "hf-papers-page.txt"]
    n = 0
    for f in files:
        try:
            papers, _ = read_feed_file(f)
        except Exception:  # (a .bib of @string only: no papers)
            continue
        for p in papers:
            als = [a.display for a in paper_aliases(p, None)]
            assert record(p, als) == dumped(p, als), (f, p.title)
            n += 1
    assert n > 100


# Long ASCII texts with and without what JSON escapes (an abstract's fast path), and any text at all.
_long = st.builds(lambda a, c, b: a + c + b, st.text(alphabet=st.sampled_from(list("ab .")), min_size=40, max_size=80),
                  st.sampled_from(["", "x", '"', "\\", "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "😀"]),
                  st.text(alphabet=st.sampled_from(list("ab .")), min_size=40, max_size=80))
_text = st.text(max_size=30) | _long


@settings(max_examples=300, deadline=None)
@given(title=_text, abstract=_text, authors=st.lists(_text, max_size=4).map(tuple), count=st.integers(0, 5),
       date=st.none() | st.dates(min_value=dt.date(1900, 1, 1)), upvotes=st.integers(-3, 10 ** 12),
       org=st.none() | _text, kw=st.lists(st.text(max_size=12), max_size=3).map(tuple),
       aliases=st.lists(_text, max_size=3))
def test_records_are_json_dumps(title: str, abstract: str, authors: tuple[str, ...], count: int, date: dt.date | None,
                                upvotes: int, org: str | None, kw: tuple[str, ...], aliases: list[str]) -> None:
    p = Paper(title=title, abstract=abstract, authors=authors, author_count=count, date=date, upvotes=upvotes,
              organization=org, ai_keywords=kw, arxiv_id="2501.00001", source="hf-api:x")
    try:
        want = dumped(p, aliases)
    except UnicodeEncodeError:  # (a lone surrogate: neither writes it)
        with pytest.raises(UnicodeEncodeError):
            record(p, aliases)
        return
    assert record(p, aliases) == want


@pytest.mark.parametrize("fields", [
    {"upvotes": True}, {"venue": 0.0}, {"ai_keywords": ("a", 1)}, {"authors": []}, {"venue": {}},
    {"date": dt.datetime(2024, 1, 2, 3, 4)}, {"title": ""},
])
def test_records_of_odd_values_are_json_dumps(fields: dict[str, Any]) -> None:
    # Values a Paper's types do not allow still come out as json.dumps writes them.
    p = Paper(**{"title": "T", **fields})
    assert record(p, ["X"]) == dumped(p, ["X"])
