"""PaperLens' own wire shapes: command names, their arguments and results, the status notification.
docs/contract.md describes them and client/src/protocol.ts reads them; change the three together."""

from __future__ import annotations

from typing import Any

from paperlens.core.ids import github_url
from paperlens.core.text import clean
from paperlens.core.urls import safe_url
from paperlens.features import code_actions, completion
from paperlens.features.card import paper_url
from paperlens.features.results import Citation
from paperlens.index.core import Entry

# The features name the commands they emit; the rest are the client's to call.
CMD_OPEN_REPO, CMD_ADD_BIB = code_actions.OPEN_REPO_COMMAND, completion.ADD_ENTRY_COMMAND
CMD_SEARCH, CMD_OPEN_PAPER = "paperlens.search", "paperlens.openPaper"
CMD_REFRESH, CMD_STATUS = "paperlens.refresh", "paperlens.status"
STATUS_NOTIFICATION = "paperlens/status"


def int_arg(rest: tuple[Any, ...], default: int) -> int:
    """An optional integer argument (pygls unpacks arguments positionally and ignores defaults: it is *rest)."""
    return rest[0] if rest and isinstance(rest[0], int) and not isinstance(rest[0], bool) else default


def str_arg(rest: tuple[Any, ...], i: int = 0) -> str:
    """An optional string argument ("" when absent)."""
    return rest[i] if len(rest) > i and isinstance(rest[i], str) else ""


def opened(url: str | None, success: bool) -> dict[str, Any]:
    """The result of `paperlens.openRepo` and `paperlens.openPaper`."""
    return {"opened": url, "success": success}


def search_result(e: Entry, in_bib: bool, citation: Citation | None) -> dict[str, Any]:
    """One result of `paperlens.search` (docs/contract.md; client/src/protocol.ts reads it)."""
    names = list(e.paper.authors) or ([e.authors_short] if e.authors_short else [])
    return {"key": e.key, "title": clean(e.title, 300), "method": clean(e.method, 100) if e.method else None,
            "year": e.year, "authors": [clean(a, 200) for a in names[:50]], "upvotes": e.upvotes,
            "repo": e.repo_name, "paperUrl": paper_url(e),
            "repoUrl": safe_url(github_url(e.repo_name)),
            "inBib": in_bib,
            "citation": None if citation is None else {"text": citation.text, "keyed": citation.keyed}}


def position_arg(value: Any) -> tuple[int, int] | None:
    """An LSP Position given as a command argument ({line, character}), else None."""
    if not isinstance(value, dict):
        return None
    line, character = value.get("line"), value.get("character")
    if type(line) is not int or type(character) is not int or line < 0 or character < 0:
        return None
    return line, character
