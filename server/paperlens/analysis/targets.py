"""What is at a position: a cited key, a .bib entry's key, an arXiv id, a GitHub URL or a method mention, and the
papers it refers to. The one place hover, code actions and navigation ask."""

from __future__ import annotations

from paperlens.analysis.cites import CiteKey, bib_key_at, cite_context, manubot_id
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX, Span
from paperlens.analysis.mentions import LONG_LINE, WINDOW
from paperlens.core.ids import find_arxiv_ids, find_github_repos, paper_arxiv_id
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry


def arxiv_at(line: str, col: int) -> tuple[str, int, int] | None:
    for f in find_arxiv_ids(line):
        if f.start <= col <= f.end:
            return f
    return None


def github_at(line: str, col: int) -> tuple[str, int, int] | None:
    for f in find_github_repos(line):
        if f.start <= col <= f.end:
            return f
    return None


def cite_at(doc: DocAnalysis, line: int, col: int, cite_commands: tuple[str, ...] = ()) -> CiteKey | None:
    """The citation key under the cursor."""
    if line < 0 or line >= len(doc.lines):
        return None
    for c in doc.cites_on(line, cite_commands):
        if c.span.start <= col <= c.span.end:
            return c
    return None


def target_at(doc: DocAnalysis, catalog: Catalog, line: int, col: int,
              cite_commands: tuple[str, ...] = ()) -> tuple[list[Entry], Span] | None:
    """The papers the text at a position refers to, most specific first, and the span that refers."""
    if line < 0 or line >= len(doc.lines):
        return None
    text = doc.lines[line]
    c = cite_at(doc, line, col, cite_commands)
    if c is not None:
        ident = manubot_id(c.key)
        if ident and ident[0] == "arxiv":  # Manubot writes versions too: @arxiv:2404.00722v2
            aid = paper_arxiv_id(ident[1])
            e = catalog.by_arxiv(aid) if aid else None
        else:
            e = catalog.by_key(c.key)
        return ([e], Span(line, c.span.start, c.span.end)) if e else None
    off = 0
    if len(text) > LONG_LINE:  # a megabyte on one line: look around the cursor only
        off = max(0, col - WINDOW)
        text = text[off : col + WINDOW]
    c0 = col - off
    if doc.kind == BIBTEX:
        bk = bib_key_at(text, c0)
        if bk:
            e = catalog.by_key(bk[0])
            return ([e], Span(line, bk[1] + off, bk[2] + off)) if e else None
    ax = arxiv_at(text, c0)
    if ax:
        e = catalog.by_arxiv(ax[0])
        return ([e], Span(line, ax[1] + off, ax[2] + off)) if e else None
    gh = github_at(text, c0)
    if gh:
        es = catalog.by_repo(gh[0])
        return (es, Span(line, gh[1] + off, gh[2] + off)) if es else None
    if cite_context(text, c0, doc.kind, cite_commands, doc.lines[max(0, line - 5):line]) is not None:
        return None  # a half-typed key is not a mention
    m = doc.mention_at(line, col, catalog)
    if m:
        return m.mention.entries, m.span
    return None
