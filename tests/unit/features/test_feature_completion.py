"""completions(ctx, line, col): keys where a key goes, ranked on the server, replacing what was typed."""

from __future__ import annotations

import pytest
from cursor import context, region

from paperlens.features.completion import ADD_ENTRY_COMMAND, card, completions
from paperlens.index.core import Index


@pytest.mark.parametrize(("text", "name"), [
    ("For time series \\cite{glo$0}.\n", "main.tex"),
    ("For time series \\citep[see][p.~3]{tishby2000information, glo$0}.\n", "main.tex"),
    ("For time series [@glo$0].\n", "notes.md"),
    ("For time series :cite:`glo$0`.\n", "notes.rst"),
])
def test_the_typed_prefix_is_replaced_by_the_best_key(base: Index, refs: dict[str, str], text: str,
                                                      name: str) -> None:
    ctx, line, col = context(text, base, name=name, bib=refs)
    items = completions(ctx, line, col)
    assert items, "no completions"
    assert items[0].label == items[0].new_text == "glocalib2025"
    assert all(it.region == region(ctx, "glo", 1 if "Glocal" in text else 0) for it in items)
    assert [it.sort_text for it in items] == sorted(it.sort_text or "" for it in items)  # the server's order


def test_a_key_not_in_the_bib_comes_with_the_command_that_adds_it(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("\\cite{$0}\n", base, bib=refs)
    items = completions(ctx, line, col)
    assert items
    by_key = {it.key: it for it in items}
    mine = by_key["hsu2024drct"]  # already in refs.bib: nothing to add
    assert mine.command is None
    feed = next(it for it in items if it.key not in ("hsu2024drct", "tishby2000information"))
    assert feed.command is not None and feed.command.name == ADD_ENTRY_COMMAND
    assert feed.command.arguments == (feed.key, ctx.doc.uri)


def test_keys_already_in_the_list_are_not_offered_again(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("\\cite{hsu2024drct, $0}\n", base, bib=refs)
    items = completions(ctx, line, col)
    assert items and "hsu2024drct" not in [it.key for it in items]


def test_manubot_arxiv_ids_complete_as_ids(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("Dense residuals [@arxiv:DRCT$0]\n", base, name="notes.md", bib=refs)
    items = completions(ctx, line, col)
    assert items and items[0].new_text == "arxiv:2404.00722"


@pytest.mark.parametrize("text", [
    "Plain prose, no citation $0here.\n",
    "\\section{Intro$0}\n",
    "\\cite{done} and after$0\n",
])
def test_nothing_outside_a_citation(base: Index, text: str) -> None:
    ctx, line, col = context(text, base)
    assert completions(ctx, line, col) is None


def test_resolve_fills_in_the_card(base: Index) -> None:
    ctx, _, _ = context("$0\n", base)
    text = card(ctx.catalog, "glocalib2025")
    assert text is not None and "Glocal Information Bottleneck" in text
    assert card(ctx.catalog, "no-such-key") is None and card(ctx.catalog, 42) is None
