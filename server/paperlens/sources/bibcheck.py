"""A .bib file checked the way BibTeX reads it: where each entry and its key are, and what BibTeX or biber would
reject (a missing brace, key, '=' or value; a duplicate key), with the line and column of each problem. The
reading is bibraw's (the one BibTeX tokenizer); this module turns its offsets into positions and adds what
needs the whole file (duplicate keys)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from paperlens.sources.bibraw import (
    EXPECTING_COMMA,
    EXPECTING_EQ,
    EXPECTING_KEY,
    EXPECTING_LBRACE,
    EXPECTING_RBRACE,
    EXPECTING_VALUE,
    NOT_ENTRIES,
    UNBALANCED,
    RawEntry,
    check_block,
    limits,
    scan,
)

__all__ = ["EXPECTING_COMMA", "EXPECTING_EQ", "EXPECTING_KEY", "EXPECTING_LBRACE", "EXPECTING_RBRACE",
           "EXPECTING_VALUE", "UNBALANCED", "DUPLICATE_KEY", "BibEntry", "BibProblem", "BibScan", "scan_bib"]

DUPLICATE_KEY = "duplicate-key"

Pos = tuple[int, int]  # (line, column), 0-based code points; lines split on "\n" as the editor's are


@dataclass(frozen=True, slots=True)
class BibEntry:
    key: str
    kind: str  # lower-cased entry type: "article", "online", ...
    key_start: Pos
    key_end: Pos
    start: Pos  # the '@'
    end: Pos  # just past the closing brace (or where the unclosed entry stops)


@dataclass(frozen=True, slots=True)
class BibProblem:
    start: Pos
    end: Pos
    message: str
    code: str


@dataclass(frozen=True, slots=True)
class BibScan:
    entries: tuple[BibEntry, ...]
    problems: tuple[BibProblem, ...]

    def entry(self, key: str) -> BibEntry | None:
        for e in self.entries:
            if e.key == key:
                return e
        return None


@dataclass(frozen=True, slots=True)
class Checked:
    """What the check found in some blocks, in offsets: (key, kind, key start, key end, start, end) of each
    entry, and (start, end, message, code) of each problem."""

    entries: list[tuple[str, str, int, int, int, int]]
    problems: list[tuple[int, int, str, str]]


def check_blocks(text: str, blocks: Sequence[RawEntry], ends: Sequence[int]) -> Checked:
    """Check each block (bibraw.check_block) up to its limit in `ends`."""
    entries: list[tuple[str, str, int, int, int, int]] = []
    problems: list[tuple[int, int, str, str]] = []

    def report(a: int, b: int, message: str, code: str) -> None:
        problems.append((a, b, message, code))

    end = 0
    for b, limit in zip(blocks, ends, strict=True):
        if not b.closer and b.start < end:
            continue  # '@word' inside the entry before: text
        end = check_block(text, b, limit, report)
        if b.key and b.closer and b.kind not in NOT_ENTRIES:
            entries.append((b.key, b.kind, b.body - len(b.key), b.body, b.start, end))
    return Checked(entries, problems)


def line_starts(text: str) -> list[int]:
    """The offset of each line's start (lines split on "\\n")."""
    out = [0]
    i = text.find("\n")
    while i >= 0:
        out.append(i + 1)
        i = text.find("\n", i + 1)
    return out


def to_scan(checked: Checked, starts: Sequence[int]) -> BibScan:
    """Offsets to (line, column), and duplicate keys (case-insensitive, as biber compares them) reported."""

    def pos(offset: int) -> Pos:
        line = bisect.bisect_right(starts, offset) - 1
        return line, offset - starts[line]

    entries = [BibEntry(k, kind, pos(ks), pos(ke), pos(a), pos(z)) for k, kind, ks, ke, a, z in checked.entries]
    problems = [BibProblem(pos(a), pos(b), message, code) for a, b, message, code in checked.problems]
    seen: dict[str, BibEntry] = {}
    for e in entries:
        first = seen.setdefault(e.key.lower(), e)
        if first is not e:
            problems.append(BibProblem(
                e.key_start, e.key_end, f"duplicate key `{e.key}`: also at line {first.key_start[0] + 1} "
                f"(`{first.key}`); BibTeX and biber use the first entry", DUPLICATE_KEY))
    return BibScan(tuple(entries), tuple(sorted(problems, key=lambda p: p.start)))


def scan_bib(text: str) -> BibScan:
    """Entries (file order) and problems (by position) of a .bib text."""
    blocks = scan(text, bare=True)
    return to_scan(check_blocks(text, blocks, limits(blocks, len(text))), line_starts(text))
