"""textDocument/documentLink: GitHub URLs, arXiv ids and method mentions that have a repo."""

from __future__ import annotations

from lsprotocol import types as t

from paperlens.analysis.document import DocAnalysis
from paperlens.core.ids import arxiv_abs_url, find_arxiv_ids, find_github_repos, github_url
from paperlens.index.catalog import Catalog


def _rng(line: int, s: int, e: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=s), end=t.Position(line=line, character=e))


def document_links(doc: DocAnalysis, catalog: Catalog, max_lines: int = 20000) -> list[t.DocumentLink]:
    """Links a user can follow: each target is built from a validated repo name or arXiv id."""
    out: list[t.DocumentLink] = []
    for ln, line in enumerate(doc.lines[:max_lines]):
        taken: list[tuple[int, int]] = []
        if "github.com" in line.lower():
            for f in find_github_repos(line):
                out.append(t.DocumentLink(range=_rng(ln, f.start, f.end), target=github_url(f.value),
                                          tooltip=f"Open {f.value} on GitHub"))
                taken.append((f.start, f.end))
        for f in find_arxiv_ids(line):
            if any(a <= f.start < b for a, b in taken):
                continue
            out.append(t.DocumentLink(range=_rng(ln, f.start, f.end), target=arxiv_abs_url(f.value),
                                      tooltip=f"arXiv:{f.value}"))
            taken.append((f.start, f.end))
        for mt in doc.line_mentions(ln, catalog):
            if any(a <= mt.span.start < b for a, b in taken):
                continue
            e = mt.mention.entries[0]
            if url := github_url(e.repo_name):
                out.append(t.DocumentLink(range=_rng(ln, mt.span.start, mt.span.end), target=url,
                                          tooltip=f"{e.repo_name}: code for {e.label}"))
    return out
