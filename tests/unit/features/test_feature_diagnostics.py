"""diagnostics(ctx) and bib_diagnostics: what is wrong with a citation, at the key's span."""

from __future__ import annotations

from cursor import context, region

from paperlens.features.diagnostics import MISSING_BIB, UNCITED, UNKNOWN_KEY, diagnostics
from paperlens.features.results import HINT, INFORMATION, WARNING
from paperlens.index.core import Index


def test_unknown_and_missing_keys(base: Index, refs: dict[str, str]) -> None:
    ctx, _, _ = context("$0See \\cite{nokey} and \\cite{glocalib2025, hsu2024drct}.\n", base, bib=refs)
    got = diagnostics(ctx)
    assert [(d.code, d.severity, d.region) for d in got] == [
        (UNKNOWN_KEY, WARNING, region(ctx, "nokey")),
        (MISSING_BIB, INFORMATION, region(ctx, "glocalib2025")),  # in the feed, not in refs.bib
    ]
    assert got[1].data == {"key": "glocalib2025"} and "Glocal Information Bottleneck" in got[1].message


def test_settings_turn_them_off(base: Index, refs: dict[str, str]) -> None:
    ctx, _, _ = context("$0See \\cite{nokey} and \\cite{glocalib2025}.\n", base, bib=refs,
                        settings={"diagnostics": {"unknownKey": "off", "missingBibEntry": "off"}})
    assert diagnostics(ctx) == []


def test_a_key_defined_by_bibitem_is_known(base: Index) -> None:
    ctx, _, _ = context("$0\\cite{mine}\n\\begin{thebibliography}{9}\n\\bibitem{mine} Me.\n\\end{thebibliography}\n",
                        base)
    assert diagnostics(ctx) == []


def test_a_comment_silences_its_line_and_the_next(base: Index) -> None:
    ctx, _, _ = context("$0% paperlens: ignore\n\\cite{nokey}\n\\cite{other}\n", base)
    assert [region(ctx, "other")] == [d.region for d in diagnostics(ctx)]


def test_uncited_mentions_when_asked(base: Index, refs: dict[str, str]) -> None:
    text = "$0Glocal-IB adds a loss.\n\n\n\nDRCT keeps features~\\cite{hsu2024drct}.\n"
    ctx, _, _ = context(text, base, bib=refs)
    assert diagnostics(ctx) == []  # off by default
    ctx, _, _ = context(text, base, bib=refs, settings={"diagnostics": {"uncitedMention": "hint"}})
    got = diagnostics(ctx)
    assert [(d.code, d.severity, d.region) for d in got] == [(UNCITED, HINT, region(ctx, "Glocal-IB"))]
