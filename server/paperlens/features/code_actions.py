"""textDocument/codeAction: cite this, cite related work, open the linked repo, add the BibTeX entry."""

from __future__ import annotations

from pathlib import Path

from paperlens.analysis.cites import cite_context, find_cites
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN, PYTHON, RST, Span
from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features.bib import BibWriteRefused, check_write_target, target_bib, write_roots
from paperlens.features.card import links, paper_url
from paperlens.features.context import FeatureContext
from paperlens.features.results import QUICK_FIX, REFACTOR_REWRITE, Action, Citation, Command, Region, TextChange
from paperlens.index.core import Entry

OPEN_REPO_COMMAND = "paperlens.openRepo"
ADD_ENTRY_COMMAND = "paperlens.addBibEntry"
TITLE_MAX = 120
RELATED_K = 5
RELATED_KIND = REFACTOR_REWRITE + ".paperlens.related"
_LINE_COMMENT = {"python": "#", "r": "#", "julia": "#", "shellscript": "#", "ruby": "#", "perl": "#", "yaml": "#",
                 "lua": "--", "sql": "--", "haskell": "--", "matlab": "%", "latex": "%"}


def citation_text(doc: DocAnalysis, entry: Entry, language_id: str) -> str:
    """The citation in the document's own syntax."""
    if doc.kind == LATEX:
        return f"~\\cite{{{entry.key}}}"
    if doc.kind == MARKDOWN:
        return f" [@{entry.key}]"
    if doc.kind == RST:
        return f" :cite:`{entry.key}`"
    return ""


_INSERTED = {LATEX: "\\cite{{{}}}", MARKDOWN: "[@{}]", RST: ":cite:`{}`"}


def citation_at(ctx: FeatureContext, line: int, col: int, entry: Entry) -> Citation:
    """What citing the paper inserts at a position (a search's pick): the cite command in the document's syntax,
    the key alone when the position is inside a citation already, plain "Method: URL" where there are no keys."""
    doc = ctx.doc
    form = _INSERTED.get(doc.kind)
    if form is None:
        url = paper_url(entry) or safe_url(github_url(entry.repo_name))
        return Citation(f"{entry.method or entry.title}: {url}" if url else f"{entry.title} ({entry.key})", False)
    text = doc.lines[line] if 0 <= line < len(doc.lines) else ""
    inside = cite_context(text, min(col, len(text)), doc.kind, ctx.cite_commands,
                          doc.lines[max(0, line - 5):max(0, line)]) is not None
    return Citation(entry.key if inside else form.format(entry.key), True)


def _code_comment(entry: Entry, language_id: str, kind: str) -> str:
    mark = "#" if kind == PYTHON else _LINE_COMMENT.get(language_id, "//")
    url = next((u for label, u in links(entry) if label == "arXiv"), None) or next(
        (u for _, u in links(entry)), None)
    what = entry.method or entry.title
    return f"  {mark} {what}: {url}" if url else f"  {mark} {what} ({entry.key})"


def cite_edit(doc: DocAnalysis, entry: Entry, span: Span, language_id: str) -> tuple[TextChange, ...]:
    """Insert the citation after the mention (in code: a comment with the paper's URL at the line end)."""
    text = citation_text(doc, entry, language_id)
    if text:
        at = Region.at(span.line, span.end)
    else:
        text = _code_comment(entry, language_id, doc.kind)
        at = Region.at(span.line, len(doc.lines[span.line]))
    return (TextChange(doc.uri, at, text, version=doc.version),)


def add_entry_command(doc: DocAnalysis, entry: Entry) -> Command:
    """The .bib entry is added by a command, not an edit computed now: the command re-reads the .bib right
    before it computes the append, so an edit made meanwhile (by any tool) is never spliced into."""
    return Command(f"Add BibTeX entry for {entry.key}", ADD_ENTRY_COMMAND, (entry.key, doc.uri))


def _target(ctx: FeatureContext, rng: Region) -> tuple[list[Entry], Span] | None:
    """What the cursor or selection names: a mention, key, id or URL; else the selected words as a search."""
    line, col = rng.start_line, rng.start
    found = ctx.target_at(line, col)
    if found:
        return found
    if rng.start_line == rng.end_line and rng.end > col and line < len(ctx.doc.lines):
        sel = ctx.doc.lines[line][col:rng.end].strip()
        if len(sel) >= 3:
            e = ctx.catalog.lookup(sel)
            if e:
                return [e], Span(line, col, rng.end)
    return None


def bib_target(ctx: FeatureContext) -> tuple[Path | None, bool]:
    """Where a new .bib entry would go, and whether a cite action may also add one there: the document has a
    bibliography syntax and the write policy accepts the target (the command would refuse otherwise, so no such
    action is offered)."""
    _, bib_path = target_bib(ctx.doc, ctx.bibs, ctx.settings.bib_file, ctx.root)
    roots = list(ctx.roots) or ([ctx.root] if ctx.root else [])
    try:
        check_write_target(bib_path, write_roots(roots, ctx.doc.uri))
    except BibWriteRefused:
        return bib_path, False
    return bib_path, ctx.doc.kind in (LATEX, MARKDOWN, RST)


def code_actions(ctx: FeatureContext, rng: Region) -> list[Action]:
    """All actions at a position or selection."""
    found = _target(ctx, rng)
    if not found:
        return []
    doc, bibs, language_id = ctx.doc, ctx.bibs, ctx.language_id
    entries, span = found
    entry = entries[0]
    bib_path, writable = bib_target(ctx)
    bib_name = clean(bib_path.name if bib_path else "refs.bib", 60)

    def needs_entry(e: Entry) -> bool:
        return writable and not bibs.has_key(e.key)

    actions: list[Action] = []
    # Already cited in the same sentence (this line or a neighbour): offering to cite again is noise.
    cited_here = entry.key in _cites_near(doc, span.line, ctx.cite_commands)
    if not cited_here:
        actions.append(Action(
            title=clean(f"Cite {entry.label} ({entry.key})", TITLE_MAX), kind=QUICK_FIX,
            preferred=True, edit=cite_edit(doc, entry, span, language_id),
            command=add_entry_command(doc, entry) if needs_entry(entry) else None))
    if needs_entry(entry):
        actions.append(Action(title=clean(f"Add BibTeX entry for {entry.key} to {bib_name}", TITLE_MAX),
                              kind=QUICK_FIX, command=add_entry_command(doc, entry)))
    if url := github_url(entry.repo_name):
        # No kind: opening a page is neither a fix nor a refactoring, and "" is not a kind clients group by.
        actions.append(Action(title=clean(f"Open {entry.repo_name} on GitHub", TITLE_MAX),
                              command=Command(clean(f"Open {entry.repo_name}", TITLE_MAX), OPEN_REPO_COMMAND,
                                              (url,))))
    for rel, why in ctx.catalog.related_why(entry, RELATED_K):
        name = rel.method or rel.key
        title = f"Related: cite {name} — {rel.title}" if rel.method else f"Related: cite {rel.title}"
        reason = clean(f" (both: {', '.join(why)})", 60) if why else ""  # why it is related, at a glance
        actions.append(Action(title=clean(title, TITLE_MAX - len(reason)) + reason, kind=RELATED_KIND,
                              edit=cite_edit(doc, rel, span, language_id),
                              command=add_entry_command(doc, rel) if needs_entry(rel) else None))
    return actions


def _cites_near(doc: DocAnalysis, line: int, extra: tuple[str, ...]) -> set[str]:
    lo = max(0, line - 1)
    return {c.key for c in find_cites(doc.lines[lo : line + 2], doc.kind, extra)}
