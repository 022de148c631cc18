"""core/rope: an open large .bib's text in chunks. Every read and edit must give what the same operation on one
string gives (random texts with line breaks, CRs and wide characters; small chunks, so that matches, slices
and edits cross chunk boundaries)."""

from __future__ import annotations

import random

from paperlens.core.rope import Rope, window


def test_edits_and_reads_match_one_string() -> None:
    rng = random.Random(1)
    for _ in range(300):
        text = "".join(rng.choice("ab\n é\r\U0001F600") for _ in range(rng.randint(0, 600)))
        r = Rope(text, rng.choice([4, 7, 16, 64]))
        for _ in range(25):
            a = rng.randint(0, len(text))
            b = rng.randint(a, len(text))
            new = rng.choice(["", "x", "ab\nc", "\n", "é\n\n", "zz" * 40, "\r\n"])
            before, old = r, text
            r, text = r.edit(a, b, new), text[:a] + new + text[b:]
            assert str(r) == text and len(r) == len(text) and r == text and r != text + "x"
            assert before == old  # an edit makes a new rope; the one before still reads as it was
            assert r.breaks[-1] == text.count("\n")
            assert len(r.chunks) == 1 or all(r.chunks)  # no empty chunk in the middle
            assert all(len(c) <= 2.25 * r.chunk + 80 for c in r.chunks)  # sizes stay bounded
            for _ in range(4):
                x, y = rng.randint(0, len(text)), rng.randint(0, len(text) + 2)
                for sub in ("\n", "ab", "\r\n", "é", "bz"):
                    assert r.count(sub, x, y) == text.count(sub, x, y)
                    assert r.find(sub, x, y) == text.find(sub, x, y)
                    assert r.find(sub, x) == text.find(sub, x)
                    assert r.rfind(sub, x, y) == text.rfind(sub, x, y)
                    assert r.rfind(sub, 0, x) == text.rfind(sub, 0, x)
                    assert (sub in r) == (sub in text)
                assert r[x:y] == text[x:y] and r.slice(x, y) == text[x:y] and r[-y:] == text[-y:]
                if text:
                    k = rng.randrange(len(text))
                    assert r[k] == text[k] and r[-k - 1] == text[-k - 1]
                s, base = window(r, x, max(x, y))
                assert s[x - base:max(x, y) - base] == text[x:max(x, y)]
                starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
                ln = rng.randint(0, len(starts) + 1)
                assert r.line_start(ln) == (starts[ln] if ln < len(starts) else None)


def test_an_edit_copies_the_chunks_it_touches_only() -> None:
    """The point of it: an edit in a large text shares every chunk it does not touch with the text before, and a
    wide character makes only its own chunk wide."""
    text = ("@article{k, title = {A}}\n" * 40_000)
    r = Rope(text)
    at = len(text) // 2
    r2 = r.edit(at, at + 1, "\u0394")
    shared = sum(1 for c in r2.chunks if any(c is d for d in r.chunks))
    assert shared >= len(r.chunks) - 2 and str(r2) == text[:at] + "\u0394" + text[at + 1:]
    wide = [c for c in r2.chunks if not c.isascii()]
    assert len(wide) == 1 and len(r2.chunks) == len(r.chunks)
