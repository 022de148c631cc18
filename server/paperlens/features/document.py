"""What a document says: its kind, its citations, and the method names it mentions (in code points)."""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from ..index.aliases import CODE_STOP
from ..index.catalog import Catalog, Mention
from ..model import ARXIV_ID_RE
from ..text import norm_name

LATEX, MARKDOWN, RST, BIBTEX, PYTHON, CODE, TEXT = "latex", "markdown", "rst", "bibtex", "python", "code", "text"

_BY_LANGUAGE = {
    "latex": LATEX, "tex": LATEX, "plaintex": LATEX, "context": LATEX, "bibtex": BIBTEX, "biblatex": BIBTEX,
    "markdown": MARKDOWN, "quarto": MARKDOWN, "rmd": MARKDOWN, "rmarkdown": MARKDOWN, "pandoc": MARKDOWN,
    "restructuredtext": RST, "rst": RST, "plaintext": TEXT, "text": TEXT, "python": PYTHON,
}
_BY_SUFFIX = {
    ".tex": LATEX, ".ltx": LATEX, ".sty": LATEX, ".cls": LATEX, ".bib": BIBTEX, ".md": MARKDOWN,
    ".markdown": MARKDOWN, ".qmd": MARKDOWN, ".rmd": MARKDOWN, ".rst": RST, ".txt": TEXT, ".py": PYTHON,
    ".pyi": PYTHON,
}

CITE_COMMANDS = (
    "cite", "citep", "citet", "citealp", "citealt", "citeauthor", "citeyear", "citeyearpar", "parencite",
    "textcite", "autocite", "footcite", "smartcite", "supercite", "nocite", "fullcite", "footcitetext",
    "Cite", "Citep", "Citet", "Citealp", "Citealt", "Citeauthor", "Parencite", "Textcite", "Autocite",
    "Footcite", "Smartcite", "cites", "parencites", "textcites", "autocites", "citetitle", "citeurl",
)


def doc_kind(language_id: str | None, uri: str) -> str:
    """The kind of a document, from its language id, else its file name."""
    if language_id and language_id.lower() in _BY_LANGUAGE:
        return _BY_LANGUAGE[language_id.lower()]
    suffix = PurePosixPath(unquote(urlparse(uri).path)).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    return CODE if language_id and language_id.lower() not in ("", "plaintext") else TEXT


@dataclass(frozen=True, slots=True)
class Span:
    """A range on one line, in code points."""

    line: int
    start: int
    end: int

    def contains(self, line: int, col: int) -> bool:
        return line == self.line and self.start <= col <= self.end


@dataclass(frozen=True, slots=True)
class CiteKey:
    key: str
    span: Span
    command: str  # "cite", "citep", "@", ":cite:"


@dataclass(frozen=True, slots=True)
class CiteContext:
    """The cursor is inside a citation: what has been typed of the current key."""

    prefix: str
    start: int  # column where the key being typed starts
    end: int  # column where it ends (after the cursor, up to a separator)
    syntax: str  # LATEX, MARKDOWN or RST
    keys_before: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MentionSpan:
    span: Span
    text: str
    mention: Mention
    in_code: bool


def _cite_re(extra: tuple[str, ...]) -> str:
    names = sorted({*CITE_COMMANDS, *extra}, key=len, reverse=True)
    return r"\\(?P<cmd>" + "|".join(re.escape(n) for n in names) + r")\*?(?:\s*\[[^\]\n]*\]){0,2}\s*\{"


_LATEX_CACHE: dict[tuple[str, ...], tuple[re.Pattern[str], re.Pattern[str]]] = {}


def _latex_res(extra: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    if extra not in _LATEX_CACHE:
        head = _cite_re(extra)
        _LATEX_CACHE[extra] = (re.compile(head + r"(?P<keys>[^{}]*)$"), re.compile(head + r"(?P<keys>[^{}]*)\}"))
    return _LATEX_CACHE[extra]


_MD_OPEN = re.compile(r"(?:^|(?<=[\s\[;(]))-?@(?P<key>[\w:.#$%&+?<>~/-]*)$")
_MD_KEY = re.compile(r"(?:^|(?<=[\s\[;(]))-?@(?P<key>[\w][\w:.#$%&+?<>~/-]*[\w]|[\w])")
_RST_OPEN = re.compile(r":cite(?::\w+)?:`(?P<keys>[^`]*)$")
_RST_KEY = re.compile(r":cite(?::\w+)?:`(?P<keys>[^`]*)`")
_KEY_END = re.compile(r"[^,}\s`;\]]*")


def cite_context(line: str, col: int, kind: str, extra: tuple[str, ...] = ()) -> CiteContext | None:
    """Whether the cursor at `col` is where a citation key goes, and what is typed of it."""
    before = line[:col]
    tail = _KEY_END.match(line, col)
    end = tail.end() if tail else col
    if kind in (LATEX, TEXT, MARKDOWN):
        m = _latex_res(extra)[0].search(before)
        if m:
            keys = m.group("keys")
            parts = keys.split(",")
            prefix = parts[-1].lstrip()
            start = col - len(prefix)
            return CiteContext(prefix, start, end, LATEX, tuple(p.strip() for p in parts[:-1] if p.strip()))
    if kind in (MARKDOWN, TEXT):
        m = _MD_OPEN.search(before)
        if m:
            prefix = m.group("key")
            # An e-mail address is not a citation.
            at = m.start("key") - 1
            if at > 0 and (line[at - 1].isalnum()):
                return None
            return CiteContext(prefix, col - len(prefix), end, MARKDOWN, ())
    if kind in (RST, TEXT):
        m = _RST_OPEN.search(before)
        if m:
            parts = m.group("keys").split(",")
            prefix = parts[-1].lstrip()
            return CiteContext(prefix, col - len(prefix), end, RST, tuple(p.strip() for p in parts[:-1] if p.strip()))
    return None


def find_cites(lines: list[str], kind: str, extra: tuple[str, ...] = ()) -> list[CiteKey]:
    """Every citation key in a document, with its range."""
    out: list[CiteKey] = []
    if kind not in (LATEX, MARKDOWN, RST, TEXT):
        return out
    closed = _latex_res(extra)[1]
    for ln, line in enumerate(lines):
        if kind in (LATEX, TEXT, MARKDOWN) and "\\" in line:
            for m in closed.finditer(line):
                base = m.start("keys")
                for km in re.finditer(r"[^,\s]+", m.group("keys")):
                    out.append(CiteKey(km.group(), Span(ln, base + km.start(), base + km.end()), m.group("cmd")))
        if kind in (MARKDOWN, TEXT) and "@" in line:
            for m in _MD_KEY.finditer(line):
                at = m.start() if line[m.start()] == "@" else m.start() + 1
                if at > 0 and line[at - 1].isalnum():
                    continue
                out.append(CiteKey(m.group("key"), Span(ln, m.start("key"), m.end("key")), "@"))
        if kind in (RST, TEXT) and ":cite" in line:
            for m in _RST_KEY.finditer(line):
                base = m.start("keys")
                for km in re.finditer(r"[^,\s]+", m.group("keys")):
                    out.append(CiteKey(km.group(), Span(ln, base + km.start(), base + km.end()), ":cite:"))
    return out


# ---------------------------------------------------------------- method mentions

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
        if m.common and part != m.display and part != m.display.replace("-", "_"):
            continue
        out.append(MentionSpan(Span(ln, ps, pe), part, m, True))
    return out


@dataclass
class DocAnalysis:
    """One open document, analysed line by line (lines unchanged since the last scan keep their results)."""

    uri: str
    kind: str
    lines: list[str]
    version: int = 0
    _mentions: dict[int, list[MentionSpan]] = field(default_factory=dict)
    _line_cache: dict[tuple[str, bool], list[MentionSpan]] = field(default_factory=dict)
    _doc_states: list[bool] | None = None
    _cites: list[CiteKey] | None = None
    _cite_cache: dict[str, list[CiteKey]] = field(default_factory=dict)
    _cite_extra: tuple[str, ...] = ()

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
        code = self.kind in (PYTHON, CODE)
        st = self._docstring_states()[ln] if self.kind == PYTHON else False
        key = (line, st)
        cached = self._line_cache.get(key)
        if cached is None:
            if code and self.kind == CODE:
                prose = [(m.start() + 2, len(line)) for m in re.finditer(r"(//|/\*|--|#|%|;).*$", line)][:1]
            else:
                prose, _ = prose_regions(line, self.kind, st)
            cached = mentions_in_line(line, ln, catalog, code=code, prose=prose)
            self._line_cache[key] = cached
        res = [MentionSpan(Span(ln, m.span.start, m.span.end), m.text, m.mention, m.in_code) for m in cached]
        self._mentions[ln] = res
        return res

    def all_mentions(self, catalog: Catalog) -> list[MentionSpan]:
        out: list[MentionSpan] = []
        for ln in range(len(self.lines)):
            out.extend(self.line_mentions(ln, catalog))
        return out

    def mention_at(self, ln: int, col: int, catalog: Catalog) -> MentionSpan | None:
        for m in self.line_mentions(ln, catalog):
            if m.span.contains(ln, col):
                return m
        return None

    def cites(self, extra: tuple[str, ...] = ()) -> list[CiteKey]:
        """Every citation key, like `find_cites`, but lines seen before cost a dictionary lookup."""
        if self._cites is not None and extra == self._cite_extra:
            return self._cites
        if extra != self._cite_extra:
            self._cite_cache, self._cite_extra = {}, extra
        cache = self._cite_cache
        out: list[CiteKey] = []
        for ln, line in enumerate(self.lines):
            if "\\" not in line and "@" not in line and ":cite" not in line:
                continue
            got = cache.get(line)
            if got is None:
                got = cache[line] = find_cites([line], self.kind, extra)
            out.extend(CiteKey(c.key, Span(ln, c.span.start, c.span.end), c.command) for c in got)
        self._cites = out
        return out

    def invalidate(self) -> None:
        """Forget per-line positions (the text-keyed cache survives, so unchanged lines cost nothing)."""
        self._mentions = {}
        self._doc_states = None
        self._cites = None
        if len(self._cite_cache) > 4 * len(self.lines) + 1000:
            self._cite_cache = {}
        if len(self._line_cache) > 4 * len(self.lines) + 1000:
            self._line_cache = {}


ARXIV_IN_TEXT = re.compile(r"(?:arXiv:\s*|arxiv\.org/(?:abs|pdf)/)?" + ARXIV_ID_RE.pattern, re.IGNORECASE)
GITHUB_URL = re.compile(r"https?://github\.com/(?P<repo>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+?)(?:\.git)?(?=[/\s)\]}>,;\"'`]|\.?$|\.\s)")


def arxiv_at(line: str, col: int) -> tuple[str, int, int] | None:
    for m in ARXIV_IN_TEXT.finditer(line):
        if m.start() <= col <= m.end():
            return m.group(1), m.start(), m.end()
    return None


def github_at(line: str, col: int) -> tuple[str, int, int] | None:
    for m in GITHUB_URL.finditer(line):
        if m.start() <= col <= m.end():
            return m.group("repo"), m.start(), m.end()
    return None
