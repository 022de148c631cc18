"""sources/bibraw.scan on a rope (a large .bib's text): scanned a window at a time, it finds the blocks one scan of
the whole text finds, on real files and on a made-up one with the hard cases (openings inside an abstract, an
unterminated entry, comments, indented and parenthesised entries, stray '@')."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperlens.core.rope import Rope
from paperlens.sources import bibraw

REAL_BIB = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "bib"


TRICKY_BIB = """@string{acm = "ACM"}
% @article{commented, title={No}}
@article{a1, title={One}, abstract={see
@misc{inside, an entry opened mid-abstract}
and more}, year=2020}
  @book{indented, title = "Two"}
@article{unterminated, title={Three
@inproceedings{after, title={Four}, booktitle=acm}
e-mail me@example.org about @ this
@comment{anything}
@misc(paren, title="Five")
@ misc{spaced, title={Six}}
@typo
@article{unterminated2, title={Eight
@typo
 continued}}
@article{last, title={Seven}}
"""


@pytest.mark.parametrize("window", [16, 64, 500, 1 << 20])
def test_a_rope_is_scanned_a_window_at_a_time_into_the_same_blocks(monkeypatch: pytest.MonkeyPatch,
                                                                    window: int) -> None:
    # A large .bib read as a rope is scanned in windows cut where an entry opens a line (never one string of the
    # whole file): the blocks are those of one scan of the whole text, bare openings and regions included.
    monkeypatch.setattr(bibraw, "SCAN_WINDOW", window)
    texts = [TRICKY_BIB * 3] + [p.read_text(encoding="utf-8") for p in sorted(REAL_BIB.glob("*.bib"))]
    for s in texts:
        rope = Rope.of_chunks([s[i:i + 97] for i in range(0, len(s), 97)])
        assert bibraw.scan(rope) == bibraw.scan(s)
        assert bibraw.scan(rope, bare=True) == bibraw.scan(s, bare=True)
        a, b = len(s) // 3, 2 * len(s) // 3
        assert bibraw.scan(rope, a, b) == bibraw.scan(s, a, b)
