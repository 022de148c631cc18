""".bib text to raw entries: where each entry is, its type and key, and (on demand) its fields as written,
with @string macros and '#' concatenations expanded. No LaTeX decoding here (see latex.py).

Finding the entries is one regular-expression pass over the text (a 100 MB, 72k-entry file takes well under a
second); an entry's fields are read only when asked for, so a large library costs little until it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# '@type{key,' or '@type(key,'; the '@' starts the pattern, so the scan runs at C speed.
_OPEN_RE = re.compile(r"@[ \t]*([A-Za-z]+)[ \t]*([{(])[ \t\r\n]*([^\s,{}()\"#%=]*)")  # o'brien2020 is a key
NOT_ENTRIES = frozenset({"comment", "string", "preamble"})
_BRACES = re.compile(r"[{}]")
_QUOTE_BRACES = re.compile(r'[{}"]')
_FIELD_NAME = re.compile(r"\s*([^\s=,{}()\"#%']+)\s*=\s*")
_NUMBER = re.compile(r"-?\d+")
_MACRO = re.compile(r"[^\s=,{}()\"#%']+")
_SPACE = re.compile(r"\s*")
MONTHS = {m[:3].lower(): m for m in ("January", "February", "March", "April", "May", "June", "July", "August",
                                      "September", "October", "November", "December")}


class BadEntry(Exception):
    """An entry whose fields cannot be read; the message says why."""


@dataclass(slots=True)
class RawEntry:
    kind: str  # lower-cased: "article", "string", ...
    key: str  # as written; "" for @string/@preamble/@comment
    start: int  # offset of the '@'
    body: int  # offset just after the key (fields follow)
    end: int  # offset just past the closing delimiter, or the end of its text when unterminated
    closer: str  # "}" or ")"


def line_start(text: str, s: int) -> int:
    nl = text.rfind("\n", 0, s)
    cr = text.rfind("\r", nl + 1, s)  # bounded: a file without any CR must not be searched whole each time
    return max(nl, cr) + 1


def scan(text: str, start: int = 0, stop: int | None = None) -> list[RawEntry]:
    """Every block (entries, @string, @preamble, @comment) in text[start:stop], in order."""
    stop = len(text) if stop is None else stop
    opens: list[tuple[re.Match[str], bool]] = []  # (match, at the start of its line)
    for m in _OPEN_RE.finditer(text, start, stop):
        s = m.start()
        if s > 0 and (text[s - 1].isalnum() or text[s - 1] in "_.@"):
            continue  # an e-mail address or a word
        before = text[line_start(text, s):s]
        if before.lstrip().startswith("%"):
            continue  # a commented-out entry
        opens.append((m, not before.strip()))
    out: list[RawEntry] = []
    n = len(opens)
    k = 0
    while k < n:
        m = opens[k][0]
        a = m.start()
        closer = "}" if m.group(2) == "{" else ")"
        # The entry runs to the next opening that is not inside it: one at the start of a line begins a new
        # entry (even after an unterminated one); one mid-line while braces are still open ('see @misc{x' in
        # an abstract) is inside. (str.count with bounds: no copies of a large text.)
        j = k + 1
        while j < n and not opens[j][1]:
            b = opens[j][0].start()
            if text.count("{", a, b) <= text.count("}", a, b):
                break
            j += 1
        limit = opens[j][0].start() if j < n else stop
        last = text.rfind(closer, m.end(2), limit)
        if last >= 0:
            end = last + 1
        else:  # unterminated: it runs to the end of its text
            end = limit
            while end > m.end() and text[end - 1].isspace():
                end -= 1
        kind = m.group(1).lower()
        key = "" if kind in NOT_ENTRIES else m.group(3)
        out.append(RawEntry(kind, key, a, m.end(3) if key else m.end(2), end, closer))
        k = j
    return out


def _close_brace(text: str, pos: int, end: int) -> int:
    """Offset of the '}' matching the '{' at pos."""
    depth = 0
    for m in _BRACES.finditer(text, pos, end):
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    raise BadEntry("a '{' is never closed")


def _close_quote(text: str, pos: int, end: int) -> int:
    depth = 0
    for m in _QUOTE_BRACES.finditer(text, pos + 1, end):
        c = m.group()
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0:
            return m.start()
    raise BadEntry("a '\"' is never closed")


def _value(text: str, pos: int, end: int, macros: dict[str, str]) -> tuple[str, int]:
    parts: list[str] = []
    while True:
        pos = _SPACE.match(text, pos, end).end()  # type: ignore[union-attr]
        if pos >= end:
            raise BadEntry("a field has no value")
        c = text[pos]
        if c == "{":
            close = _close_brace(text, pos, end)
            parts.append(text[pos + 1:close])
            pos = close + 1
        elif c == '"':
            close = _close_quote(text, pos, end)
            parts.append(text[pos + 1:close])
            pos = close + 1
        elif c.isdigit() or c == "-":
            mn = _NUMBER.match(text, pos, end)
            if mn is None:
                raise BadEntry(f"unexpected {c!r}")
            parts.append(mn.group())
            pos = mn.end()
        else:
            mm = _MACRO.match(text, pos, end)
            if mm is None:
                raise BadEntry(f"unexpected {c!r}")
            name = mm.group().lower()
            parts.append(macros.get(name, MONTHS.get(name, "")))
            pos = mm.end()
        pos = _SPACE.match(text, pos, end).end()  # type: ignore[union-attr]
        if pos < end and text[pos] == "#":
            pos += 1
            continue
        return "".join(parts), pos


def fields(text: str, e: RawEntry, macros: dict[str, str]) -> dict[str, str]:
    """The entry's fields (names lower-cased, first occurrence wins), values as written with macros expanded.
    BadEntry when they cannot be read."""
    end = e.end - 1 if text[e.end - 1:e.end] == e.closer else e.end
    pos = e.body
    out: dict[str, str] = {}
    while True:
        pos = _SPACE.match(text, pos, end).end()  # type: ignore[union-attr]
        if pos < end and text[pos] == ",":
            pos += 1
            pos = _SPACE.match(text, pos, end).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        m = _FIELD_NAME.match(text, pos, end)
        if m is None:
            snippet = " ".join(text[pos:pos + 20].split())
            raise BadEntry(f"expected 'name = value' at {snippet!r}")
        value, pos = _value(text, m.end(), end, macros)
        out.setdefault(m.group(1).lower(), value)
        pos = _SPACE.match(text, pos, end).end()  # type: ignore[union-attr]
        if pos < end and text[pos] not in ",":
            snippet = " ".join(text[pos:pos + 20].split())
            raise BadEntry(f"expected ',' or the end of the entry at {snippet!r}")
    if e.end == end and e.kind not in NOT_ENTRIES:
        raise BadEntry(f"the entry is never closed (no '{e.closer}')")
    return out


def string_macro(text: str, e: RawEntry, macros: dict[str, str]) -> tuple[str, str] | None:
    """(name, value) of an @string block, its value expanded with the macros defined before it."""
    try:
        fs = fields(text, e, macros)
    except BadEntry:
        return None
    return next(iter(fs.items()), None)
