"""workspace/symbol: papers and method names, so a quick-open query like "PrefixKV" finds them."""

from __future__ import annotations

from lsprotocol import types as t

from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features.bib import Bibs
from paperlens.features.card import paper_url
from paperlens.index.catalog import Catalog

LIMIT = 100
NAME_MAX = 200


def workspace_symbols(catalog: Catalog, bibs: Bibs, query: str, limit: int = LIMIT) -> list[t.WorkspaceSymbol]:
    """Matching papers; each points at its .bib entry when the workspace has one, else at its repo or page."""
    out: list[t.WorkspaceSymbol] = []
    if not query.strip():
        return out
    for e in catalog.search(query, limit):
        loc = bibs.location(e.key)
        if loc is None:
            url = safe_url(github_url(e.repo_name)) if e.repo_name else paper_url(e)
            if not url:
                continue
            location: t.Location | t.LocationUriOnly = t.LocationUriOnly(uri=url)
        else:
            location = loc
        name = f"{e.method}: {e.title}" if e.method and not e.title.startswith(e.method) else e.title
        out.append(t.WorkspaceSymbol(name=clean(name, NAME_MAX) or "?", kind=t.SymbolKind.Class, location=location,
                                     container_name=clean(e.key, 100), data={"key": e.key}))
    return out
