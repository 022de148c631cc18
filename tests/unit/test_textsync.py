"""Issue 11 #13: incremental sync on lines gives exactly the text a whole-string edit gives (fuzzed), for every
position encoding, with \\n, \\r\\n and \\r line breaks and changes that join or split them."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from paperlens.analysis.textsync import LineText, split_lines, to_code_points

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
