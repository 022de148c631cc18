"""textDocument/documentLink: GitHub URLs, arXiv ids and method mentions that have a repo."""

from __future__ import annotations

from paperlens.core.ids import arxiv_abs_url, find_arxiv_ids, find_github_repos, github_url
from paperlens.features.context import FeatureContext
from paperlens.features.results import Link, Region


def document_links(ctx: FeatureContext, max_lines: int = 20000) -> list[Link]:
    """Links a user can follow: each target is built from a validated repo name or arXiv id."""
    doc = ctx.doc
    out: list[Link] = []
    for ln, line in enumerate(doc.lines[:max_lines]):
        taken: list[tuple[int, int]] = []
        if "github.com" in line.lower():
            for f in find_github_repos(line):
                if url := github_url(f.value):
                    out.append(Link(Region.on_line(ln, f.start, f.end), url, f"Open {f.value} on GitHub"))
                    taken.append((f.start, f.end))
        for f in find_arxiv_ids(line):
            if any(a <= f.start < b for a, b in taken) or not (url := arxiv_abs_url(f.value)):
                continue
            out.append(Link(Region.on_line(ln, f.start, f.end), url, f"arXiv:{f.value}"))
            taken.append((f.start, f.end))
        for mt in doc.line_mentions(ln, ctx.catalog):
            if any(a <= mt.span.start < b for a, b in taken):
                continue
            e = mt.mention.entries[0]
            if url := github_url(e.repo_name):
                out.append(Link(Region.on_line(ln, mt.span.start, mt.span.end), url,
                                f"{e.repo_name}: code for {e.label}"))
    return out
