"""One open document's analysis, incremental: its lines, their citations and mentions, cached per line (a line
unchanged since the last scan costs a dictionary lookup)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, count
from operator import ne

from paperlens.analysis.cites import (
    SCANNED,
    CiteKey,
    Pending,
    ScanState,
    cites_in_line,
    has_acro,
    scan_lines,
    scan_start,
)
from paperlens.analysis.kinds import CODE, PYTHON, Span
from paperlens.analysis.mentions import (
    LONG_LINE,
    MAX_LINE_SCAN,
    WINDOW,
    MentionSpan,
    mentions_in_line,
    prose_regions,
    windows,
)
from paperlens.index.catalog import Catalog


@dataclass(slots=True)
class _Scan:
    """A document's last citation scan: its lines, the scanner's state before each line (and after the last),
    and the keys each line completes."""

    lines: Sequence[str]
    acro: bool
    states: list[ScanState]
    emitted: list[Sequence[CiteKey]]


def _first_difference(a: Sequence[str], b: Sequence[str]) -> int:
    """The first index where two lists of lines differ (the shorter one's length when one starts the other);
    compared in C, ~30 ns a line."""
    return next(compress(count(), map(ne, a, b)), min(len(a), len(b)))


@dataclass
class DocAnalysis:
    """One open document, analysed line by line (lines unchanged since the last scan keep their results)."""

    uri: str
    kind: str
    lines: Sequence[str]  # a list, or an open large .bib's RopeLines
    version: int = 0
    _mentions: dict[int, list[MentionSpan]] = field(default_factory=dict)
    _line_cache: dict[tuple[str, bool], list[MentionSpan]] = field(default_factory=dict)
    _doc_states: list[bool] | None = None
    _cites: list[CiteKey] | None = None
    _cite_cache: dict[tuple[str, bool], tuple[list[CiteKey], Pending | None]] = field(default_factory=dict)
    _cite_extra: tuple[str, ...] = ()
    _scan: _Scan | None = None  # the last scan of the citations, which the next one resumes

    @classmethod
    def from_text(cls, uri: str, kind: str, text: str, version: int = 0) -> DocAnalysis:
        return cls(uri, kind, text.split("\n"), version)

    def _docstring_states(self) -> list[bool]:
        if self._doc_states is None:
            states, st = [], False
            for line in self.lines:
                states.append(st)
                if self.kind == PYTHON and ('"""' in line or "'''" in line or st):
                    _, st = prose_regions(line, PYTHON, st)
            self._doc_states = states
        return self._doc_states

    def line_mentions(self, ln: int, catalog: Catalog) -> list[MentionSpan]:
        if ln in self._mentions:
            return self._mentions[ln]
        if ln < 0 or ln >= len(self.lines):
            return []
        line = self.lines[ln]
        if len(line) > LONG_LINE:
            # A megabyte on one line: whole-line features (diagnostics, links) see its first MAX_LINE_SCAN
            # characters, window by window; hover and completion look at the window under the cursor.
            res = []
            for a, b in windows(line, 0, MAX_LINE_SCAN):
                res.extend(self._window_mentions(ln, line, a, b, catalog))
        else:
            res = self._window_mentions(ln, line, 0, len(line), catalog)
        self._mentions[ln] = res
        return res

    def _window_mentions(self, ln: int, line: str, a: int, b: int, catalog: Catalog) -> list[MentionSpan]:
        """Mentions in line[a:b] (the whole line, or a window of a long one), cached by that text."""
        text = line if (a, b) == (0, len(line)) else line[a:b]
        code = self.kind in (PYTHON, CODE)
        st = self._docstring_states()[ln] if self.kind == PYTHON else False
        key = (text, st)
        cached = self._line_cache.get(key)
        if cached is None:
            if code and self.kind == CODE:
                prose = [(m.start() + 2, len(text)) for m in re.finditer(r"(//|/\*|--|#|%|;).*$", text)][:1]
            else:
                prose, _ = prose_regions(text, self.kind, st)
            cached = mentions_in_line(text, ln, catalog, code=code, prose=prose)
            self._line_cache[key] = cached
        return [MentionSpan(Span(ln, m.span.start + a, m.span.end + a), m.text, m.mention, m.in_code)
                for m in cached]

    def all_mentions(self, catalog: Catalog) -> list[MentionSpan]:
        out: list[MentionSpan] = []
        for ln in range(len(self.lines)):
            out.extend(self.line_mentions(ln, catalog))
        return out

    def mention_at(self, ln: int, col: int, catalog: Catalog) -> MentionSpan | None:
        if 0 <= ln < len(self.lines) and len(self.lines[ln]) > LONG_LINE and ln not in self._mentions:
            line = self.lines[ln]
            spans = [m for a, b in windows(line, max(0, col - WINDOW), col + WINDOW)
                     for m in self._window_mentions(ln, line, a, b, catalog)]
        else:
            spans = self.line_mentions(ln, catalog)
        for m in spans:
            if m.span.contains(ln, col):
                return m
        return None

    def cites(self, extra: tuple[str, ...] = ()) -> list[CiteKey]:
        """Every citation key, like `find_cites`. After an edit the scan resumes at the first changed line and
        stops where the lines and the scanner's state are those of the last scan again (typing in a line of a
        3,000-line document: that line, not the whole document again); lines seen before cost a lookup."""
        if self._cites is not None and extra == self._cite_extra:
            return self._cites
        if extra != self._cite_extra:
            self._cite_cache, self._cite_extra, self._scan = {}, extra, None
        cache = self._cite_cache
        kind = self.kind

        def per_line(line: str, acro: bool) -> tuple[list[CiteKey], Pending | None]:
            got = cache.get((line, acro))
            if got is None:
                got = cache[(line, acro)] = cites_in_line(line, kind, extra, acro)
            return got

        if kind not in SCANNED:
            self._cites, self._scan = [], None
            return self._cites
        lines, acro = self.lines, has_acro(self.lines, kind)
        old = self._scan if self._scan is not None and self._scan.acro == acro else None
        start, same_from = 0, len(lines) + 1  # lines[same_from:] are the old scan's last lines, at the same place
        if old is not None:
            start = _first_difference(old.lines, lines)
            if len(old.lines) == len(lines):
                same_from = len(lines) - _first_difference(old.lines[::-1], lines[::-1])
        states = old.states[:start] if old is not None else []
        emitted = old.emitted[:start] if old is not None else []
        state = old.states[start] if old is not None and start else scan_start(lines, kind)
        for ln, (st, got) in enumerate(scan_lines(lines, kind, extra, per_line, acro, start, state), start):
            if old is not None and ln >= same_from and st == old.states[ln]:
                states.extend(old.states[ln:])  # the same lines from the same state: the same keys
                emitted.extend(old.emitted[ln:])
                break
            states.append(st)
            if ln < len(lines):
                emitted.append(got)
        self._scan = _Scan(list(lines), acro, states, emitted)  # (a copy: callers may change a line in place)
        self._cites = list(chain.from_iterable(emitted))
        return self._cites

    def cites_on(self, line: int, extra: tuple[str, ...] = ()) -> list[CiteKey]:
        self.cites(extra)
        scan = self._scan
        if scan is None or line < 0:
            return []
        # A key is given out on its line, or on the line that closes a key list over several lines: the lines
        # after it up to the first with no key list open before it.
        end, states = line + 1, scan.states
        while end < len(states) and states[end][3] is not None:
            end += 1
        return [c for got in scan.emitted[line:end] for c in got if c.span.line == line]

    def forget_matches(self) -> None:
        """The papers changed (a new catalog, .bib entries read): every line matches names again."""
        self._line_cache.clear()
        self.invalidate()

    def invalidate(self) -> None:
        """Forget per-line positions (the text-keyed cache survives, so unchanged lines cost nothing)."""
        self._mentions = {}
        self._doc_states = None
        self._cites = None
        if len(self._cite_cache) > 4 * len(self.lines) + 1000:
            self._cite_cache = {}
        if len(self._line_cache) > 4 * len(self.lines) + 1000:
            self._line_cache = {}
