"""Citations: the keys a document cites (LaTeX, biblatex multi-cites, acro, Pandoc, reST, Manubot ids), where the
cursor is inside one, and the comments that silence diagnostics. Everything in code points, line by line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from paperlens.analysis.kinds import BIBTEX, LATEX, MARKDOWN, RST, TEXT, Span

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


def cites_in_line(line: str, kind: str, extra: tuple[str, ...], acro: bool) -> tuple[list[CiteKey], Pending | None]:
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


# The scanner's state before a line: (Markdown fence, in front matter, in an HTML comment, open key list, lines
# it has spanned, the line that ends a skipped LaTeX block). A document's scan can resume from any line's state.
ScanState = tuple["str | None", bool, bool, "Pending | None", int, "str | None"]
NO_CITES: tuple[CiteKey, ...] = ()  # (what most lines emit: shared, not a new list each)


def scan_start(lines: Sequence[str], kind: str) -> ScanState:
    """The state before a document's first line."""
    return None, kind == MARKDOWN and bool(lines) and lines[0].strip() == "---", False, None, 0, None


def has_acro(lines: Sequence[str], kind: str) -> bool:
    """Whether acro's cite= is read (a LaTeX document that declares acronyms)."""
    return kind == LATEX and any("\\DeclareAcronym" in x for x in lines)


SCANNED = (LATEX, MARKDOWN, RST, TEXT)  # the kinds of documents that cite


def scan_cites(lines: Sequence[str], kind: str, extra: tuple[str, ...] = (),
               line_cites: Callable[[str, bool], tuple[list[CiteKey], Pending | None]] | None = None,
               ) -> list[CiteKey]:
    """Every citation key in a document, with its range: key lists over several lines, multi-cites, acro's
    cite=; not in LaTeX comments, Markdown code, front matter or HTML comments."""
    if kind not in SCANNED:
        return []
    out: list[CiteKey] = []
    for _, got in scan_lines(lines, kind, extra, line_cites, has_acro(lines, kind), 0, scan_start(lines, kind)):
        out.extend(got)
    return out


def scan_lines(lines: Sequence[str], kind: str, extra: tuple[str, ...],
               line_cites: Callable[[str, bool], tuple[list[CiteKey], Pending | None]] | None, acro: bool,
               start: int, state: ScanState) -> Iterator[tuple[ScanState, Sequence[CiteKey]]]:
    """scan_cites from line `start` on, given the state before it: for each line, the state before it and the
    keys it completes (a key list over several lines: all of its keys, on the line that closes it); then the
    state after the last line, with no keys. Lines that change nothing share one state object."""
    per_line = line_cites or (lambda text, acro: cites_in_line(text, kind, extra, acro))
    for ln in range(start, len(lines)):
        after, got = _scan_line(lines[ln], ln, kind, acro, per_line, state)
        yield state, got
        if after != state:
            state = after
    yield state, NO_CITES


def _scan_line(line: str, ln: int, kind: str, acro: bool,
               per_line: Callable[[str, bool], tuple[list[CiteKey], Pending | None]], state: ScanState
               ) -> tuple[ScanState, Sequence[CiteKey]]:
    """One line of scan_lines: the state after it and the keys it completes."""
    fence, front, html, pending, n_pending, skip_until = state
    if kind == LATEX and (skip_until is not None or "\\begin" in line or "\\iffalse" in line):
        if skip_until is not None:
            if skip_until in line if skip_until != "\\fi" else line.lstrip().startswith("\\fi"):
                skip_until = None
            return (fence, front, html, pending, n_pending, skip_until), NO_CITES
        code = latex_code(line)
        if "\\iffalse" in code:
            line = _IFFALSE_INLINE.sub(lambda m: " " * len(m.group()), line)
            if code.lstrip().startswith("\\iffalse") and "\\iffalse" in latex_code(line):
                return (fence, front, html, pending, n_pending, "\\fi"), NO_CITES
        b = _SKIPPED_ENV.search(code)
        if b and f"\\end{{{b.group(1)}}}" not in line[b.end():]:
            skip_until = f"\\end{{{b.group(1)}}}"
            line = line[:b.start()]
    if kind == MARKDOWN:
        if front:
            if ln > 0 and line.strip() in ("---", "..."):
                front = False
            return (fence, front, html, pending, n_pending, skip_until), NO_CITES
        f = _FENCE.match(line)
        if fence is not None:
            if f and f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence) and not line.strip(" `~"):
                fence = None
            return (fence, front, html, pending, n_pending, skip_until), NO_CITES
        if f:
            return (f.group(1), front, html, pending, n_pending, skip_until), NO_CITES
        if html or "<!--" in line:
            line, html = _mask_html_comments(line, html)
    if pending is not None:
        n_pending += 1
        pending, closed, after = _continue(line, kind, ln, pending)
        if pending is not None and closed:
            out = list(pending[1])
            pending = None
            rest, pending = per_line(line[after:], acro) if "\\" in line[after:] else ([], None)
            out.extend(_shift(rest, ln, after))
            if pending:
                pending, n_pending = (pending[0], _shift(pending[1], ln, after)), 0
            return (fence, front, html, pending, n_pending, skip_until), out
        if pending is not None:
            if n_pending > MAX_KEY_LIST_LINES:
                pending = None
            return (fence, front, html, pending, n_pending, skip_until), NO_CITES
        # not a key list after all (prose after an unclosed brace): read the line as any other
    if "\\" not in line and "@" not in line and ":cite" not in line and not (acro and "cite" in line):
        return (fence, front, html, pending, n_pending, skip_until), NO_CITES
    got, pending = per_line(line, acro)
    if pending:
        pending, n_pending = (pending[0], _shift(pending[1], ln)), 0
    return (fence, front, html, pending, n_pending, skip_until), _shift(got, ln) if got else NO_CITES


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


def find_cites(lines: Sequence[str], kind: str, extra: tuple[str, ...] = ()) -> list[CiteKey]:
    """Every citation key in a document, with its range."""
    return scan_cites(lines, kind, extra)
