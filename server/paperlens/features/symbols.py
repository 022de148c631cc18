"""workspace/symbol: papers and method names, so a quick-open query like "PrefixKV" finds them."""

from __future__ import annotations

from paperlens.analysis.bibs import Bibs
from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features.card import paper_url
from paperlens.features.results import Symbol
from paperlens.index.catalog import Catalog

LIMIT = 100
NAME_MAX = 200


def workspace_symbols(catalog: Catalog, bibs: Bibs, query: str, limit: int = LIMIT) -> list[Symbol]:
    """Matching papers; each points at its .bib entry when the workspace has one, else at its repo or page."""
    out: list[Symbol] = []
    if not query.strip():
        return out
    for e in catalog.search(query, limit):
        place = bibs.location(e.key)
        url = None
        if place is None:
            url = safe_url(github_url(e.repo_name)) if e.repo_name else paper_url(e)
            if not url:
                continue
        name = f"{e.method}: {e.title}" if e.method and not e.title.startswith(e.method) else e.title
        out.append(Symbol(name=clean(name, NAME_MAX) or "?", container=clean(e.key, 100), key=e.key, place=place,
                          url=url))
    return out
