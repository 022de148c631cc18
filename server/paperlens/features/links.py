"""textDocument/documentLink: GitHub URLs, arXiv ids and method mentions that have a repo."""

from __future__ import annotations

from lsprotocol import types as t

from paperlens.analysis.document import ARXIV_IN_TEXT, GITHUB_URL, DocAnalysis
from paperlens.core.model import valid_repo
from paperlens.index.catalog import Catalog


def _rng(line: int, s: int, e: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=s), end=t.Position(line=line, character=e))


def document_links(doc: DocAnalysis, catalog: Catalog, max_lines: int = 20000) -> list[t.DocumentLink]:
    """Links a user can follow: each target is built from a validated repo name or arXiv id."""
    out: list[t.DocumentLink] = []
    for ln, line in enumerate(doc.lines[:max_lines]):
        taken: list[tuple[int, int]] = []
        if "github.com" in line:
            for m in GITHUB_URL.finditer(line):
                repo = m.group("repo")
                if valid_repo(repo):
                    out.append(t.DocumentLink(range=_rng(ln, m.start(), m.end()), target=f"https://github.com/{repo}",
                                              tooltip=f"Open {repo} on GitHub"))
                    taken.append((m.start(), m.end()))
        for m in ARXIV_IN_TEXT.finditer(line):
            if any(a <= m.start() < b for a, b in taken):
                continue
            ax = m.group(1)
            out.append(t.DocumentLink(range=_rng(ln, m.start(), m.end()), target=f"https://arxiv.org/abs/{ax}",
                                      tooltip=f"arXiv:{ax}"))
            taken.append((m.start(), m.end()))
        for mt in doc.line_mentions(ln, catalog):
            if any(a <= mt.span.start < b for a, b in taken):
                continue
            e = mt.mention.entries[0]
            if e.repo_name and valid_repo(e.repo_name):
                out.append(t.DocumentLink(range=_rng(ln, mt.span.start, mt.span.end),
                                          target=f"https://github.com/{e.repo_name}",
                                          tooltip=f"{e.repo_name}: code for {e.label}"))
    return out
