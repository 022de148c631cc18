"""A .bib file checked the way BibTeX reads it: where each entry and its key are, and what BibTeX or biber would
reject (a missing brace, key, '=' or value; a duplicate key), with the line and column of each problem. The
reading is bibraw's (the one BibTeX tokenizer); this module turns its offsets into positions and adds what
needs the whole file (duplicate keys)."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from paperlens.core.rope import Text
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
           "EXPECTING_VALUE", "UNBALANCED", "DUPLICATE_KEY", "BibCheck", "BibEntry", "BibProblem", "BibScan",
           "scan_bib"]

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


def check_region(text: Text, start: int, stop: int) -> Checked:
    """Check the blocks of text[start:stop], which starts and ends where a block starts at the start of its line
    (or at the text's ends): the check of a file is the check of its regions, one after the other."""
    if not isinstance(text, str):  # a rope: the region's own text (it starts a line), offsets moved back
        c = check_region(text.slice(start, stop), 0, stop - start)
        return Checked([(k, kind, ks + start, ke + start, a + start, z + start) for k, kind, ks, ke, a, z in c.entries],
                       [(a + start, b + start, m, code) for a, b, m, code in c.problems])
    blocks = scan(text, start, stop, bare=True)
    return check_blocks(text, blocks, limits(blocks, stop))


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
    return BibCheck.of_checked(checked).scan(lambda offset: _pos(starts, offset))


def _pos(starts: Sequence[int], offset: int) -> Pos:
    line = bisect.bisect_right(starts, offset) - 1
    return line, offset - starts[line]


def _first(p: tuple[int, int, str, str]) -> int:
    return p[0]


EntryAt = tuple[str, str, int, int, int, int]  # (key, kind, key start, key end, start, end), offsets
ENTRIES_KEPT = 2000  # past this many entries an edit does not keep the entries' list (only the problems)


class BibCheck:
    """The check of one .bib text in offsets, kept through edits: `edited` re-checks only the blocks an edit
    touched and moves the problems after it, so a 72,000-entry file is not checked again for one keystroke.
    `scan` gives it with positions (duplicate keys added)."""

    __slots__ = ("problems", "keys", "entries")

    def __init__(self, problems: list[tuple[int, int, str, str]], keys: Counter[str],
                 entries: list[EntryAt] | None) -> None:
        self.problems = problems  # syntax problems, ordered by offset; duplicates are found by `scan`
        self.keys = keys  # lower-cased key -> how many entries have it
        self.entries = entries  # None in a large file after an edit

    @classmethod
    def of_checked(cls, c: Checked) -> BibCheck:
        return cls(sorted(c.problems, key=_first), Counter(e[0].lower() for e in c.entries), c.entries)

    @classmethod
    def of_parts(cls, parts: Sequence[Checked]) -> BibCheck:
        """The check of a file from the checks of its regions, in order (entries kept only for a small file)."""
        entries = [e for c in parts for e in c.entries]
        return cls([p for c in parts for p in sorted(c.problems, key=_first)], Counter(e[0].lower() for e in entries),
                   entries if len(entries) <= ENTRIES_KEPT else None)

    @classmethod
    def of(cls, text: str) -> BibCheck:
        blocks = scan(text, bare=True)
        return cls.of_checked(check_blocks(text, blocks, limits(blocks, len(text))))

    def edited(self, text: Text, start: int, old_stop: int, new_stop: int, gone_keys: Iterable[str]) -> None:
        """text[start:new_stop] replaced what was [start:old_stop] (both ending where a block starts at the
        start of its line, or at the end), and the entries with `gone_keys` were there: check it again."""
        c = check_region(text, start, new_stop)
        delta = new_stop - old_stop
        self.problems = ([p for p in self.problems if p[0] < start] + sorted(c.problems, key=_first)
                         + [(a + delta, b + delta, m, code) for a, b, m, code in self.problems if a >= old_stop])
        for k in gone_keys:
            low = k.lower()
            self.keys[low] -= 1
            if self.keys[low] <= 0:
                del self.keys[low]
        self.keys.update(e[0].lower() for e in c.entries)
        if self.entries is not None and len(self.entries) <= ENTRIES_KEPT:
            self.entries = ([e for e in self.entries if e[4] < start] + c.entries
                            + [(k, kind, ks + delta, ke + delta, a + delta, z + delta)
                               for k, kind, ks, ke, a, z in self.entries if a >= old_stop])
        else:
            self.entries = None

    def scan(self, position: Callable[[int], Pos], keyed: Callable[[], Iterable[tuple[str, int, int]]] | None = None
             ) -> BibScan:
        """With positions. Duplicate keys are placed from the entries when kept, else from `keyed` (each
        entry's key, key start, key end, in file order), which is walked only when there are duplicates."""
        entries = [BibEntry(k, kind, position(ks), position(ke), position(a), position(z))
                   for k, kind, ks, ke, a, z in self.entries] if self.entries is not None else []
        problems = [BibProblem(position(a), position(b), message, code) for a, b, message, code in self.problems]
        if any(n > 1 for n in self.keys.values()):
            at = ((e[0], e[2], e[3]) for e in self.entries) if self.entries is not None else (keyed() if keyed else ())
            first: dict[str, tuple[str, int]] = {}
            for key, ks, ke in at:
                low = key.lower()
                if self.keys.get(low, 0) < 2:
                    continue
                if low not in first:
                    first[low] = (key, ks)
                    continue
                fk, fks = first[low]
                problems.append(BibProblem(
                    position(ks), position(ke), f"duplicate key `{key}`: also at line {position(fks)[0] + 1} "
                    f"(`{fk}`); BibTeX and biber use the first entry", DUPLICATE_KEY))
        return BibScan(tuple(entries), tuple(sorted(problems, key=lambda p: p.start)))


def scan_bib(text: str) -> BibScan:
    """Entries (file order) and problems (by position) of a .bib text."""
    starts = line_starts(text)
    return BibCheck.of(text).scan(lambda offset: _pos(starts, offset))
