"""Incremental text sync on a list of lines: a change costs the lines it touches, not the whole document.

A Replace All sends thousands of small changes in one didChange; applying each to one big string copies the
document each time (10k changes x 719 kB = 17 s). Here each change splices only the lines it covers (LineText).
A large .bib is kept as a rope instead (RopeText): its edits are few, its consumers read it by offsets, and a
list of its lines would cost a second copy of it and a join after each change."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple, overload

from paperlens.core.rope import CHUNK, Rope, Text

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


def plain_breaks(text: str) -> bool:
    """Lines end at '\n' only (a CR is part of a CRLF): what RopeText counts."""
    return "\r" not in text or text.count("\r") == text.count("\r\n")


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


class RopeText:
    """A large document as a rope (core/rope: chunks of ~64k characters): an edit rebuilds the chunks it touches
    and shares the others, so it costs about the edit, not the document (one string was copied whole by each
    splice: ~0.3 s for a 98 MB .bib). No list of lines either (a 100 MB .bib is a million line objects): a line's
    offset is a bisect over the chunks' line-break counts and a count inside one chunk."""

    __slots__ = ("text",)

    def __init__(self, text: str | Rope, chunk: int = CHUNK) -> None:
        self.text = text if isinstance(text, Rope) else Rope(text, chunk)

    def line_start(self, line: int) -> int | None:
        """Offset where a line (lines end at '\\n') starts; None past the last line."""
        return self.text.line_start(line)

    def offset(self, line: int, units: int, encoding: str) -> int:
        """The code-point offset of an LSP position, clamped to its line and to the end of the text."""
        text = self.text
        s = text.line_start(line)
        if s is None:
            return len(text)
        e = text.find("\n", s)
        body = text.slice(s, len(text) if e < 0 else e)
        return s + to_code_points(content(body + "\n"), units, encoding)

    def apply(self, sl: int, sc: int, el: int, ec: int, new: str, encoding: str = "utf-16") -> tuple[int, int]:
        """Replace the range with `new` (no '\\r' in it: the caller keeps CR text in a LineText); returns the
        code-point offsets (start, end) it replaced in the text before (which stays as it was: a new rope)."""
        if sl < 0 or el < 0 or (sl, sc) > (el, ec):
            raise ValueError(f"invalid range {sl}:{sc}-{el}:{ec}")
        a = self.offset(sl, sc, encoding)
        b = max(a, self.offset(el, ec, encoding))
        self.text = self.text.edit(a, b, new)
        return a, b

    def replace(self, text: str) -> None:
        self.text = Rope(text, self.text.chunk)


class RopeLines(Sequence[str]):
    """A rope's lines (split on '\\n', breaks left out: text.split("\\n")), read from the rope when asked for: an
    open large .bib needs no list of a million line strings (~160 MB at 72k entries) next to its text."""

    __slots__ = ("rope",)

    def __init__(self, rope: Rope) -> None:
        self.rope = rope

    def __len__(self) -> int:
        return self.rope.breaks[-1] + 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        n = len(self)
        r = self.rope
        if isinstance(i, slice):
            a, b, step = i.indices(n)
            if step != 1:
                return [self[k] for k in range(a, b, step)]
            if a >= b:
                return []
            s, e = r.line_start(a), r.line_start(b)
            return r.slice(s or 0, len(r) if e is None else e - 1).split("\n")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("line index out of range")
        s = r.line_start(i) or 0
        e = r.line_start(i + 1)
        return r.slice(s, len(r) if e is None else e - 1)

    def __iter__(self) -> Iterator[str]:
        rest = ""
        for c in self.rope.chunks:
            parts = c.split("\n")
            if len(parts) == 1:
                rest += c
                continue
            yield rest + parts[0]
            yield from parts[1:-1]
            rest = parts[-1]
        yield rest


class Span(NamedTuple):
    """One change as applied to a document kept as a rope: text[start:end] was replaced by `length`
    characters. The workspace re-reads only what it touched (when its copy is `before`, the text before the
    first change of a didChange; None in the others: one old copy is kept, not one per change)."""

    before: Text | None
    start: int
    end: int
    length: int


def covering(spans: Sequence[Span]) -> tuple[Text, int, int] | None:
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
