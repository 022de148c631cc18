"""What features return: plain data, positions in code points. lsp/convert.py turns it into the protocol once
(the client's position units, lsprotocol's classes); nothing here knows LSP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paperlens.analysis.kinds import Place as Place
from paperlens.analysis.kinds import Region as Region

# Code action kinds, as LSP spells them (plain strings: a kind is a dotted name, clients filter by prefix).
QUICK_FIX = "quickfix"
REFACTOR_REWRITE = "refactor.rewrite"

# Diagnostic severities.
ERROR, WARNING, INFORMATION, HINT = "error", "warning", "information", "hint"


@dataclass(frozen=True)
class Command:
    """A command for the client to run when an item is chosen (`name`: one of the server's commands)."""

    title: str
    name: str
    arguments: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TextChange:
    """Replace a region of a file with text; `create`: the file does not exist yet (create it first)."""

    uri: str
    region: Region
    text: str
    version: int | None = None
    create: bool = False


@dataclass(frozen=True)
class HoverCard:
    text: str
    markdown: bool
    region: Region


@dataclass(frozen=True)
class CompletionEntry:
    """One completion: `new_text` replaces `region`; `key` finds the card when the item is resolved."""

    label: str
    region: Region
    new_text: str
    key: str
    detail: str | None = None
    description: str | None = None
    sort_text: str | None = None
    filter_text: str | None = None
    command: Command | None = None


@dataclass(frozen=True)
class Action:
    title: str
    kind: str | None = None
    preferred: bool = False
    edit: tuple[TextChange, ...] = ()
    command: Command | None = None


@dataclass(frozen=True)
class Link:
    region: Region
    target: str
    tooltip: str


@dataclass(frozen=True)
class Symbol:
    """A paper found by a workspace symbol query: at its .bib entry (`place`), else at a page (`url`)."""

    name: str
    container: str
    key: str
    place: Place | None = None
    url: str | None = None


@dataclass(frozen=True)
class Diagnostic:
    region: Region
    message: str
    severity: str
    code: str
    data: dict[str, Any] | None = None
    unnecessary: bool = False  # shown faded (an entry no document cites)


@dataclass(frozen=True)
class Definition:
    """Where a cited key is defined: the whole entry, its key (`selection`), and what was cited (`origin`)."""

    uri: str
    region: Region
    selection: Region
    origin: Region | None = None



@dataclass(frozen=True)
class Citation:
    """What citing a paper inserts at a position: `\\cite{key}`, `[@key]`, the key alone inside a citation (`keyed`:
    the text is a .bib key, so the entry belongs in the .bib), or "Method: URL" where documents have no keys."""

    text: str
    keyed: bool
