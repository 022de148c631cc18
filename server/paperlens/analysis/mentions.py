"""Method mentions: the paper names a line mentions (prose, and in code its comments, docstrings and identifiers),
matched against the catalog; long lines in windows."""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass

from paperlens.analysis.kinds import PYTHON, Span
from paperlens.core.text import norm_name
from paperlens.index.aliases import CODE_STOP
from paperlens.index.catalog import Catalog, Mention


@dataclass(frozen=True, slots=True)
class MentionSpan:
    span: Span
    text: str
    mention: Mention
    in_code: bool


_TOKEN = re.compile(r"[^\W_][\w^'\u00C0-\u024F]*(?:[-_.][^\W_][\w^\u00C0-\u024F]*)*", re.UNICODE)
_PY_BUILTINS = frozenset(dir(builtins))
_MAX_NGRAM = 5
_PY_COMMENT = re.compile(r"#.*$")


def _same_form(surface: str, display: str) -> bool:
    """Name form: written exactly as the paper names it (separators aside)."""
    def canon(s: str) -> str:
        return re.sub(r"[\s_\-]+", " ", s).strip()
    return canon(surface) == canon(display)


def _tokens(line: str) -> list[tuple[int, int]]:
    out = []
    for m in _TOKEN.finditer(line):
        s, e = m.start(), m.end()
        # Trailing dots belong to the sentence; leading backslash makes a LaTeX command, not a name.
        while e > s and line[e - 1] in ".'":
            e -= 1
        if s > 0 and line[s - 1] == "\\":
            continue
        out.append((s, e))
    return out


def prose_regions(line: str, kind: str, in_docstring: bool) -> tuple[list[tuple[int, int]], bool]:
    """For code: the (start, end) parts of a line that are prose (comments, docstrings); else the whole line."""
    if kind != PYTHON:
        return [(0, len(line))], False
    regions: list[tuple[int, int]] = []
    pos = 0
    state = in_docstring
    while pos <= len(line):
        if state:
            j = line.find('"""', pos)
            j2 = line.find("'''", pos)
            cands = [x for x in (j, j2) if x >= 0]
            if not cands:
                regions.append((pos, len(line)))
                return regions, True
            k = min(cands)
            regions.append((pos, k))
            pos, state = k + 3, False
            continue
        j = min([x for x in (line.find('"""', pos), line.find("'''", pos)) if x >= 0], default=-1)
        h = line.find("#", pos)
        if h >= 0 and (j < 0 or h < j):
            regions.append((h + 1, len(line)))
            return regions, False
        if j < 0:
            return regions, False
        pos, state = j + 3, True
    return regions, state


def mentions_in_line(line: str, ln: int, catalog: Catalog, *, code: bool, prose: list[tuple[int, int]]
                     ) -> list[MentionSpan]:
    """Method names on a line: the longest match wins; ordinary-word names only in name form."""
    toks = _tokens(line)
    out: list[MentionSpan] = []
    if not toks:
        return out
    i = 0
    n = len(toks)
    while i < n:
        s0, e0 = toks[i]
        in_prose = any(a <= s0 and e0 <= b for a, b in prose)
        if code and not in_prose:
            found = _code_token(line, s0, e0, ln, catalog)
            if found:
                out.extend(found)
            i += 1
            continue
        hit = None
        n1 = norm_name(line[s0:e0])
        longest = min(_MAX_NGRAM, n - i) if catalog.maybe_prefix(n1) else 1
        for k in range(longest, 0, -1):
            s, e = toks[i][0], toks[i + k - 1][1]
            if k > 1 and not re.fullmatch(r"[\w^'\u00C0-\u024F.\-]+(?:[ \t\-]+[\w^'\u00C0-\u024F.\-]+)*", line[s:e]):
                continue
            surface = line[s:e]
            ns = n1 if k == 1 else norm_name(surface)
            if len(ns) < 2 or not catalog.maybe_name(ns):
                continue
            m = catalog.mention(surface, ns)
            if m is None or not m.entries:
                continue
            if m.common and not _same_form(surface, m.display):
                continue
            if k == 1 and surface.islower() and surface.isalpha() and m.code_only:
                continue
            hit = MentionSpan(Span(ln, s, e), surface, m, False)
            i += k
            break
        if hit:
            out.append(hit)
        else:
            i += 1
    return out


def _code_token(line: str, s: int, e: int, ln: int, catalog: Catalog) -> list[MentionSpan]:
    """In code, each dotted part is an identifier: `drct.archs.DRCT_arch` -> drct, DRCT_arch."""
    out: list[MentionSpan] = []
    pos = s
    for part in line[s:e].split("."):
        ps, pe = pos, pos + len(part)
        pos = pe + 1
        if not part or keyword.iskeyword(part) or part in _PY_BUILTINS or part.lower() in CODE_STOP:
            continue
        if not part.isidentifier() or len(part) < 2:
            continue
        np_ = norm_name(part)
        if not catalog.maybe_name(np_):
            continue
        m = catalog.mention(part, np_)
        if m is None or not m.entries:
            continue
        if len(part) == 2 and (part != m.display or line[ps - 1:ps] == "."):
            continue  # two letters (`gt`, `self.gt`: ground truth) link only as the paper's own name, standing alone
        camel = m.display.replace(" ", "").replace("-", "")  # `BlockTransformer` is "Block Transformer" in code
        if m.common and part not in (m.display, m.display.replace("-", "_")) and not (
                part == camel and any(c.isupper() for c in part[1:])):
            continue
        out.append(MentionSpan(Span(ln, ps, pe), part, m, True))
    return out


LONG_LINE = 4000  # characters; a longer line is analysed in windows
WINDOW = 2000
MAX_LINE_SCAN = 20_000  # of a long line, what whole-document features analyse


def windows(line: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """[a, b) windows of about WINDOW characters covering line[lo:hi], cut at spaces so no word is split."""
    out: list[tuple[int, int]] = []
    a = _cut(line, lo)
    end = min(hi, len(line))
    while a < end:
        b = _cut(line, a + WINDOW) if a + WINDOW < len(line) else len(line)
        if b <= a:
            b = min(len(line), a + WINDOW)
        out.append((a, b))
        a = b
    return out


def _cut(line: str, i: int) -> int:
    """The nearest space at or before i (within 200 characters), else i."""
    if i <= 0 or i >= len(line):
        return max(0, min(i, len(line)))
    j = line.rfind(" ", max(0, i - 200), i + 1)
    return j + 1 if j >= 0 else i
