"""Issue 11 #13: incremental sync on lines gives exactly the text a whole-string edit gives (fuzzed), for every
position encoding, with \\n, \\r\\n and \\r line breaks and changes that join or split them."""

from __future__ import annotations

import random
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from paperlens.analysis.textsync import LineText, RopeLines, RopeText, Span, covering, split_lines, to_code_points

ENCODINGS = ("utf-16", "utf-8", "utf-32")


def units(s: str, encoding: str) -> int:
    return len(s.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(s.encode(encoding)) if encoding == \
        "utf-8" else len(s)


def reference(text: str, sl: int, sc: int, el: int, ec: int, new: str, encoding: str) -> str:
    """The LSP rule on the whole string: positions clamp to the line (and to the document's end)."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    lines = split_lines(text)

    def offset(line: int, ch: int) -> int:
        if line >= len(lines):
            return len(text)
        body = re.sub(r"(\r\n|\r|\n)$", "", lines[line])
        return starts[line] + to_code_points(body, ch, encoding)

    return text[: offset(sl, sc)] + new + text[offset(el, ec):]


PIECE = st.sampled_from(["a", "é", "😋", "\n", "\r\n", "\r", " ", "xyz", "中"])
TEXT = st.lists(PIECE, max_size=30).map("".join)


@settings(max_examples=1500, deadline=None)
# Found by this test: deleting the only character of a line that follows a '\r' joins '\r' + '\n' into one break.
@example(text="", edits=[(0, 0, 0, 0, "a"), (0, 0, 0, 0, "\n\n\r"), (3, 1, 0, 0, "\n"), (3, 0, 0, 1, "")],
         encoding="utf-16")
@given(text=TEXT, edits=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 6), st.integers(0, 3),
                                           st.integers(0, 6), TEXT), min_size=1, max_size=6),
       encoding=st.sampled_from(ENCODINGS))
def test_line_edits_equal_whole_string_edits(text: str, edits: list[tuple[int, int, int, int, str]],
                                             encoding: str) -> None:
    doc = LineText(text)
    for sl, sc, dl, ec, new in edits:
        el = sl + dl
        if dl == 0 and ec < sc:
            ec = sc
        want = reference(doc.text, sl, sc, el, ec, new, encoding)
        doc.apply(sl, sc, el, ec, new, encoding)
        assert doc.text == want
        assert doc.lines == split_lines(want)  # the line list stays exactly the LSP's split


def test_split_lines_knows_only_lsp_breaks() -> None:
    assert split_lines("a\u2028b\x0cc\r\nd\re\n") == ["a\u2028b\x0cc\r\n", "d\r", "e\n", ""]
    assert split_lines("") == [""]


def test_replace_all_of_ten_thousand_changes_touches_only_their_lines() -> None:
    """10k one-word changes, last first as editors send them: each splices one line."""
    lines = [f"line {i} uses the foo method and more words here\n" for i in range(20000)]
    doc = LineText("".join(lines))
    for i in reversed(range(0, 20000, 2)):
        col = lines[i].index("foo")
        doc.apply(i, col, i, col + 3, "bar", "utf-16")
    assert doc.text.count("bar") == 10000 and doc.text.count("foo") == 10000


def test_offset_text_edits_as_line_text_does() -> None:
    """A large .bib is kept as a rope (RopeText): random range edits in every encoding give the text the
    list of lines gives, with the sparse line index kept through the edits (a small chunk makes it work)."""
    rng = random.Random(3)
    for trial in range(150):
        lines = ["".join(rng.choice("ab é\U0001F600") for _ in range(rng.randint(0, 12)))
                 for _ in range(rng.randint(1, 300))]
        text = ("\r\n" if trial % 5 == 0 else "\n").join(lines) + rng.choice(["", "\n"])
        one, ref = RopeText(text, 37 if trial % 2 else 1 << 16), LineText(text)
        for _ in range(20):
            n = len(ref.lines)
            sl = rng.randint(0, n + 1)
            el = rng.randint(sl, n + 1)
            sc = rng.randint(0, 15)
            ec = rng.randint(0, 15) if el > sl else rng.randint(sc, 16)
            new = rng.choice(["", "x", "ab\nc", "\n", "é\n\n\U0001F600", "zz" * 50])
            enc = rng.choice(["utf-16", "utf-8", "utf-32"])
            before = one.text
            a, b = one.apply(sl, sc, el, ec, new, enc)
            ref.apply(sl, sc, el, ec, new, enc)
            assert one.text == ref.text
            assert one.text == before[:a] + new + before[b:]


def test_covering_span_of_several_changes() -> None:
    rng = random.Random(1)
    for _ in range(500):
        first = "".join(rng.choice("abc") for _ in range(rng.randint(0, 30)))
        now, spans = first, []
        for i in range(rng.randint(1, 4)):
            a = rng.randint(0, len(now))
            b = rng.randint(a, len(now))
            new = "X" * rng.randint(0, 5)
            spans.append(Span(now if i == 0 else None, a, b, len(new)))
            now = now[:a] + new + now[b:]
        got = covering(spans)
        assert got is not None
        before, lo, hi = got
        assert before is first
        assert first[:lo] == now[:lo] and first[hi:] == now[hi + len(now) - len(first):]


def test_rope_lines_are_the_texts_split_lines() -> None:
    """An open large .bib's lines are read from its rope: each, any slice, and in order, as text.split("\\n")."""
    from paperlens.core.rope import Rope

    rng = random.Random(8)
    for _ in range(200):
        text = "".join(rng.choice("ab\n\r é") for _ in range(rng.randint(0, 400)))
        rope = Rope(text, rng.choice([3, 8, 50, 1 << 16]))
        for _ in range(3):
            a = rng.randint(0, len(text))
            b = rng.randint(a, len(text))
            new = rng.choice(["", "\n", "x\ny", "\n\n"])
            rope, text = rope.edit(a, b, new), text[:a] + new + text[b:]
        want, got = text.split("\n"), RopeLines(rope)
        assert len(got) == len(want) and list(got) == want
        assert [got[i] for i in range(len(want))] == want and got[-1] == want[-1]
        i, j = rng.randint(-3, len(want) + 2), rng.randint(-3, len(want) + 2)
        assert got[i:j] == want[i:j] and got[i:] == want[i:] and got[:j] == want[:j]
