"""A large text as a list of chunks (a rope, one level deep): an edit rebuilds the chunks it touches and shares the
rest with the text before, so it costs about the edit, not the file.

A 98 MB .bib kept as one Python string is copied whole by each splice (~0.3 s), and a few non-Latin-1 characters
make CPython store all of it at 2 bytes a character; in chunks of ~64k characters only the chunks holding such
characters are wide, and an edit copies one or two chunks. Readers take what they need by offsets: `slice(a, b)`
joins only the chunks in range, `count`/`find`/`rfind` work chunk by chunk at C speed. A Rope is immutable (an
edit returns a new one), so the text before an edit stays readable as long as someone holds it.
"""

from __future__ import annotations

import bisect
import builtins
import re
from collections.abc import Iterator
from itertools import accumulate

CHUNK = 1 << 16  # characters a chunk holds (at most twice this after an edit, at least a quarter before merging)
_NL = re.compile("\n")


class Rope:
    """An immutable text in chunks, with each chunk's start offset and the line breaks ('\\n') before it."""

    __slots__ = ("chunks", "starts", "breaks", "chunk", "_nl")

    def __init__(self, text: str = "", chunk: int = CHUNK) -> None:
        self.chunk = chunk
        pieces = [text[i:i + chunk] for i in range(0, len(text), chunk)] or [""]
        self._set(pieces)

    def _set(self, pieces: list[str]) -> None:
        self._nl: dict[int, list[int]] = {}  # chunk -> where its lines start (after each '\n'), when asked for
        self.chunks = pieces
        self.starts = [0, *accumulate(map(len, pieces))]  # starts[i]: offset of chunk i; starts[-1]: the length
        self.breaks = [0, *accumulate(c.count("\n") for c in pieces)]  # '\n' before chunk i

    @classmethod
    def of_chunks(cls, pieces: list[str], chunk: int = CHUNK) -> Rope:
        """A rope of these pieces as they are (each at most ~2 * chunk characters): a text decoded block by block
        becomes a rope without ever being one string."""
        r = cls.__new__(cls)
        r.chunk = chunk
        r._set([p for p in pieces if p] or [""])
        return r

    @classmethod
    def _of(cls, pieces: list[str], starts: list[int], breaks: list[int], chunk: int) -> Rope:
        r = cls.__new__(cls)
        r.chunks, r.starts, r.breaks, r.chunk, r._nl = pieces, starts, breaks, chunk, {}
        return r

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return self.starts[-1]

    def __str__(self) -> str:
        return "".join(self.chunks)

    def __repr__(self) -> str:
        return f"Rope({len(self)} chars in {len(self.chunks)} chunks)"

    def _at(self, offset: int) -> int:
        """The chunk holding an offset (the last one for the end)."""
        return min(bisect.bisect_right(self.starts, offset) - 1, len(self.chunks) - 1)

    def _bounds(self, a: int | None, b: int | None) -> tuple[int, int]:
        n = len(self)
        a = 0 if a is None else (max(n + a, 0) if a < 0 else min(a, n))
        b = n if b is None else (max(n + b, 0) if b < 0 else min(b, n))
        return a, b

    def slice(self, a: int, b: int) -> str:
        """text[a:b] (0 <= a, b), joining only the chunks in range."""
        a, b = self._bounds(a, b)
        if a >= b:
            return ""
        i, j = self._at(a), self._at(b - 1)
        s = self.starts
        if i == j:
            return self.chunks[i][a - s[i]:b - s[i]]
        return "".join((self.chunks[i][a - s[i]:], *self.chunks[i + 1:j], self.chunks[j][:b - s[j]]))

    def __getitem__(self, k: int | builtins.slice) -> str:
        if isinstance(k, builtins.slice):
            if k.step not in (None, 1):
                return str(self)[k]
            a, b = self._bounds(k.start, k.stop)
            return self.slice(a, b)
        n = len(self)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("Rope index out of range")
        i = self._at(k)
        return self.chunks[i][k - self.starts[i]]

    def __iter__(self) -> Iterator[str]:
        for c in self.chunks:
            yield from c

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rope):
            if len(other) != len(self):
                return False
            if other.starts == self.starts:
                return all(x is y or x == y for x, y in zip(self.chunks, other.chunks, strict=True))
            return self._same_as(other)
        if not isinstance(other, str):
            return NotImplemented
        if len(other) != len(self):
            return False
        return all(other[s:s + len(c)] == c for s, c in zip(self.starts, self.chunks, strict=False))

    def _same_as(self, other: Rope) -> bool:
        """Equal text, chunked differently: compared piece by piece (never joined: 196 MB for a 98 MB .bib)."""
        i = j = oi = oj = 0
        mine, theirs = self.chunks, other.chunks
        while i < len(mine) and j < len(theirs):
            x, y = mine[i], theirs[j]
            take = min(len(x) - oi, len(y) - oj)
            if x[oi:oi + take] != y[oj:oj + take]:
                return False
            oi, oj = oi + take, oj + take
            if oi == len(x):
                i, oi = i + 1, 0
            if oj == len(y):
                j, oj = j + 1, 0
        return True

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, sub: str) -> bool:
        return self.find(sub) >= 0

    def split(self, sep: str | None = None) -> list[str]:
        return str(self).split(sep)

    def count(self, sub: str, a: int | None = None, b: int | None = None) -> int:
        """str.count over text[a:b], chunk by chunk (a '\\n' count over whole chunks is read from the index).
        `sub` must not overlap itself ("\\r\\n" does not): a match across chunks is counted apart."""
        a, b = self._bounds(a, b)
        if not sub:
            return str(self).count(sub, a, b)
        if a >= b:
            return 0
        i, j = self._at(a), self._at(b - 1)
        s, ch = self.starts, self.chunks
        if i == j:
            return ch[i].count(sub, a - s[i], b - s[i])
        k = len(sub) - 1
        if sub == "\n":
            inner = self.breaks[j] - self.breaks[i + 1]
        else:
            inner = sum(c.count(sub) for c in ch[i + 1:j])
        n = ch[i].count(sub, a - s[i]) + inner + ch[j].count(sub, 0, b - s[j])
        if k:  # occurrences across a chunk boundary
            for m in range(i + 1, j + 1):
                lo = max(s[m] - k, a)
                n += self.slice(lo, min(s[m] + k, b)).count(sub)
        return n

    def find(self, sub: str, a: int | None = None, b: int | None = None) -> int:
        """str.find over text[a:b], chunk by chunk."""
        a, b = self._bounds(a, b)
        k = len(sub) - 1
        if a + k >= b:
            return a if not sub and a <= b else -1
        s, ch = self.starts, self.chunks
        for i in range(self._at(a), len(ch)):
            if s[i] >= b:
                break
            lo = max(a, s[i])
            hi = min(b, s[i + 1] + k)  # a match may run into the next chunk
            piece = ch[i][lo - s[i]:] if hi <= s[i + 1] else ch[i][lo - s[i]:] + self.slice(s[i + 1], hi)
            p = piece.find(sub, 0, hi - lo)
            if p >= 0:
                return lo + p
        return -1

    def rfind(self, sub: str, a: int | None = None, b: int | None = None) -> int:
        """str.rfind over text[a:b], chunk by chunk from the end."""
        a, b = self._bounds(a, b)
        k = len(sub) - 1
        if a + k >= b:
            return b if not sub and a <= b else -1
        s = self.starts
        for i in range(self._at(b - 1), -1, -1):
            if s[i + 1] + k <= a:
                break
            lo = max(a, s[i])
            hi = min(b, s[i + 1] + k)
            piece = self.slice(lo, hi)
            p = piece.rfind(sub)
            if p >= 0:
                return lo + p
        return -1

    def line_start(self, line: int) -> int | None:
        """Offset where a line (lines end at '\\n') starts; None past the last line."""
        if line <= 0:
            return 0
        br = self.breaks
        if line > br[-1]:
            return None
        i = bisect.bisect_left(br, line) - 1  # chunk i holds the line-th '\n'
        nl = self._nl.get(i)
        if nl is None:
            nl = self._nl[i] = [m.end() for m in _NL.finditer(self.chunks[i])]
        return self.starts[i] + nl[line - br[i] - 1]

    # ------------------------------------------------------------------ editing

    def edit(self, a: int, b: int, new: str) -> Rope:
        """The text with [a:b] replaced by `new`: the chunks it touches are rebuilt (split when long, merged with
        a neighbour when short); the others are shared with this one."""
        a, b = self._bounds(a, b)
        b = max(a, b)
        ch, s = self.chunks, self.starts
        i, j = self._at(a), self._at(b)
        mid = ch[i][:a - s[i]] + new + ch[j][b - s[j]:]
        lo, hi = i, j + 1
        size = self.chunk
        if len(mid) < size // 4 and len(ch) > 1:  # a short piece goes with a neighbour
            if hi < len(ch):
                mid, hi = mid + ch[hi], hi + 1
            elif lo > 0:
                mid, lo = ch[lo - 1] + mid, lo - 1
        if len(mid) > 2 * size:
            n = -(-len(mid) // size)
            step = -(-len(mid) // n)
            pieces = [mid[x:x + step] for x in range(0, len(mid), step)]
        else:
            pieces = [mid] if mid or len(ch) == hi - lo else []
        chunks = ch[:lo] + pieces + ch[hi:]
        delta = len(new) - (b - a)
        starts = s[:lo + 1]
        base = starts[-1]
        starts.extend(base + x for x in accumulate(map(len, pieces)))
        starts.extend(x + delta for x in s[hi + 1:])
        br = self.breaks
        shift = sum(c.count("\n") for c in pieces) - (br[hi] - br[lo])
        breaks = br[:lo + 1]
        base = breaks[-1]
        breaks.extend(base + x for x in accumulate(c.count("\n") for c in pieces))
        breaks.extend(x + shift for x in br[hi + 1:])
        return Rope._of(chunks, starts, breaks, self.chunk)


Text = str | Rope  # what the .bib readers take: a string, or an open large .bib's rope


def window(text: Text, a: int, b: int) -> tuple[str, int]:
    """(s, base) with s[i - base] == text[i] for a <= i < b: the string itself, or the rope's slice [a, b) (what
    regular expressions, which need one string, read)."""
    if isinstance(text, str):
        return text, 0
    return text.slice(a, b), a


def as_str(text: Text) -> str:
    return text if isinstance(text, str) else str(text)
