"""code_actions(ctx, region) and passage_actions: cite what is under the cursor, add its entry, open its repo,
cite related work; each edit in code points, in the document's own citation syntax."""

from __future__ import annotations

from pathlib import Path

import pytest
from cursor import ROOT, context, region

from paperlens.features.code_actions import ADD_ENTRY_COMMAND, OPEN_REPO_COMMAND, RELATED_KIND, code_actions
from paperlens.features.related import PASSAGE_KIND, passage_actions
from paperlens.features.results import QUICK_FIX, Region
from paperlens.index.core import Index


@pytest.mark.parametrize(("text", "name", "inserted"), [
    ("For time series, Glocal-$0IB adds a loss.\n", "main.tex", "~\\cite{glocalib2025}"),
    ("For time series, Glocal-$0IB adds a loss.\n", "notes.md", " [@glocalib2025]"),
    ("For time series, Glocal-$0IB adds a loss.\n", "notes.rst", " :cite:`glocalib2025`"),
])
def test_cite_inserts_the_citation_after_the_mention(base: Index, refs: dict[str, str], text: str, name: str,
                                                     inserted: str) -> None:
    ctx, line, col = context(text, base, name=name, bib=refs, root=ROOT)
    actions = code_actions(ctx, Region.at(line, col))
    cite = actions[0]
    assert cite.title == "Cite Glocal-IB (glocalib2025)" and cite.kind == QUICK_FIX and cite.preferred
    [change] = cite.edit
    end = region(ctx, "Glocal-IB")
    assert (change.uri, change.region, change.text) == (ctx.doc.uri, Region.at(0, end.end), inserted)
    # Not in refs.bib yet: citing it also adds the entry (a command: it reads the .bib as it is then).
    assert cite.command is not None and cite.command.name == ADD_ENTRY_COMMAND
    assert cite.command.arguments == ("glocalib2025", ctx.doc.uri)


def test_in_code_the_citation_is_a_comment_at_the_line_end(base: Index) -> None:
    ctx, line, col = context("x = glocal_ib(data)  # uses Glocal-$0IB\ny = 1\n", base, name="train.py",
                             language_id="python")
    [change] = code_actions(ctx, Region.at(line, col))[0].edit
    assert change.region == Region.at(0, len(ctx.doc.lines[0]))
    assert change.text.startswith("  # Glocal-IB: https://")


def test_open_repo_and_related_papers(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("For time series, Glocal-$0IB adds a loss.\n", base, bib=refs, root=ROOT)
    actions = code_actions(ctx, Region.at(line, col))
    repo = next(a for a in actions if a.command and a.command.name == OPEN_REPO_COMMAND)
    assert repo.kind is None and repo.command is not None
    assert repo.command.arguments == ("https://github.com/Muyiiiii/NeurIPS-25-Glocal-IB",)
    related = [a for a in actions if a.kind == RELATED_KIND]
    assert related and all("(both: " in a.title for a in related)
    # A related paper already in refs.bib is cited without adding anything.
    tishby = next(a for a in related if "information bottleneck method" in a.title)
    assert tishby.command is None and tishby.edit[0].text == "~\\cite{tishby2000information}"


def test_already_cited_nearby_is_not_offered_again(base: Index, refs: dict[str, str]) -> None:
    ctx, line, col = context("Glocal-$0IB adds a loss~\\cite{glocalib2025}.\n", base, bib=refs, root=ROOT)
    titles = [a.title for a in code_actions(ctx, Region.at(line, col))]
    assert titles and not any(t.startswith("Cite ") for t in titles)


def test_no_entry_is_offered_outside_the_workspace(base: Index, refs: dict[str, str]) -> None:
    # The .bib the setting names is outside the workspace folders: the write policy refuses it.
    ctx, line, col = context("Glocal-$0IB adds a loss.\n", base, bib=refs, root=ROOT, roots=(ROOT,),
                             settings={"bibFile": "/elsewhere/refs.bib"})
    actions = code_actions(ctx, Region.at(line, col))
    assert actions and all(a.command is None or a.command.name != ADD_ENTRY_COMMAND for a in actions)


def test_a_selection_is_looked_up_as_words(base: Index) -> None:
    ctx, line, col = context("We build on $0Saving Image Super-resolution away from Information Bottleneck.\n", base)
    sel = region(ctx, "Saving Image Super-resolution away from Information Bottleneck")
    actions = code_actions(ctx, sel)
    assert actions and actions[0].title.startswith("Cite DRCT")
    assert actions[0].edit[0].region == Region.at(0, sel.end)


def test_nothing_on_plain_words(base: Index) -> None:
    ctx, line, col = context("Nothing h$0ere.\n", base)
    assert code_actions(ctx, Region.at(line, col)) == []


PARAGRAPH = ("Imputation of missing values in multivariate time series with an information bottleneck\n"
             "objective and a global alignment loss over the latent representation$0.\n")


def test_related_to_this_paragraph_only_when_asked(base: Index) -> None:
    ctx, line, col = context(PARAGRAPH, base, root=ROOT)
    assert passage_actions(ctx, Region.at(line, col), invoked=False) == []
    actions = passage_actions(ctx, Region.at(line, col), invoked=True)
    assert actions and all(a.kind == PASSAGE_KIND and a.title.startswith("Related to this paragraph: cite")
                           for a in actions)
    # The citation goes before the paragraph's closing full stop.
    assert actions[0].edit[0].region == Region.at(1, len(ctx.doc.lines[1]) - 1)


def test_actions_carry_no_protocol(base: Index) -> None:
    ctx, line, col = context("Glocal-$0IB\n", base, root=Path("/ws"))
    for a in code_actions(ctx, Region.at(line, col)):
        assert type(a).__module__ == "paperlens.features.results"
