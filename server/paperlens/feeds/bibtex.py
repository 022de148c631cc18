"""BibTeX: read a .bib into Papers, locate its entries, and write new entries (arXiv export style)."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from typing import Any

import bibtexparser
from bibtexparser.middlewares.names import (
    InvalidNameError,
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, MiddlewareErrorBlock, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.latexwalker import LatexWalkerError

from paperlens.feeds.hf_api import arxiv_id as _valid_arxiv_id
from paperlens.feeds.hf_page import parse_month, repo_from_text
from paperlens.model import Paper

_ctx = get_default_latex_context_db()
# As bibtexparser's own decoder: \url{x} is x, not <x>.
_ctx.add_context_category("paperlens-bib", prepend=True, macros=[MacroTextSpec("url", simplify_repl="%s")])
# pylatexenc (a bibtexparser dependency) directly, not LatexDecodingMiddleware: URLs, DOIs and eprints must
# stay raw ('%' starts a LaTeX comment, '~' is a tie), so only the text fields are decoded.
_DECODER = LatexNodes2Text(latex_context=_ctx, keep_braced_groups=False, math_mode="verbatim")

_ARXIV_PATTERNS = (
    re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})(?:v\d+)?", re.I),
    re.compile(r"10\.48550/arxiv\.(\d{4}\.\d{4,5})", re.I),
    re.compile(r"\barxiv\s*:\s*(\d{4}\.\d{4,5})", re.I),
    re.compile(r"^abs/(\d{4}\.\d{4,5})"),  # DBLP: journal = {CoRR}, volume = {abs/1706.03762}
)
_NOT_A_VENUE = re.compile(r"^\s*(arxiv|corr)\b", re.I)
_CONFERENCE = re.compile(
    r"proceedings|conference|workshop|symposium|\b(neurips|nips|icml|iclr|cvpr|iccv|eccv|acl|emnlp|naacl|"
    r"aaai|ijcai|kdd|sigir|www|interspeech|icassp|coling|colm|wacv|bmvc|miccai)\b",
    re.I,
)
_REPO_FIELDS = ("url", "howpublished", "note", "code", "github", "repository", "software")
_URL_IN_TEXT = re.compile(r"https?://[^\s{}\\]+")
# An entry opening: '@type{key,' or '@type(key,'; '@' not inside a word (e-mail addresses).
_OPEN_RE = re.compile(r"(?<![\w.@])@[ \t]*([A-Za-z]+)[ \t]*([{(])[ \t\r\n]*([^\s,{}()\"#%=]*)")
_NOT_ENTRIES = frozenset({"comment", "string", "preamble"})
_KEY_RE = re.compile(r"^[^\s,{}()\"#%=\\~`\x00-\x1f\x7f-\x9f]+$")  # an apostrophe is fine (o'brien2020)


def _looks_gbk(data: bytes) -> bool:
    """GBK/GB2312 text: its high bytes come in pairs in 0xA1-0xFE (a Western export's 'é' is followed by ASCII)."""
    high = len(re.findall(rb"[\x80-\xff]", data))
    pairs = len(re.findall(rb"[\xa1-\xfe][\xa1-\xfe]", data))
    return high > 0 and 2 * pairs >= 0.8 * high


def _looks_japanese(text: str) -> bool:
    """Shift-JIS decoded: mostly kana and kanji, and some kana (Japanese prose always has them)."""
    non_ascii = len(re.findall(r"[^\x00-\x7f]", text))
    jp = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f]", text))
    return non_ascii > 0 and jp >= 0.8 * non_ascii and re.search(r"[\u3040-\u30ff]", text) is not None


def decode_bib_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a .bib's bytes: a BOM, else UTF-8, else the legacy encoding that fits
    (GBK as gb18030, Shift-JIS, else Windows-1252, the usual Western export, else Latin-1).

    The name is a Python codec name ("utf-8", "utf-8-sig", "utf-16", "gb18030", "shift_jis", "cp1252",
    "latin-1"), so the same file can be appended to in its own encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _looks_gbk(data):
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("shift_jis")
        if _looks_japanese(text):
            return text, "shift_jis"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d are undefined in cp1252
        return data.decode("latin-1"), "latin-1"


def detect_newline(text: str) -> str:
    """The line ending a text mostly uses ("\\r\\n", "\\r" or "\\n"; "\\n" when it has none)."""
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    if crlf >= max(cr, lf) and crlf:
        return "\r\n"
    if cr > lf:
        return "\r"
    return "\n"


class _Skip(Exception):
    """An entry that cannot become a Paper; the message says why."""


def _decode(s: str) -> str:
    """LaTeX to plain text, whitespace collapsed: 'G{\\"o}del' -> 'Gödel', '{DRCT}' -> 'DRCT'."""
    try:
        out = _DECODER.latex_to_text(s)
    except (LatexWalkerError, ValueError, IndexError):  # malformed LaTeX: keep it as written
        out = s
    # \textasciicircum decodes to U+02C6; the title meant a plain '^' (S^3-Attention).
    return " ".join(out.replace("\u02c6", "^").replace("\xa0", " ").split())


def _raw(v: Any) -> str:
    s = v if isinstance(v, str) else str(v)
    s = s.strip()
    m = re.fullmatch(r"\\url\{(.*)\}", s, re.S)
    return m.group(1).strip() if m else s


def _names(raw: str) -> tuple[str, ...]:
    """'Vaswani, Ashish and Shazeer, Noam and others' -> ('Ashish Vaswani', 'Noam Shazeer')."""
    out: list[str] = []
    for name in split_multiple_persons_names(raw):
        if name.strip().lower() in ("others", "{others}", "et al.", "et al"):
            continue
        try:
            merged = parse_single_name_into_parts(name, strict=False).merge_first_name_first
        except InvalidNameError:
            merged = name
        decoded = _decode(merged)
        if decoded:
            out.append(decoded)
    return tuple(out)


def _date(fields: dict[str, str]) -> dt.date | None:
    """date(year, month or 1, 1) from year/month, or from a biblatex `date` field."""
    m = re.search(r"\b(\d{4})\b", fields.get("year", ""))
    if m is None:
        m2 = re.match(r"\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", fields.get("date", ""))
        if m2 is None:
            return None
        try:
            return dt.date(int(m2[1]), int(m2[2] or 1), int(m2[3] or 1))
        except ValueError:
            return dt.date(int(m2[1]), 1, 1)
    year = int(m.group(1))
    month_raw = fields.get("month", "").strip().strip("{}")
    month = int(month_raw) if month_raw.isdigit() else parse_month(month_raw) if month_raw else None
    if month is None or not 1 <= month <= 12:
        month = 1
    return dt.date(year, month, 1)


def _arxiv(fields: dict[str, str]) -> str | None:
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").strip().lower()
    if prefix == "arxiv":
        eprint = re.sub(r"^arxiv\s*:\s*", "", fields.get("eprint", "").strip(), flags=re.I)
        if aid := _valid_arxiv_id(eprint):
            return aid
    for key in ("url", "doi", "journal", "volume", "note", "howpublished", "booktitle"):
        value = fields.get(key, "")
        for pattern in _ARXIV_PATTERNS:
            if (m := pattern.search(value)) is not None:
                return m.group(1)
    return None


def _url(fields: dict[str, str]) -> str | None:
    if fields.get("url"):
        return _raw(fields["url"])
    m = _URL_IN_TEXT.search(fields.get("howpublished", ""))
    return m.group(0) if m else None


def _paper(entry: Entry, source: str) -> Paper:
    fields: dict[str, str] = {}
    for f in entry.fields:
        fields.setdefault(f.key.lower(), f.value if isinstance(f.value, str) else str(f.value))
    title = _decode(fields.get("title", ""))
    if not title:
        raise _Skip("no title")
    venue_raw = fields.get("journal") or fields.get("booktitle") or ""
    venue = _decode(venue_raw) if venue_raw and not _NOT_A_VENUE.match(venue_raw) else None
    doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", _raw(fields.get("doi", "")), flags=re.I) or None
    primary = (fields.get("primaryclass") or fields.get("eprintclass") or "").strip() or None
    return Paper(
        title=title,
        abstract=_decode(fields.get("abstract", "")),
        authors=_names(fields.get("author", "")),
        date=_date(fields),
        arxiv_id=_arxiv(fields),
        repo=repo_from_text(" ".join(fields.get(k, "") for k in _REPO_FIELDS)),
        primary_class=primary,
        venue=venue or None,
        doi=doi,
        url=_url(fields),
        bib_key=entry.key,
        bib_type=entry.entry_type.lower(),
        source=f"bib:{source}",
    )


def _failure(block: ParsingFailedBlock, source: str) -> str:
    """A warning naming the line and key of a block bibtexparser could not read."""
    line = (block.start_line or 0) + 1
    m = _OPEN_RE.search(block.raw or "")
    key = m.group(3) if m and m.group(3) else "?"
    if isinstance(block, DuplicateBlockKeyBlock):
        return f"{source}:{line}: duplicate key `{key}`: this entry is ignored, the first one is used"
    err = block.error
    if isinstance(block, MiddlewareErrorBlock):
        reason = str(err) or type(err).__name__
    else:
        reason = getattr(err, "abort_reason", "") or str(err) or "syntax error"
    reason = " ".join(str(reason).split())
    return f"{source}:{line}: could not read entry `{key}`: {reason}"


def parse_bib(text: str, source: str) -> tuple[list[Paper], list[str]]:
    """Papers (one per readable entry, in file order) and warnings naming the line and key of the rest."""
    lib = bibtexparser.parse_string(text)
    papers: list[Paper] = []
    warnings: list[str] = []
    for block in lib.blocks:
        if isinstance(block, ParsingFailedBlock):
            warnings.append(_failure(block, source))
        elif isinstance(block, Entry):
            try:
                papers.append(_paper(block, source))
            except _Skip as e:
                warnings.append(f"{source}:{(block.start_line or 0) + 1}: entry `{block.key}` skipped: {e}")
    return papers, warnings


def _line_starts(text: str) -> list[int]:
    """Offsets where lines start; LSP line breaks are \\n, \\r\\n and \\r."""
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]


def _close(text: str, open_pos: int) -> int | None:
    """Offset just past the brace or parenthesis that closes the entry opened at open_pos."""
    closer = "}" if text[open_pos] == "{" else ")"
    depth = 0
    for i in range(open_pos + 1, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i + 1 if closer == "}" else None
            depth -= 1
        elif c == ")" and closer == ")" and depth == 0:
            return i + 1
    return None


def _openings(text: str) -> list[tuple[re.Match[str], str]]:
    """Entry openings outside '%' comment lines, with their lower-cased type."""
    out = []
    for m in _OPEN_RE.finditer(text):
        line_start = max(text.rfind("\n", 0, m.start()), text.rfind("\r", 0, m.start())) + 1
        if text[line_start : m.start()].lstrip().startswith("%"):
            continue
        out.append((m, m.group(1).lower()))
    return out


def bib_entry_ranges(text: str) -> dict[str, tuple[int, int, int, int]]:
    """Each entry key's (start_line, start_col, end_line, end_col): 0-based code points, end exclusive."""
    starts = _line_starts(text)

    def pos(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset) - 1
        return line, offset - starts[line]

    ranges: dict[str, tuple[int, int, int, int]] = {}
    resume = 0
    openings = _openings(text)
    for n, (m, kind) in enumerate(openings):
        if m.start() < resume:  # inside the previous entry (e.g. an '@' in an abstract)
            continue
        end = _close(text, m.end(2) - 1)
        if end is None:  # unterminated: it runs until the next opening
            later = [o.start() for o, _ in openings[n + 1 :] if o.start() > m.start()]
            end = later[0] if later else len(text)
            end = len(text[:end].rstrip()) if text[:end].rstrip() else end
        resume = end
        key = m.group(3)
        if kind in _NOT_ENTRIES or not key or key in ranges:
            continue
        ranges[key] = (*pos(m.start()), *pos(end))
    return ranges


def existing_keys(bib_text: str) -> set[str]:
    """The keys of the entries in a .bib text (a cheap scan, no parsing)."""
    return {m.group(3) for m, kind in _openings(bib_text) if kind not in _NOT_ENTRIES and m.group(3)}


def _tex(s: str) -> str:
    """Escape LaTeX specials in a text field; control characters are dropped."""
    out = []
    for c in s:
        if c in "&%$#_{}":
            out.append("\\" + c)
        elif c == "\\":
            out.append("\\textbackslash{}")
        elif c == "~":
            out.append("\\textasciitilde{}")
        elif c == "^":
            out.append("\\textasciicircum{}")
        elif c == "`":  # a feed's backtick stays a character, not an opening quote or Markdown code
            out.append("\\textasciigrave{}")
        elif c == "\n" or c == "\t":
            out.append(" ")
        elif _CONTROL.match(c):
            continue
        else:
            out.append(c)
    return "".join(out)


# C0/C1 controls and the bidi overrides/isolates: never written into a user's file.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def ascii_tex(text: str) -> str:
    """An entry made ASCII-only (for a .bib not in UTF-8): accents as TeX accent commands ('é' -> {\\'e}),
    anything else that is not ASCII as '?'. ASCII bytes are the same in every encoding such a file uses."""
    import unicodedata

    accents = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
               "\u0307": ".", "\u030c": "v", "\u0306": "u", "\u030b": "H", "\u0327": "c", "\u0328": "k"}
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        d = unicodedata.normalize("NFD", ch)
        if len(d) == 2 and d[0].isascii() and d[1] in accents:
            out.append("{\\" + accents[d[1]] + ("{" + d[0] + "}" if accents[d[1]].isalpha() else d[0]) + "}")
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def _tex_title(title: str) -> str:
    """Escaped title with words that have inner capitals braced ({DRCT}, {LLMs}) so styles keep their case."""
    parts = re.split(r"([^\W_]+)", title)
    out = []
    for i, part in enumerate(parts):
        # Inner capitals (DRCT, LLMs, PrefixKV) and lone capitals (S of S^3, R of R-Learner) keep case.
        if i % 2 == 1 and (any(c.isupper() for c in part[1:]) or (part.isupper() and part != "A")):
            out.append("{" + part + "}")
        else:
            out.append(_tex(part) if i % 2 == 0 else part)
    return " ".join("".join(out).split())  # one line: no stray newlines inside the value


def _tex_name(name: str) -> str:
    # A name BibTeX would split ('Ant and Bee Lab', 'Acme, Inc') is braced whole.
    s = _tex(" ".join(name.split()))
    return "{" + s + "}" if re.search(r"\band\b|,", name, re.I) else s


def _bib_url(url: str) -> str:
    """A URL safe inside a braced BibTeX value."""
    return re.sub(r"[\s{}\\]", lambda m: f"%{ord(m.group(0)):02X}", url.strip())


def format_bibtex(paper: Paper, key: str) -> str:
    """A BibTeX entry for `paper`, in arXiv's export style for preprints.

    Without author names (only an 'N authors' count, as on the HF page) the author field is omitted rather
    than invented, and `note = {Author names not available (N authors)}` says so.
    """
    if not _KEY_RE.match(key):
        raise ValueError(f"not a usable BibTeX key: {key!r}")
    fields: list[tuple[str, str]] = [("title", _tex_title(paper.title))]
    if paper.authors:
        fields.append(("author", " and ".join(_tex_name(a) for a in paper.authors)))
    elif paper.author_count:
        n = paper.author_count
        fields.append(("note", f"Author names not available ({n} author{'s' if n != 1 else ''})"))
    if paper.venue:
        conf = paper.bib_type == "inproceedings" or (
            paper.bib_type != "article" and bool(_CONFERENCE.search(paper.venue))
        )
        kind = "inproceedings" if conf else "article"
        fields.append(("booktitle" if conf else "journal", _tex(" ".join(paper.venue.split()))))
    else:
        kind = "misc"
    if paper.date:
        fields.append(("year", str(paper.date.year)))
    aid = _valid_arxiv_id(paper.arxiv_id)
    if aid:
        fields += [("eprint", aid), ("archivePrefix", "arXiv")]
        if paper.primary_class and re.fullmatch(r"[a-z-]+(\.[A-Za-z-]+)?", paper.primary_class):
            fields.append(("primaryClass", paper.primary_class))
    if paper.doi:
        fields.append(("doi", _bib_url(paper.doi)))
    if aid and not (paper.venue and paper.url):
        fields.append(("url", f"https://arxiv.org/abs/{aid}"))
    else:
        url = paper.url or paper.project_page or (f"https://github.com/{paper.repo}" if paper.repo else None)
        if url:
            fields.append(("url", _bib_url(url)))
            if kind == "misc":
                fields.append(("howpublished", f"\\url{{{_bib_url(url)}}}"))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def append_entry(bib_text: str, entry: str) -> tuple[int, int, str]:
    """(line, character, new_text) appending `entry` after one blank line; existing bytes never change."""
    starts = _line_starts(bib_text)
    line, character = len(starts) - 1, len(bib_text) - starts[-1]
    nl = "\r\n" if "\r\n" in bib_text else "\n"
    body = nl.join(entry.strip("\r\n").splitlines()) + nl
    content = bib_text.rstrip()
    if not content:
        # Only whitespace so far: end an unfinished last line, add no blank lines.
        prefix = "" if not bib_text or bib_text.endswith(("\n", "\r")) else nl
        return line, character, prefix + body
    tail = bib_text[len(content) :]
    breaks = len(re.findall(r"\r\n|\r|\n", tail))
    unfinished = bool(tail) and not tail.endswith(("\n", "\r"))  # trailing spaces on the last line
    if breaks == 0:
        prefix = nl + nl
    elif breaks == 1:
        prefix = nl
    else:
        prefix = nl if unfinished else ""
    return line, character, prefix + body
