"""Issue 11, items 5 and 14: whatever a feed or a .bib holds, a card links only to allowed hosts, holds no HTML,
no control characters, and stays small. Fuzzed with hypothesis over hostile titles, URLs and keys."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from paperlens.core.ids import valid_repo
from paperlens.core.model import Library, Paper
from paperlens.core.urls import safe_url
from paperlens.features.card import card_markdown, card_plain
from paperlens.index.core import Index

HOSTILE = st.sampled_from([
    "command:workbench.action.terminal.new", "javascript:alert(1)", "http://github.com/a/b", "https://evil.example/",
    "https://github.com/a)\n<img src=x onerror=alert(1)>", "https://github.com.evil.example/x", "https://u:p@github.com/",
    "https://huggingface.co/papers/1)](command:x", "data:text/html,<script>", "https://arxiv.org/abs/2401.00001",
    "https://doi.org/10.1/(x)", "\x1b]8;;http://x\x07y", "vscode://file/etc/passwd", "",
])
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["`", "``code``", "](command:x)", "<img src=x onerror=alert(1)>", "\x1b[31mred", "\u202etxt.exe", "\x00\x07"])
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _entry(p: Paper):  # noqa: ANN202
    return Index.build(Library(papers=[p])).entry(0)


@settings(max_examples=400, deadline=None)
@given(title=TEXT, url=HOSTILE | TEXT, key=st.sampled_from(["a`b", "x", "``", "k\x1b[2J", "o'brien2020"]),
       authors=st.lists(TEXT, max_size=3), repo=st.sampled_from([None, "evil-org/three\n", "a/b", "x/y)"]))
def test_cards_hold_no_links_off_the_allow_list_and_no_html(title: str, url: str, key: str, authors: list[str],
                                                             repo: str | None) -> None:
    if not title.strip():
        title = "t"
    p = Paper(title=title, url=url or None, bib_key=key, authors=tuple(authors), repo=repo, abstract=title * 3)
    e = _entry(p)
    md = card_markdown(e)
    # Code spans as CommonMark reads them: opened by unescaped backticks, closed by a run of the same length.
    outside_code = re.sub(r"(?<![\\`])(`+)(?!`).*?(?<!`)\1(?!`)", "", md, flags=re.S)
    for target in re.findall(r"(?<!\\)\]\(([^)]*)\)", outside_code):
        assert safe_url(target) == target, target
    assert not re.search(r"(?<!\\)<", outside_code)
    assert not CONTROL.search(md)
    assert not CONTROL.search(card_plain(e))


def test_a_huge_title_gives_a_small_card() -> None:
    e = _entry(Paper(title="A" * 1_000_000, abstract="b " * 500_000, authors=("C" * 100_000,) * 50))
    assert len(card_markdown(e)) < 3000
    assert len(card_plain(e)) < 3000


def test_owner_name_must_match_whole() -> None:
    assert not valid_repo("evil-org/three\n")
    assert not valid_repo("evil-org/three\nx")
    assert valid_repo("evil-org/three")


def test_the_fast_path_for_plain_urls_answers_as_the_full_check() -> None:
    """safe_url takes the URLs PaperLens makes itself without splitting them; the answer must be the same."""
    import random

    from paperlens.core.urls import _checked

    rng = random.Random(11)
    hosts = ["github.com", "www.github.com", "huggingface.co", "arxiv.org", "doi.org", "GitHub.com", "evil.com",
             "github.com.evil.com", "github.com:443", "user@github.com"]
    chars = "abcXYZ019._~-/()%?#:@ "
    for _ in range(3000):
        path = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
        url = rng.choice(["https://", "http://", "HTTPS://"]) + rng.choice(hosts) + rng.choice(["", "/"]) + path
        assert safe_url(url) == _checked(url), url
