"""Card Markdown: text from feeds renders as itself in a Markdown client, and reads cleanly where a client shows
the Markdown source (no backslash before every `-` and `.`)."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from paperlens.features.card import md_escape

# CommonMark plus the GFM extensions that clients render: strikethrough and tables.
MD = MarkdownIt("commonmark").enable(["strikethrough", "table"])


def rendered_text(markdown: str) -> str:
    """What a reader sees: the HTML's text, or a marker for any markup the text produced."""
    out = MD.render(markdown).strip()
    if not (out.startswith("<p>") and out.endswith("</p>")):
        return f"<block markup: {out}>"
    inner = out[3:-4]
    if "<" in inner.replace("&lt;", ""):
        return f"<inline markup: {inner}>"
    return html.unescape(inner)


TRICKY = [
    "DRCT: Saving Image Super-resolution away from Information Bottleneck",
    "We show success. It works.",
    "*bold* and **strong** and _under_ and __init__ and snake_case_name",
    "a `code` span and ``two``",
    "[click](command:workbench.action.terminal.new) and ![img](https://x.invalid/a.png)",
    "<script>alert(1)</script> and <https://evil.invalid> and a < b > c",
    "AT&amp;T &#123; & plain",
    "~2x faster with ~30% fewer FLOPs",
    "a~b~ and ~~struck~~",
    "C:\\Users\\x and \\*not emphasis\\* and a trailing backslash \\",
    "Issue #1 and #hashtag",
    "title with closing hashes ##",
    "x | y | z",
    "$O(n \\log n)$ time",
]
LINE_STARTS = [
    "- a list item",
    "+ another",
    "* starred",
    "2024. A year that starts a line",
    "1) numbered",
    "# A heading",
    "### three",
    "> quoted",
    "---",
    "___",
    "===",
    "~~~ fence",
    "``` fence",
    "    indented code",
    "<div>block html</div>",
]


@pytest.mark.parametrize("text", TRICKY + LINE_STARTS)
def test_escaped_text_renders_as_itself(text: str) -> None:
    escaped = md_escape(text, line_start=True)
    assert rendered_text(escaped) == " ".join(text.split())


@pytest.mark.parametrize("text", TRICKY)
def test_escaped_text_renders_as_itself_inside_link_text(text: str) -> None:
    # The card's title line: "### [title](url)".
    out = MD.render(f"### [{md_escape(text)}](https://huggingface.co/papers/2404.00722)").strip()
    m = re.fullmatch(r'<h3><a href="https://huggingface.co/papers/2404.00722">(.*)</a></h3>', out)
    assert m, out
    assert "<" not in m.group(1).replace("&lt;", "")
    assert html.unescape(m.group(1)) == " ".join(text.split())


def test_ordinary_punctuation_is_left_alone() -> None:
    # What clients that show the Markdown source would otherwise display as "Super\-resolution", "success\.".
    plain = "Super-resolution (SR) works: 3.5 dB better, success. Set5/Urban100 + x4! {a} = b | c; 50% #1 $5 > 4"
    assert md_escape(plain) == plain
    assert md_escape(plain, line_start=True) == plain
    assert md_escape("snake_case and DRCT_arch") == "snake_case and DRCT_arch"
    assert md_escape("~2x faster, ~30% fewer") == "~2x faster, ~30% fewer"


def test_what_would_change_the_rendering_is_escaped() -> None:
    assert md_escape("[x](command:evil)") == "\\[x\\](command:evil)"
    assert md_escape("<img src=x>") == "\\<img src=x>"
    assert md_escape("*a* _b_ `c`") == "\\*a\\* \\_b\\_ \\`c\\`"
    assert md_escape("2024. A year", line_start=True) == "2024\\. A year"
    assert md_escape("2024. A year") == "2024. A year"
    assert md_escape("- item", line_start=True) == "\\- item"
    assert md_escape("a~b~") == "a\\~b\\~"
