"""A .bib file read the way BibTeX reads it: where each entry and its key are, and what BibTeX or biber would
reject (a missing brace, key, '=' or value; a duplicate key), with the line and column of each problem."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

EXPECTING_LBRACE, EXPECTING_KEY, EXPECTING_RBRACE = "expecting-lbrace", "expecting-key", "expecting-rbrace"
EXPECTING_EQ, EXPECTING_VALUE, EXPECTING_COMMA = "expecting-eq", "expecting-value", "expecting-comma"
UNBALANCED, DUPLICATE_KEY = "unbalanced-braces", "duplicate-key"

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


_AT = re.compile(r"(?<![\w.@])@")
_WS = re.compile(r"\s*")
_TYPE = re.compile(r"[A-Za-z][\w-]*")
# Where a new entry starts ('@url = {…}' inside an entry is a field, as BibTeX reads it).
_ENTRY_START = re.compile(r"@[ \t]*[A-Za-z][\w-]*[ \t]*[{(]")
_KEY = re.compile(r"[^\s,{}()\"#%'=]+")
_FIELD = re.compile(r"[^\s=,{}()\"#%']+")
_BRACE_OR_ENTRY = re.compile(r"[{}]|\n[ \t]*@")
_NUMBER_OR_MACRO = re.compile(r"[^\s#,{}()\"=%'@]+")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.entries: list[BibEntry] = []
        self.problems: list[BibProblem] = []

    def pos(self, offset: int) -> Pos:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]

    def problem(self, a: int, b: int, message: str, code: str) -> None:
        self.problems.append(BibProblem(self.pos(a), self.pos(b), message, code))

    def ws(self, i: int) -> int:
        m = _WS.match(self.text, i)
        return m.end() if m else i

    def balanced(self, i: int) -> int | None:
        """From an opening brace at i: the offset just past its closing brace, None if it never closes."""
        depth = 0
        text = self.text
        for m in _BRACE_OR_ENTRY.finditer(text, i):
            c = m.group()
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return m.end()
            elif depth == 1 and _ENTRY_START.match(text, m.end() - 1):
                return None  # a new entry at the start of a line: this one was never closed
        return None

    def quoted(self, i: int) -> int | None:
        depth = 0
        text = self.text
        i += 1
        while i < len(text):
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == '"' and depth <= 0:
                return i + 1
            elif c == "\n" and _ENTRY_START.match(text, self.ws(i + 1)) and depth <= 0:
                return None
            i += 1
        return None

    def in_comment_line(self, i: int) -> bool:
        start = self.text.rfind("\n", 0, i) + 1
        return self.text[start:i].lstrip().startswith("%")

    def scan(self) -> BibScan:
        text = self.text
        i = 0
        while True:
            m = _AT.search(text, i)
            if m is None:
                break
            at = m.start()
            if self.in_comment_line(at):
                i = at + 1
                continue
            i = self.entry(at)
        seen: dict[str, BibEntry] = {}
        for e in self.entries:
            first = seen.get(e.key.lower())
            if first is None:
                seen[e.key.lower()] = e
                continue
            self.problems.append(BibProblem(
                e.key_start, e.key_end, f"duplicate key `{e.key}`: also at line {first.key_start[0] + 1} "
                f"(`{first.key}`); BibTeX and biber use the first entry", DUPLICATE_KEY))
        return BibScan(tuple(self.entries), tuple(sorted(self.problems, key=lambda p: p.start)))

    def entry(self, at: int) -> int:
        """Read the entry at '@'; returns where scanning resumes."""
        text = self.text
        tm = _TYPE.match(text, at + 1)
        if tm is None:
            return at + 1
        kind = tm.group().lower()
        i = self.ws(tm.end())
        if kind == "comment":
            if i < len(text) and text[i] == "{":
                end = self.balanced(i)
                return end if end is not None else i + 1
            return i
        if i >= len(text) or text[i] not in "{(":
            self.problem(tm.end(), tm.end(), f"expected '{{' after @{tm.group()}", EXPECTING_LBRACE)
            return tm.end()
        close = "}" if text[i] == "{" else ")"
        if kind == "preamble":
            end = self.balanced(i) if close == "}" else text.find(")", i)
            if end is None or end < 0:
                self.problem(i + 1, i + 1, "@preamble is not closed: expected '}'", EXPECTING_RBRACE)
                return i + 1
            return end
        body = i + 1
        j = self.ws(body)
        key = ""
        if kind != "string":
            km = _KEY.match(text, j)
            if km is None:
                self.problem(body, body, f"expected a citation key after '@{tm.group()}{text[i]}'", EXPECTING_KEY)
                return self.skip_entry(body, close)
            key = km.group()
            key_start, key_end = km.start(), km.end()
            j = self.ws(km.end())
            if j < len(text) and text[j] == close:
                self.add(key, kind, key_start, key_end, at, j + 1)
                return j + 1
            if j >= len(text) or text[j] != ",":
                if j >= len(text) or _ENTRY_START.match(text, j):
                    self.problem(key_end, key_end, f"entry `{key}` is not closed: expected '{close}'",
                                 EXPECTING_RBRACE)
                    self.add(key, kind, key_start, key_end, at, key_end)
                    return key_end
                self.problem(key_end, key_end, f"expected ',' after the key `{key}`", EXPECTING_COMMA)
                end = self.skip_entry(j, close)
                self.add(key, kind, key_start, key_end, at, end)
                return end
            j += 1
        end = self.fields(j, close, key or "@string")
        if key:
            self.add(key, kind, key_start, key_end, at, end)
        return end

    def add(self, key: str, kind: str, ks: int, ke: int, at: int, end: int) -> None:
        self.entries.append(BibEntry(key, kind, self.pos(ks), self.pos(ke), self.pos(at), self.pos(end)))

    def skip_entry(self, i: int, close: str) -> int:
        """Recovery: past the closing brace at depth 0, or to the next entry at the start of a line."""
        text = self.text
        depth = 0
        while i < len(text):
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    return i + 1
                depth -= 1
            elif c == ")" and close == ")" and depth == 0:
                return i + 1
            elif c == "@" and text[text.rfind("\n", 0, i) + 1 : i].strip() == "" and _ENTRY_START.match(text, i):
                return i
            i += 1
        return i

    def fields(self, i: int, close: str, key: str) -> int:
        text = self.text
        last = i  # end of the last thing read, where a missing brace is reported
        while True:
            i = self.ws(i)
            if i >= len(text) or _ENTRY_START.match(text, i):
                self.problem(last, last, f"entry `{key}` is not closed: expected '{close}'", EXPECTING_RBRACE)
                return last
            c = text[i]
            if c == close:
                return i + 1
            if c == ",":
                last = i = i + 1
                continue
            fm = _FIELD.match(text, i)
            if fm is None:
                self.problem(i, i + 1, f"unexpected '{c}' in entry `{key}`", EXPECTING_COMMA)
                return self.skip_entry(i + 1, close)
            name = fm.group()
            last = fm.end()
            j = self.ws(fm.end())
            if j >= len(text) or text[j] != "=":
                self.problem(fm.end(), fm.end(), f"expected '=' after field `{name}` in entry `{key}`",
                             EXPECTING_EQ)
                if j < len(text) and text[j] == close:
                    return j + 1
                if j >= len(text) or text[j] not in '{"':
                    i = j
                    continue
                eq_end = j  # a value follows: read it as if the '=' were there (one error, not two)
            else:
                eq_end = j + 1
            last = eq_end
            after = self.value(eq_end, name, key)
            if after is None:
                return self.skip_entry(eq_end, close)
            j = after
            if j == eq_end:
                self.problem(eq_end, eq_end, f"expected a value for field `{name}` in entry `{key}`",
                             EXPECTING_VALUE)
            last = j
            i = self.ws(j)
            if i < len(text) and text[i] not in (",", close) and not _ENTRY_START.match(text, i):
                self.problem(last, last, f"expected ',' or '{close}' after field `{name}` in entry `{key}`",
                             EXPECTING_COMMA)
                return self.skip_entry(i, close)

    def value(self, i: int, name: str, key: str) -> int | None:
        """Past a field value (parts joined by '#'); i unchanged when there is none; None after an error."""
        text = self.text
        end = i
        while True:
            j = self.ws(end)
            if j >= len(text):
                return end
            c = text[j]
            if c == "{":
                k = self.balanced(j)
                if k is None:
                    self.problem(j, j + 1, f"unbalanced braces in field `{name}` of entry `{key}`", UNBALANCED)
                    return None
            elif c == '"':
                k = self.quoted(j)
                if k is None:
                    self.problem(j, j + 1, f"unterminated quote in field `{name}` of entry `{key}`", UNBALANCED)
                    return None
            else:
                m = _NUMBER_OR_MACRO.match(text, j)
                if m is None:
                    return end
                k = m.end()
            end = k
            j = self.ws(end)
            if j < len(text) and text[j] == "#":
                end = j + 1
                continue
            return end


def scan_bib(text: str) -> BibScan:
    """Entries (file order) and problems (by position) of a .bib text."""
    return _Scanner(text).scan()
