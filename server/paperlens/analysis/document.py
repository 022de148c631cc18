"""What a document says: its kind, its citations, and the method names it mentions (in code points)."""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from paperlens.core.ids import find_arxiv_ids, find_github_repos
from paperlens.core.text import norm_name
from paperlens.index.aliases import CODE_STOP
from paperlens.index.catalog import Catalog, Mention

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
    "citenum", "citedate", "Citetitle", "footfullcite", "citeA", "citeNP", "volcite", "pvolcite", "fvolcite",
    "tvolcite", "avolcite", "Volcite", "notecite", "pnotecite", "fnotecite",
)
# biblatex multi-cites: \cites(pre)(post)[pre][post]{k1}[pre][post]{k2}...
MULTI_CITE_COMMANDS = (
    "cites", "Cites", "parencites", "Parencites", "footcites", "footcitetexts", "smartcites", "Smartcites",
    "textcites", "Textcites", "supercites", "autocites", "Autocites",
)
# pandoc-crossref references (@fig:x) are not citations; Manubot ids (@arxiv:…) are resolved by Manubot.
CROSSREF_PREFIXES = ("fig:", "sec:", "tbl:", "eq:", "lst:")
MANUBOT_PREFIXES = ("arxiv:", "doi:", "pmid:", "pmcid:", "url:", "isbn:", "wikidata:", "tag:", "raw:")


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


def manubot_id(key: str) -> tuple[str, str] | None:
    """('arxiv', '1234.5678') for a Manubot-style key '@arxiv:1234.5678'; None for an ordinary key."""
    low = key.lower()
    for p in MANUBOT_PREFIXES:
        if low.startswith(p) and len(key) > len(p):
            return p[:-1], key[len(p):]
    return None


def is_crossref(key: str) -> bool:
    return key.lower().startswith(CROSSREF_PREFIXES)


_NOTES = r"(?:\s*\[[^\]\n]*\]){0,2}"
_GROUP = r"\s*(?:\[[^\]\n]*\]\s*){0,2}\{[^{}]*\}"


def _names_re(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


def _cite_re(extra: tuple[str, ...]) -> str:
    # (pre)(post): the global notes of a biblatex multi-cite
    return r"\\(?P<cmd>" + _names_re((*CITE_COMMANDS, *extra)) + r")\*?(?:\s*\([^()\n]*\)){0,2}" + _NOTES + r"\s*\{"


_MULTI_HEAD = (r"\\(?P<cmd>" + _names_re(MULTI_CITE_COMMANDS) + r")\*?(?:\s*\([^()\n]*\)){0,2}(?:" + _GROUP
               + r")*\s*(?:\[[^\]\n]*\]\s*){0,2}\{")
_MULTI_OPEN = re.compile(_MULTI_HEAD + r"(?P<keys>[^{}]*)$")
_MULTI_NEXT = re.compile(r"\s*(?:\[[^\]\n]*\]\s*){0,2}\{(?P<keys>[^{}]*)(?P<close>\}?)")
# The acro package: \DeclareAcronym{id}{..., cite = {[pre][post]{keys}} or cite = {keys}, ...}
_ACRO_CITE = r"(?:^|(?<=[{,\s]))cite\s*=\s*(?:\{(?:\[[^\]\n]*\]){0,2}\{?|(?:\[[^\]\n]*\]){1,2}\{)"
_ACRO_OPEN = re.compile(_ACRO_CITE + r"(?P<keys>[^{}=]*)$")
_ACRO_CLOSED = re.compile(_ACRO_CITE + r"(?P<keys>[^{}=]*)\}")

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
_KEY_TOKEN = re.compile(r"[^,\s]+")


def latex_code(line: str) -> str:
    """The line up to its LaTeX comment ('%' not escaped by a backslash); positions are unchanged."""
    i = line.find("%")
    while i >= 0:
        j = i
        while j > 0 and line[j - 1] == "\\":
            j -= 1
        if (i - j) % 2 == 0:
            return line[:i]
        i = line.find("%", i + 1)
    return line


def _usable_key(key: str) -> bool:
    """A key a document really cites: not \\nocite{*}, not a macro argument (#1) or a command (\\citep)."""
    return key != "*" and "\\" not in key and "#" not in key


def cite_context(line: str, col: int, kind: str, extra: tuple[str, ...] = (),
                 before_lines: Sequence[str] = ()) -> CiteContext | None:
    """Whether the cursor at `col` is where a citation key goes, and what is typed of it.

    `before_lines` are the lines above (nearest last), for key lists that span lines."""
    before = line[:col]
    tail = _KEY_END.match(line, col)
    end = tail.end() if tail else col
    if kind in (LATEX, TEXT, MARKDOWN):
        above = [latex_code(x) if kind == LATEX else x for x in before_lines]
        for text in (before, "\n".join([*above, before]) if above else None):
            if text is None:
                continue
            m = (_latex_res(extra)[0].search(text) or _MULTI_OPEN.search(text)
                 or (_ACRO_OPEN.search(text) if "\\DeclareAcronym" in text else None))
            if not m:
                continue
            parts = m.group("keys").split(",")
            if "\n" in m.group("keys") and any(len(p.split()) > 1 for p in parts):
                return None  # prose after an unclosed brace, not a key list
            prefix = parts[-1].lstrip()
            if "\n" in prefix:
                prefix = prefix.split()[-1] if prefix.split() else ""
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


def _keys_in(text: str, base: int, ln: int, cmd: str, out: list[CiteKey]) -> None:
    for km in _KEY_TOKEN.finditer(text):
        if _usable_key(km.group()):
            out.append(CiteKey(km.group(), Span(ln, base + km.start(), base + km.end()), cmd))


Pending = tuple[str, list[CiteKey]]  # a key list still open at the end of a line: its command, its keys so far
_INLINE_CODE = re.compile(r"(`+).+?\1")


def _line_cites(line: str, kind: str, extra: tuple[str, ...], acro: bool) -> tuple[list[CiteKey], Pending | None]:
    """The citations on one line (spans on line 0), and the key list still open at its end."""
    out: list[CiteKey] = []
    pending: Pending | None = None
    if kind in (LATEX, TEXT, MARKDOWN) and ("\\" in line or acro):
        code = latex_code(line) if kind == LATEX else line
        opener, closed = _latex_res(extra)
        for m in closed.finditer(code):
            _keys_in(m.group("keys"), m.start("keys"), 0, m.group("cmd"), out)
            if m.group("cmd") in MULTI_CITE_COMMANDS:  # the further {keys} groups of a multi-cite
                pos = m.end()
                while (g := _MULTI_NEXT.match(code, pos)) and g.group("close"):
                    _keys_in(g.group("keys"), g.start("keys"), 0, m.group("cmd"), out)
                    pos = g.end()
        if acro:
            for m in _ACRO_CLOSED.finditer(code):
                _keys_in(m.group("keys"), m.start("keys"), 0, "acro", out)
        om = opener.search(code) or _MULTI_OPEN.search(code) or (_ACRO_OPEN.search(code) if acro else None)
        if om and all(len(p.split()) <= 1 for p in om.group("keys").split(",")):
            keys: list[CiteKey] = []
            cmd = om.group("cmd") if "cmd" in om.groupdict() else "acro"
            _keys_in(om.group("keys"), om.start("keys"), 0, cmd, keys)
            pending = (cmd, keys)
    if kind in (MARKDOWN, TEXT) and "@" in line:
        text = _INLINE_CODE.sub(lambda m: " " * len(m.group()), line) if kind == MARKDOWN and "`" in line else line
        for m in _MD_KEY.finditer(text):
            at = m.start() if text[m.start()] == "@" else m.start() + 1
            if at > 0 and text[at - 1].isalnum():
                continue
            if is_crossref(m.group("key")):
                continue
            out.append(CiteKey(m.group("key"), Span(0, m.start("key"), m.end("key")), "@"))
    if kind in (RST, TEXT) and ":cite" in line:
        for m in _RST_KEY.finditer(line):
            _keys_in(m.group("keys"), m.start("keys"), 0, ":cite:", out)
    return out, pending


MAX_KEY_LIST_LINES = 10


def _continue(line: str, kind: str, ln: int, pending: Pending) -> tuple[Pending | None, bool, int]:
    """A line inside an open key list: (still-open list or None, whether it closed, column after the close)."""
    code = latex_code(line) if kind == LATEX else line
    close = code.find("}")
    part = code if close < 0 else code[:close]
    if "{" in part or any(len(p.split()) > 1 for p in part.split(",")):
        return None, False, 0  # not a key list after all
    keys = list(pending[1])
    _keys_in(part, 0, ln, pending[0], keys)
    if close < 0:
        return (pending[0], keys), False, 0
    return (pending[0], keys), True, close + 1


def _shift(cites: list[CiteKey], ln: int, offset: int = 0) -> list[CiteKey]:
    return [CiteKey(c.key, Span(ln, c.span.start + offset, c.span.end + offset), c.command) for c in cites]


# Text LaTeX never typesets as citations: the comment package's blocks, verbatim and code listings.
_SKIPPED_ENV = re.compile(r"\\begin\s*\{(comment|verbatim\*?|Verbatim|lstlisting|minted)\}")
_IFFALSE_INLINE = re.compile(r"\\iffalse\b.*?\\fi\b")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def scan_cites(lines: Sequence[str], kind: str, extra: tuple[str, ...] = (),
               line_cites: Callable[[str, bool], tuple[list[CiteKey], Pending | None]] | None = None,
               ) -> list[CiteKey]:
    """Every citation key in a document, with its range: key lists over several lines, multi-cites, acro's
    cite=; not in LaTeX comments, Markdown code, front matter or HTML comments."""
    out: list[CiteKey] = []
    if kind not in (LATEX, MARKDOWN, RST, TEXT):
        return out
    per_line = line_cites or (lambda text, acro: _line_cites(text, kind, extra, acro))
    acro = kind == LATEX and any("\\DeclareAcronym" in x for x in lines)
    md = kind == MARKDOWN
    fence: str | None = None
    front = md and bool(lines) and lines[0].strip() == "---"
    html = False
    pending: Pending | None = None
    n_pending = 0
    skip_until: str | None = None  # LaTeX: the line that ends a commented-out or verbatim block
    for ln, line in enumerate(lines):
        if kind == LATEX and (skip_until is not None or "\\begin" in line or "\\iffalse" in line):
            if skip_until is not None:
                if skip_until in line if skip_until != "\\fi" else line.lstrip().startswith("\\fi"):
                    skip_until = None
                continue
            code = latex_code(line)
            if "\\iffalse" in code:
                line = _IFFALSE_INLINE.sub(lambda m: " " * len(m.group()), line)
                if code.lstrip().startswith("\\iffalse") and "\\iffalse" in latex_code(line):
                    skip_until = "\\fi"
                    continue
            b = _SKIPPED_ENV.search(code)
            if b and f"\\end{{{b.group(1)}}}" not in line[b.end():]:
                skip_until = f"\\end{{{b.group(1)}}}"
                line = line[:b.start()]
        if md:
            if front:
                if ln > 0 and line.strip() in ("---", "..."):
                    front = False
                continue
            f = _FENCE.match(line)
            if fence is not None:
                if f and f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence) and not line.strip(" `~"):
                    fence = None
                continue
            if f:
                fence = f.group(1)
                continue
            if html or "<!--" in line:
                line, html = _mask_html_comments(line, html)
        if pending is not None:
            n_pending += 1
            pending, closed, after = _continue(line, kind, ln, pending)
            if pending is not None and closed:
                out.extend(pending[1])
                pending = None
                rest, pending = per_line(line[after:], acro) if "\\" in line[after:] else ([], None)
                out.extend(_shift(rest, ln, after))
                if pending:
                    pending, n_pending = (pending[0], _shift(pending[1], ln, after)), 0
                continue
            if pending is not None:
                if n_pending > MAX_KEY_LIST_LINES:
                    pending = None
                continue
            # not a key list after all (prose after an unclosed brace): read the line as any other
        if "\\" not in line and "@" not in line and ":cite" not in line and not (acro and "cite" in line):
            continue
        got, pending = per_line(line, acro)
        out.extend(_shift(got, ln))
        if pending:
            pending, n_pending = (pending[0], _shift(pending[1], ln)), 0
    return out


def _mask_html_comments(line: str, inside: bool) -> tuple[str, bool]:
    """The line with <!-- ... --> parts blanked (positions kept), and whether a comment is still open."""
    chars = list(line)
    pos = 0
    while pos <= len(line):
        if inside:
            j = line.find("-->", pos)
            stop = len(line) if j < 0 else j + 3
            chars[pos:stop] = " " * (stop - pos)
            if j < 0:
                return "".join(chars), True
            pos, inside = stop, False
        else:
            j = line.find("<!--", pos)
            if j < 0:
                break
            pos, inside = j, True
    return "".join(chars), inside


_BIB_OPEN = re.compile(r"@[ \t]*([A-Za-z]+)[ \t]*[{(][ \t]*([^\s,{}()\"#%'=]+)")


def bib_key_at(line: str, col: int) -> tuple[str, int, int] | None:
    """In a .bib line, the entry key under the cursor: (key, start, end)."""
    for m in _BIB_OPEN.finditer(line):
        if m.group(1).lower() not in ("string", "comment", "preamble") and m.start(2) <= col <= m.end(2):
            return m.group(2), m.start(2), m.end(2)
    return None


_IGNORE = re.compile(r"\b(?:paperlens|texlab):\s*ignore\b")
_OFF = re.compile(r"\b(?:paperlens|texlab):\s*warnings\s+off\b")
_ON = re.compile(r"\b(?:paperlens|texlab):\s*warnings\s+on\b")


def _comment_part(line: str, kind: str) -> str:
    if kind in (LATEX, BIBTEX):
        i = len(latex_code(line))
        return line[i:]
    if kind == MARKDOWN:
        return " ".join(re.findall(r"<!--(.*?)(?:-->|$)", line))
    return ""


def silenced_lines(lines: Sequence[str], kind: str) -> set[int]:
    """Lines whose diagnostics the user silenced: a comment `paperlens: ignore` (or texlab's `texlab: ignore`)
    on the line itself or the line above (`% ...` in LaTeX and .bib, `<!-- ... -->` in Markdown), and the
    lines between `paperlens: warnings off` and `paperlens: warnings on`."""
    out: set[int] = set()
    off: int | None = None
    for ln, line in enumerate(lines):
        if "ignore" not in line and "warnings" not in line:
            if off is not None:
                out.add(ln)
            continue
        note = _comment_part(line, kind)
        if _IGNORE.search(note):
            out.update((ln, ln + 1))
        if off is None and _OFF.search(note):
            off = ln
        elif off is not None and _ON.search(note):
            off = None
        if off is not None:
            out.add(ln)
    return out


def find_cites(lines: list[str], kind: str, extra: tuple[str, ...] = ()) -> list[CiteKey]:
    """Every citation key in a document, with its range."""
    return scan_cites(lines, kind, extra)


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


def _windows(line: str, lo: int, hi: int) -> list[tuple[int, int]]:
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
    _cite_cache: dict[tuple[str, bool], tuple[list[CiteKey], Pending | None]] = field(default_factory=dict)
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
        if len(line) > LONG_LINE:
            # A megabyte on one line: whole-line features (diagnostics, links) see its first MAX_LINE_SCAN
            # characters, window by window; hover and completion look at the window under the cursor.
            res = []
            for a, b in _windows(line, 0, MAX_LINE_SCAN):
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
            spans = [m for a, b in _windows(line, max(0, col - WINDOW), col + WINDOW)
                     for m in self._window_mentions(ln, line, a, b, catalog)]
        else:
            spans = self.line_mentions(ln, catalog)
        for m in spans:
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
        kind = self.kind

        def per_line(line: str, acro: bool) -> tuple[list[CiteKey], Pending | None]:
            got = cache.get((line, acro))
            if got is None:
                got = cache[(line, acro)] = _line_cites(line, kind, extra, acro)
            return got

        self._cites = scan_cites(self.lines, kind, extra, per_line)
        return self._cites

    def cites_on(self, line: int, extra: tuple[str, ...] = ()) -> list[CiteKey]:
        return [c for c in self.cites(extra) if c.span.line == line]

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


def arxiv_at(line: str, col: int) -> tuple[str, int, int] | None:
    for f in find_arxiv_ids(line):
        if f.start <= col <= f.end:
            return f
    return None


def github_at(line: str, col: int) -> tuple[str, int, int] | None:
    for f in find_github_repos(line):
        if f.start <= col <= f.end:
            return f
    return None
