"""The one BibTeX tokenizer: .bib text to raw entries (where each entry is, its type and key), and the reading of
an entry's body, which gives its fields as written (@string macros and '#' concatenations expanded) or, for the
syntax check (bibcheck), each problem with its offsets. No LaTeX decoding here (see latex.py).

Finding the entries is one regular-expression pass over the text (a 100 MB, 72k-entry file takes well under a
second); an entry's fields are read only when asked for, so a large library costs little until it is used.
Every block's reading is local to it: from its '@' to where the next block starts (`limit`), which is what lets
an edit re-read only the entries it touches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from paperlens.core.priority import pause
from paperlens.core.rope import Text

# '@type{key,' or '@type(key,'; the '@' starts the pattern, so the scan runs at C speed. Without a '{' or '(' it
# is an opening the syntax check reports (`scan(bare=True)`), else nothing.
_OPEN_RE = re.compile(r"@[ \t]*([A-Za-z]+)[ \t]*(?:([{(])[ \t\r\n]*([^\s,{}()\"#%=]*))?")  # o'brien2020 is a key
NOT_ENTRIES = frozenset({"comment", "string", "preamble"})
_BRACES = re.compile(r"[{}]")
_QUOTE_BRACES = re.compile(r'[{}"]')
_SKIP = re.compile(r"[{})]")
_NAME = re.compile(r"[^\s=,{}()\"#%']+")  # a field name
_WORD = re.compile(r"[^\s=,{}()\"#%'@]+")  # in a value: a macro name or a number
_SPACE = re.compile(r"\s*")
MONTHS = {m[:3].lower(): m for m in ("January", "February", "March", "April", "May", "June", "July", "August",
                                      "September", "October", "November", "December")}

# What a problem is (the diagnostic codes, as texlab names them).
EXPECTING_LBRACE, EXPECTING_KEY, EXPECTING_RBRACE = "expecting-lbrace", "expecting-key", "expecting-rbrace"
EXPECTING_EQ, EXPECTING_VALUE, EXPECTING_COMMA = "expecting-eq", "expecting-value", "expecting-comma"
UNBALANCED = "unbalanced-braces"

# Where a problem is told: (start offset, end offset, message, code). It may raise (reading fields: the first
# problem makes the entry unreadable) or note it and return (the syntax check: reading goes on past it).
Report = Callable[[int, int, str, str], None]


class BadEntry(Exception):
    """An entry whose fields cannot be read; the message says why."""


@dataclass(slots=True)
class RawEntry:
    kind: str  # lower-cased: "article", "string", ...
    key: str  # as written; "" for @string/@preamble/@comment
    start: int  # offset of the '@'
    body: int  # offset just after the key (fields follow); after the type when there is no delimiter
    end: int  # offset just past the closing delimiter, or the end of its text when unterminated
    closer: str  # "}" or ")"; "" for an '@type' without '{' or '(' (only from scan(bare=True))


def line_start(text: Text, s: int) -> int:
    nl = text.rfind("\n", 0, s)
    cr = text.rfind("\r", nl + 1, s)  # bounded: a file without any CR must not be searched whole each time
    return max(nl, cr) + 1


SCAN_WINDOW = 1 << 20  # characters of a rope scanned at a time


def _cut(text: Text, at: int, stop: int) -> int:
    """The first offset from `at` where an entry ('@type{' or '@type(') opens a line, else stop."""
    while True:
        q = text.find("\n@", at, stop)
        if q < 0:
            return stop
        m = _OPEN_RE.match(text[q + 1:min(q + 200, stop)])
        if m is not None and m.group(2) is not None:
            return q + 1
        at = q + 2


def scan(text: Text, start: int = 0, stop: int | None = None, *, bare: bool = False) -> list[RawEntry]:
    """Every block (entries, @string, @preamble, @comment) in text[start:stop], in order. With `bare`, also each
    '@type' that has no '{' or '(' after it (closer ""): BibTeX rejects those outside an entry."""
    stop = len(text) if stop is None else stop
    if not isinstance(text, str):
        # A rope: a window at a time, each from its first line's start (what the scan looks back at), cut where
        # an entry opens a line (the entry before ends there anyway): the same blocks as one scan of the whole,
        # without a string of the whole (a 98 MB file joined in one C call: ~90 ms with the GIL held).
        whole: list[RawEntry] = []
        a = start
        while a < stop:
            b = _cut(text, a + SCAN_WINDOW, stop) if stop - a > SCAN_WINDOW else stop
            base = line_start(text, a)
            got = scan(text.slice(base, b), a - base, b - base, bare=bare)
            for e in got:
                e.start, e.body, e.end = e.start + base, e.body + base, e.end + base
            whole += got
            a = b
        return whole
    opens: list[tuple[re.Match[str], bool]] = []  # (match, at the start of its line)
    strays: list[re.Match[str]] = []
    for m in _OPEN_RE.finditer(text, start, stop):
        if not len(opens) & 255:
            pause()  # (a large file is scanned by a loader's thread: a request in flight goes first)
        s = m.start()
        if s > 0 and (text[s - 1].isalnum() or text[s - 1] in "_.@"):
            continue  # an e-mail address or a word
        delimited = m.group(2) is not None
        if not delimited and not (bare and m.end(1) == s + 1 + len(m.group(1))
                                  and not (text[m.end(1):m.end(1) + 1] or " ").isalnum()
                                  and text[m.end(1):m.end(1) + 1] not in ("_", "-")):
            continue  # '@ word', '@type_name{': not an opening
        before = text[line_start(text, s):s]
        if before.lstrip().startswith("%"):
            continue  # a commented-out entry
        if delimited:
            opens.append((m, not before.strip()))
        else:
            strays.append(m)
    out: list[RawEntry] = []
    n = len(opens)
    k = 0
    while k < n:
        if not k & 255:
            pause()
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
    if strays:  # in order among the blocks (the check tells those inside an entry's text from the rest)
        out.extend(RawEntry(m.group(1).lower(), "", m.start(), m.end(1), m.end(1), "") for m in strays)
        out.sort(key=lambda b: b.start)
    return out


def limits(blocks: list[RawEntry], stop: int) -> list[int]:
    """Where each block's text ends: where the next block with a delimiter starts, else `stop`."""
    out = [stop] * len(blocks)
    nxt = stop
    for i in range(len(blocks) - 1, -1, -1):
        out[i] = nxt
        if blocks[i].closer:
            nxt = blocks[i].start
    return out


def _close_brace(text: str, pos: int, end: int) -> int:
    """Offset of the '}' matching the '{' at pos; -1 when it is not closed before end."""
    depth = 0
    for m in _BRACES.finditer(text, pos, end):
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


def _close_quote(text: str, pos: int, end: int) -> int:
    """Offset of the '"' closing the one at pos (braces inside are skipped); -1 when there is none before end."""
    depth = 0
    for m in _QUOTE_BRACES.finditer(text, pos + 1, end):
        c = m.group()
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0:
            return m.start()
    return -1


def _skip(text: str, pos: int, end: int, closer: str) -> int:
    """Recovery after a problem: past the entry's closing delimiter (at brace depth 0), else to end."""
    depth = 0
    for m in _SKIP.finditer(text, pos, end):
        c = m.group()
        if c == "{":
            depth += 1
        elif depth == 0 and (c == "}" or closer == ")"):
            return m.end()
        elif c == "}":
            depth -= 1
    return end


def _value(text: str, pos: int, end: int, macros: dict[str, str] | None, report: Report, name: str,
           what: str) -> tuple[str, int]:
    """A field's value (its parts joined by '#') from pos: (the value, offset past it). The offset is pos when
    there is no value, -1 after braces or a quote that do not close (reported). The value is built only when
    `macros` is given."""
    parts: list[str] = []
    after = pos
    while True:
        j = _SPACE.match(text, after, end).end()  # type: ignore[union-attr]
        if j >= end:
            break
        c = text[j]
        if c == "{":
            k = _close_brace(text, j, end)
            if k < 0:
                report(j, j + 1, f"unbalanced braces in field `{name}` of entry `{what}`", UNBALANCED)
                return "", -1
        elif c == '"':
            k = _close_quote(text, j, end)
            if k < 0:
                report(j, j + 1, f"unterminated quote in field `{name}` of entry `{what}`", UNBALANCED)
                return "", -1
        else:
            m = _WORD.match(text, j, end)
            if m is None:
                break
            if macros is not None:
                word = m.group()
                if word.isdigit() or (word[0] == "-" and word[1:].isdigit()):
                    parts.append(word)
                else:
                    low = word.lower()
                    parts.append(macros.get(low, MONTHS.get(low, "")))
            after = m.end()
            k = -1
        if k >= 0:
            if macros is not None:
                parts.append(text[j + 1:k])
            after = k + 1
        j = _SPACE.match(text, after, end).end()  # type: ignore[union-attr]
        if j < end and text[j] == "#":
            after = j + 1
            continue
        break
    return "".join(parts), after


def read_fields(text: str, pos: int, end: int, closer: str, what: str, report: Report,
                macros: dict[str, str] | None = None, after_key: bool = False) -> tuple[dict[str, str], int]:
    """The fields of a block's body, from pos (just after the key when `after_key`, else just after the opening
    delimiter) to its closing delimiter, not beyond `end`: (fields, names lower-cased, first occurrence wins,
    values with macros expanded when `macros` is given; the offset where the block ends). Each problem goes
    to `report`; `what` names the entry in its messages."""
    space = _SPACE.match
    out: dict[str, str] = {}
    if after_key:
        j = space(text, pos, end).end()  # type: ignore[union-attr]
        if j < end and text[j] == closer:
            return out, j + 1
        if j >= end:
            report(pos, pos, f"entry `{what}` is not closed: expected '{closer}'", EXPECTING_RBRACE)
            return out, pos
        if text[j] != ",":
            report(pos, pos, f"expected ',' after the key `{what}`", EXPECTING_COMMA)
            return out, _skip(text, j, end, closer)
        pos = j + 1
    last = pos  # the end of the last thing read: where a missing delimiter is reported
    while True:
        i = space(text, pos, end).end()  # type: ignore[union-attr]
        if i >= end:
            report(last, last, f"entry `{what}` is not closed: expected '{closer}'", EXPECTING_RBRACE)
            return out, last
        c = text[i]
        if c == closer:
            return out, i + 1
        if c == ",":
            last = pos = i + 1
            continue
        fm = _NAME.match(text, i, end)
        if fm is None:
            report(i, i + 1, f"unexpected '{c}' in entry `{what}`", EXPECTING_COMMA)
            return out, _skip(text, i + 1, end, closer)
        name = fm.group()
        last = fm.end()
        j = space(text, last, end).end()  # type: ignore[union-attr]
        if j >= end or text[j] != "=":
            report(last, last, f"expected '=' after field `{name}` in entry `{what}`", EXPECTING_EQ)
            if j < end and text[j] == closer:
                return out, j + 1
            if j >= end or text[j] not in '{"':
                pos = j
                continue
            eq_end = j  # a value follows: read it as if the '=' were there (one error, not two)
        else:
            eq_end = j + 1
        value, after = _value(text, eq_end, end, macros, report, name, what)
        if after < 0:
            return out, _skip(text, eq_end, end, closer)
        if after == eq_end:
            report(eq_end, eq_end, f"expected a value for field `{name}` in entry `{what}`", EXPECTING_VALUE)
        elif macros is not None:
            out.setdefault(name.lower(), value)
        last = after
        i = space(text, after, end).end()  # type: ignore[union-attr]
        if i < end and text[i] != "," and text[i] != closer:
            report(last, last, f"expected ',' or '{closer}' after field `{name}` in entry `{what}`",
                   EXPECTING_COMMA)
            return out, _skip(text, i, end, closer)
        pos = i


def check_block(text: str, b: RawEntry, limit: int, report: Report) -> int:
    """Read a block the way BibTeX does, up to `limit` (where the next block starts), reporting every problem;
    returns the offset where the block ends."""
    if not b.closer:
        if b.kind != "comment":
            report(b.body, b.body, f"expected '{{' after {text[b.start:b.body]}", EXPECTING_LBRACE)
        return b.body
    if b.kind == "comment":
        return b.end
    if b.kind == "preamble":
        k = _close_brace(text, b.body - 1, limit) if b.closer == "}" else text.find(")", b.body, limit)
        if k < 0:
            report(b.body, b.body, f"@preamble is not closed: expected '{b.closer}'", EXPECTING_RBRACE)
            return b.body
        return k + 1
    if b.kind != "string" and not b.key:
        report(b.body, b.body, f"expected a citation key after '{text[b.start:b.body].rstrip()}'",
               EXPECTING_KEY)
        return _skip(text, b.body, limit, b.closer)
    return read_fields(text, b.body, limit, b.closer, b.key or "@string", report, None, bool(b.key))[1]


def _raise(a: int, b: int, message: str, code: str) -> None:
    raise BadEntry(message)


def fields(text: Text, e: RawEntry, macros: dict[str, str]) -> dict[str, str]:
    """The entry's fields (names lower-cased, first occurrence wins), values as written with macros expanded.
    BadEntry (the first problem) when they cannot be read."""
    if not isinstance(text, str):  # a rope: the entry's own text
        return read_fields(text.slice(e.body, e.end), 0, e.end - e.body, e.closer, e.key or "@" + e.kind, _raise,
                           macros, bool(e.key))[0]
    return read_fields(text, e.body, e.end, e.closer, e.key or "@" + e.kind, _raise, macros, bool(e.key))[0]


def string_macro(text: Text, e: RawEntry, macros: dict[str, str]) -> tuple[str, str] | None:
    """(name, value) of an @string block, its value expanded with the macros defined before it."""
    try:
        fs = fields(text, e, macros)
    except BadEntry:
        return None
    return next(iter(fs.items()), None)
