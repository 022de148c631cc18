"""textDocument/codeAction: cite this, cite related work, open the linked repo, add the BibTeX entry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types as t

from paperlens.analysis.document import LATEX, MARKDOWN, PYTHON, RST, DocAnalysis, Span, find_cites
from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.features.bib import Bibs, BibWriteRefused, check_write_target, target_bib, write_roots
from paperlens.features.card import links
from paperlens.features.hover import target_at
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry

OPEN_REPO_COMMAND = "paperlens.openRepo"
ADD_ENTRY_COMMAND = "paperlens.addBibEntry"
TITLE_MAX = 120
RELATED_K = 5
RELATED_KIND = t.CodeActionKind.RefactorRewrite + ".paperlens.related"
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


def _code_comment(entry: Entry, language_id: str, kind: str) -> str:
    mark = "#" if kind == PYTHON else _LINE_COMMENT.get(language_id, "//")
    url = next((u for label, u in links(entry) if label == "arXiv"), None) or next(
        (u for _, u in links(entry)), None)
    what = entry.method or entry.title
    return f"  {mark} {what}: {url}" if url else f"  {mark} {what} ({entry.key})"


def cite_edit(doc: DocAnalysis, entry: Entry, span: Span, language_id: str) -> t.WorkspaceEdit:
    """Insert the citation after the mention (in code: a comment with the paper's URL at the line end)."""
    text = citation_text(doc, entry, language_id)
    if text:
        pos = t.Position(line=span.line, character=span.end)
    else:
        text = _code_comment(entry, language_id, doc.kind)
        pos = t.Position(line=span.line, character=len(doc.lines[span.line]))
    return t.WorkspaceEdit(document_changes=[t.TextDocumentEdit(
        text_document=t.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
        edits=[t.TextEdit(range=t.Range(start=pos, end=pos), new_text=text)])])


def add_entry_command(doc: DocAnalysis, entry: Entry) -> t.Command:
    """The .bib entry is added by a command, not an edit computed now: the command re-reads the .bib right
    before it computes the append, so an edit made meanwhile (by any tool) is never spliced into."""
    return t.Command(title=f"Add BibTeX entry for {entry.key}", command=ADD_ENTRY_COMMAND,
                     arguments=[entry.key, doc.uri])


def _target(
    doc: DocAnalysis, catalog: Catalog, rng: t.Range, extra: tuple[str, ...]
) -> tuple[list[Entry], Span] | None:
    """What the cursor or selection names: a mention, key, id or URL; else the selected words as a search."""
    line, col = rng.start.line, rng.start.character
    found = target_at(doc, catalog, line, col, extra)
    if found:
        return found
    if rng.start.line == rng.end.line and rng.end.character > col and line < len(doc.lines):
        sel = doc.lines[line][col:rng.end.character].strip()
        if len(sel) >= 3:
            e = catalog.lookup(sel)
            if e:
                return [e], Span(line, col, rng.end.character)
    return None


def can_write_bib(doc: DocAnalysis, bib_path: Path | None, root: Path | None, roots: Sequence[Path]) -> bool:
    """Whether a cite action may also add a .bib entry: the document has a bibliography syntax and the write
    policy accepts the target (the command would refuse otherwise, so no such action is offered)."""
    try:
        check_write_target(bib_path, write_roots(list(roots) or ([root] if root else []), doc.uri))
    except BibWriteRefused:
        return False
    return doc.kind in (LATEX, MARKDOWN, RST)


def code_actions(
    doc: DocAnalysis, catalog: Catalog, bibs: Bibs, rng: t.Range, *, language_id: str = "", bib_setting: str = "",
    root: Path | None = None, extra_cites: tuple[str, ...] = (), roots: Sequence[Path] = (),
) -> list[t.CodeAction]:
    """All actions at a position or selection."""
    found = _target(doc, catalog, rng, extra_cites)
    if not found:
        return []
    entries, span = found
    entry = entries[0]
    bib_uri, bib_path = target_bib(doc, bibs, bib_setting, root)
    writable = can_write_bib(doc, bib_path, root, roots)
    bib_name = clean(bib_path.name if bib_path else "refs.bib", 60)

    def needs_entry(e: Entry) -> bool:
        return writable and not bibs.has_key(e.key)

    actions: list[t.CodeAction] = []
    # Already cited in the same sentence (this line or a neighbour): offering to cite again is noise.
    cited_here = entry.key in _cites_near(doc, span.line, extra_cites)
    if not cited_here:
        actions.append(t.CodeAction(
            title=clean(f"Cite {entry.label} ({entry.key})", TITLE_MAX), kind=t.CodeActionKind.QuickFix,
            is_preferred=True, edit=cite_edit(doc, entry, span, language_id),
            command=add_entry_command(doc, entry) if needs_entry(entry) else None))
    if needs_entry(entry):
        actions.append(t.CodeAction(title=clean(f"Add BibTeX entry for {entry.key} to {bib_name}", TITLE_MAX),
                                    kind=t.CodeActionKind.QuickFix, command=add_entry_command(doc, entry)))
    if url := github_url(entry.repo_name):
        # No kind: opening a page is neither a fix nor a refactoring, and "" is not a kind clients group by.
        actions.append(t.CodeAction(title=clean(f"Open {entry.repo_name} on GitHub", TITLE_MAX),
                                    command=t.Command(title=clean(f"Open {entry.repo_name}", TITLE_MAX),
                                                      command=OPEN_REPO_COMMAND, arguments=[url])))
    for rel, why in catalog.related_why(entry, RELATED_K):
        name = rel.method or rel.key
        title = f"Related: cite {name} — {rel.title}" if rel.method else f"Related: cite {rel.title}"
        reason = clean(f" (both: {', '.join(why)})", 60) if why else ""  # why it is related, at a glance
        actions.append(t.CodeAction(title=clean(title, TITLE_MAX - len(reason)) + reason, kind=RELATED_KIND,
                                    edit=cite_edit(doc, rel, span, language_id),
                                    command=add_entry_command(doc, rel) if needs_entry(rel) else None))
    return actions


def _cites_near(doc: DocAnalysis, line: int, extra: tuple[str, ...]) -> set[str]:
    lo = max(0, line - 1)
    return {c.key for c in find_cites(doc.lines[lo : line + 2], doc.kind, extra)}
