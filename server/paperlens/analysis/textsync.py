"""Incremental text sync on a list of lines: a change costs the lines it touches, not the whole document.

A Replace All sends thousands of small changes in one didChange; applying each to one big string copies the
document each time (10k changes x 719 kB = 17 s). Here each change splices only the lines it covers (LineText).
A large .bib is kept as one string instead (OffsetText): its edits are few, its consumers read it by offsets,
and a list of its lines would cost a second copy of it and a join after each change."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import NamedTuple

_BREAK = re.compile(r"\r\n|\r|\n")  # the LSP's line breaks (not Python's splitlines, which knows a dozen more)


_OTHER_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines also splits on


def split_lines(text: str) -> list[str]:
    """Lines with their line breaks kept; the last one has none (and is "" when the text ends with a break)."""
    if not any(c in text for c in _OTHER_BREAKS):  # the usual text: str.splitlines does it at C speed
        fast = text.splitlines(keepends=True)
        if not fast or fast[-1].endswith(("\n", "\r")):
            fast.append("")
        return fast
    out: list[str] = []
    pos = 0
    for m in _BREAK.finditer(text):
        out.append(text[pos : m.end()])
        pos = m.end()
    out.append(text[pos:])
    return out


def content(line: str) -> str:
    """A line without its line break."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def to_code_points(line: str, units: int, encoding: str) -> int:
    """A character offset in the client's units (utf-16, utf-8 or utf-32) -> code points, clamped to the line."""
    if units <= 0:
        return 0
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    seen = 0
    for i, c in enumerate(line):
        if seen >= units:
            return i
        o = ord(c)
        if encoding == "utf-8":
            seen += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
        else:
            seen += 2 if o > 0xFFFF else 1
    return len(line)


class LineText:
    """A document as a list of lines (breaks kept), changed in place by LSP range edits."""

    __slots__ = ("lines", "_text")

    def __init__(self, text: str) -> None:
        self.lines = split_lines(text)
        self._text: str | None = text

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.lines)
        return self._text

    def replace(self, text: str) -> None:
        self.lines = split_lines(text)
        self._text = text

    def apply(self, sl: int, sc: int, el: int, ec: int, new: str, encoding: str = "utf-16") -> None:
        """Replace the range (line, character in client units) with `new`. Out-of-range positions are clamped
        to the document's end, as the LSP says."""
        lines = self.lines
        last = len(lines) - 1
        if sl < 0 or el < 0 or (sl, sc) > (el, ec):
            raise ValueError(f"invalid range {sl}:{sc}-{el}:{ec}")
        if sl > last:
            sl, sc = last, 1 << 62
        if el > last:
            el, ec = last, 1 << 62
        line = lines[sl]
        body = content(line)
        a = to_code_points(body, sc, encoding)
        if sl == el and "\n" not in new and "\r" not in new:
            # The common case (typing, Replace All): one line changes, its break stays.
            b = max(a, to_code_points(body, ec, encoding))
            changed = line[:a] + new + line[b:]
            # Unless the line now starts with '\n' after a line ending in '\r': the two become one break.
            if not (changed.startswith("\n") and sl > 0 and lines[sl - 1].endswith("\r")):
                lines[sl] = changed
                self._text = None
                return
        b = to_code_points(content(lines[el]), ec, encoding)
        # Re-split one line more on each side: an edit can join '\r' and '\n' across the old boundaries.
        lo, hi = max(0, sl - 1), min(last, el + 1)
        head = "".join(lines[lo:sl]) + lines[sl][:a]
        tail = lines[el][b:] + "".join(lines[el + 1 : hi + 1])
        region = split_lines(head + new + tail)
        if hi < last:  # the region ends with lines[hi]'s break: the "" after it is where line hi + 1 starts
            region.pop()
        lines[lo : hi + 1] = region
        self._text = None


class OffsetText:
    """A large document as one string, changed by splicing it: no list of lines (a 100 MB .bib is a million line
    objects, ~200 MB more) and no join after each change. A line's offset is found from a sparse index of line
    starts, kept through edits, and from there at C speed (str.count, str.find)."""

    __slots__ = ("text", "_lines", "_offsets", "chunk")

    def __init__(self, text: str, chunk: int = 1 << 16) -> None:
        self.text = text
        self.chunk = chunk  # characters whose line breaks are counted at once when looking for a line
        self._lines = [0]  # sparse: line numbers, ascending, with the offset where each starts
        self._offsets = [0]

    def _note(self, line: int, offset: int) -> None:
        i = bisect.bisect_left(self._lines, line)
        if i == len(self._lines) or self._lines[i] != line:
            self._lines.insert(i, line)
            self._offsets.insert(i, offset)

    def line_start(self, line: int) -> int | None:
        """Offset where a line (lines end at '\\n') starts; None past the last line."""
        j = bisect.bisect_right(self._lines, line) - 1
        at, o = self._lines[j], self._offsets[j]
        text, n = self.text, len(self.text)
        while at < line:
            end = min(o + self.chunk, n)
            c = text.count("\n", o, end)
            if c < line - at and end < n:  # the line starts past this chunk: skip it
                if c:
                    o = text.rfind("\n", o, end) + 1
                    at += c
                else:  # inside a long line: to its end
                    p = text.find("\n", end)
                    if p < 0:
                        return None
                    o, at = p + 1, at + 1
                self._note(at, o)
                continue
            while at < line:
                p = text.find("\n", o)
                if p < 0:
                    return None
                o, at = p + 1, at + 1
            self._note(at, o)
        return o

    def offset(self, line: int, units: int, encoding: str) -> int:
        """The code-point offset of an LSP position, clamped to its line and to the end of the text."""
        s = self.line_start(line)
        if s is None:
            return len(self.text)
        e = self.text.find("\n", s)
        body = self.text[s:len(self.text) if e < 0 else e]
        return s + to_code_points(content(body + "\n"), units, encoding)

    def apply(self, sl: int, sc: int, el: int, ec: int, new: str, encoding: str = "utf-16") -> tuple[int, int]:
        """Replace the range with `new` (no '\\r' in it: the caller keeps CR text in a LineText); returns the
        code-point offsets (start, end) it replaced in the text before."""
        if sl < 0 or el < 0 or (sl, sc) > (el, ec):
            raise ValueError(f"invalid range {sl}:{sc}-{el}:{ec}")
        a = self.offset(sl, sc, encoding)
        b = max(a, self.offset(el, ec, encoding))
        old = self.text
        gone_lines = old.count("\n", a, b)
        self.text = "".join((old[:a], new, old[b:]))
        # The index: starts inside the range go, those after it move.
        first = sl + 1
        dl, delta = new.count("\n") - gone_lines, len(new) - (b - a)
        keep = bisect.bisect_left(self._lines, first)
        last_old = sl + gone_lines
        lines, offsets = self._lines[:keep], self._offsets[:keep]
        for ln, off in zip(self._lines[keep:], self._offsets[keep:], strict=True):
            if ln > last_old:
                lines.append(ln + dl)
                offsets.append(off + delta)
        self._lines, self._offsets = lines, offsets
        return a, b

    def replace(self, text: str) -> None:
        self.text = text
        self._lines, self._offsets = [0], [0]


class Span(NamedTuple):
    """One change as applied to a document kept as one string: text[start:end] was replaced by `length`
    characters. The workspace re-reads only what it touched (when its copy is `before`, the text before the
    first change of a didChange; None in the others: one old copy is kept, not one per change)."""

    before: str | None
    start: int
    end: int
    length: int


def covering(spans: Sequence[Span]) -> tuple[str, int, int] | None:
    """One span covering changes applied in order: (the text before the first, start, end in it)."""
    if not spans or spans[0].before is None:
        return None
    lo, hi_old, hi_new = spans[0].start, spans[0].end, spans[0].start + spans[0].length
    for s in spans[1:]:
        if s.end > hi_new:
            hi_old, hi_new = s.end - (hi_new - hi_old), s.end
        lo = min(lo, s.start)
        hi_new += s.length - (s.end - s.start)
    return spans[0].before, lo, hi_old
