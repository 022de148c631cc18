"""hover(ctx, line, col): the card for what is under the cursor, and the span it covers."""

from __future__ import annotations

import pytest
from cursor import context, region

from paperlens.features.hover import hover
from paperlens.index.core import Index

DRCT = "DRCT: Saving Image Super-resolution away from Information Bottleneck"


@pytest.mark.parametrize(("text", "covered"), [
    ("Dense residual: DR$0CT keeps features.\n", "DRCT"),  # a method mention in prose
    ("Dense residual: $0DRCT keeps features.\n", "DRCT"),  # at its first character
    ("Dense residual: DRCT$0 keeps features.\n", "DRCT"),  # and just after its last
    ("See arXiv:2404.00$0722 for details.\n", "arXiv:2404.00722"),  # an arXiv id
    ("Code: https://github.com/ming053l/D$0RCT\n", "https://github.com/ming053l/DRCT"),  # a GitHub URL
])
def test_the_card_names_the_paper_and_covers_what_refers_to_it(base: Index, refs: dict[str, str], text: str,
                                                               covered: str) -> None:
    ctx, line, col = context(text, base, bib=refs)  # refs.bib has DRCT's arXiv id
    h = hover(ctx, line, col)
    assert h is not None and h.markdown
    assert DRCT in h.text
    assert h.region == region(ctx, covered)


def test_a_cited_key_shows_the_users_own_entry(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("As shown~\\cite{hsu2024$0drct}.\n", base, bib=refs)
    h = hover(ctx, line, col)
    assert h is not None and "`hsu2024drct`" in h.text and "Chih-Chung Hsu" in h.text
    assert h.region == region(ctx, "hsu2024drct")


def test_a_cite_command_from_the_settings_counts_as_a_citation(base: Index, refs: dict[str, str]) -> None:
    text = "As shown~\\mycite{hsu2024$0drct}.\n"
    ctx, line, col = context(text, base, bib=refs)
    assert hover(ctx, line, col) is None
    ctx, line, col = context(text, base, bib=refs, settings={"citeCommands": ["mycite"]})
    h = hover(ctx, line, col)
    assert h is not None and h.region == region(ctx, "hsu2024drct")


def test_plain_text_for_clients_without_markdown(base: Index) -> None:
    ctx, line, col = context("Dense residual: DR$0CT keeps features.\n", base, markdown=False)
    h = hover(ctx, line, col)
    assert h is not None and not h.markdown
    assert DRCT in h.text and "###" not in h.text and "](" not in h.text


@pytest.mark.parametrize("text", [
    "Nothing to see h$0ere.\n",
    "A half-typed key: \\cite{DR$0}\n",  # a key being typed is not a mention
    "An unknown key: \\cite{nob$0ody2020}\n",
    "Past the end$0\n",
])
def test_nothing_where_nothing_is_known(base: Index, text: str) -> None:
    ctx, line, col = context(text, base)
    assert hover(ctx, line, col) is None


def test_a_position_past_the_document_is_nothing(base: Index) -> None:
    ctx, _, _ = context("DRCT$0\n", base)
    assert hover(ctx, 99, 0) is None and hover(ctx, -1, 0) is None


@pytest.mark.parametrize("ident", ["2404.00722", "2404.00722v2"])
def test_a_manubot_arxiv_id_shows_its_paper_with_or_without_a_version(base: Index, refs: dict[str, str],
                                                                      ident: str) -> None:
    ctx, line, col = context(f"Dense residuals [@arxiv:{ident[:3]}$0{ident[3:]}].\n", base, name="paper.md",
                             bib=refs)  # refs.bib has DRCT's arXiv id
    h = hover(ctx, line, col)
    assert h is not None and DRCT in h.text
    assert h.region == region(ctx, f"arxiv:{ident}")


def test_a_manubot_arxiv_id_the_feed_lacks_shows_nothing(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("Unknown [@arxiv:2$0999.99999v1].\n", base, name="paper.md", bib=refs)
    assert hover(ctx, line, col) is None
