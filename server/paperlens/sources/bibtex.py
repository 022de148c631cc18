"""BibTeX: read a .bib into Papers, locate its entries, and write new entries (arXiv export style)."""

from __future__ import annotations

import bisect
import codecs
import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

from bibtexparser.middlewares.names import (
    InvalidNameError,
    parse_single_name_into_parts,
    split_multiple_persons_names,
)

from paperlens.core.ids import arxiv_abs_url, find_arxiv_ids, github_repo_in, github_url, paper_arxiv_id, parse_doi
from paperlens.core.model import Paper
from paperlens.core.priority import pause
from paperlens.core.rope import Rope, Text, as_str
from paperlens.core.text import last_name
from paperlens.sources.bibraw import NOT_ENTRIES as _NOT_ENTRIES
from paperlens.sources.bibraw import BadEntry, RawEntry, fields, line_start, scan, string_macro
from paperlens.sources.hf_page import parse_month
from paperlens.sources.latex import latex_to_text

_NOT_A_VENUE = re.compile(r"^\s*(arxiv|corr)\b", re.I)
_CONFERENCE = re.compile(
    r"proceedings|conference|workshop|symposium|\b(neurips|nips|icml|iclr|cvpr|iccv|eccv|acl|emnlp|naacl|"
    r"aaai|ijcai|kdd|sigir|www|interspeech|icassp|coling|colm|wacv|bmvc|miccai)\b",
    re.I,
)
_REPO_FIELDS = ("url", "howpublished", "note", "code", "github", "repository", "software")
_URL_IN_TEXT = re.compile(r"https?://[^\s{}\\]+")
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


READ_BLOCK = 1 << 16  # bytes decoded at a time by read_bib_file
# Bytes read and hashed at a time: each read and each hash lets the GIL go and takes it back at once, and a thread
# waiting for it meanwhile (the event loop, woken by a request) is not handed it then and waits again (CPython's
# GIL): a read and a hash per 64 KB block made requests wait ~2 ms for the GIL while a 98 MB file was read.
READ_CHUNK = 1 << 23


def read_bib_file(path: Path, rope_chars: int | None = None) -> tuple[Text, str, str]:
    """(text, encoding, content hash) of a .bib on disk, as decode_bib_bytes and a blake2b of its bytes would
    give them. A UTF-8 file is read and decoded READ_BLOCK bytes at a time (an incremental decoder keeps a
    character cut by a block's edge for the next block); longer than `rope_chars` characters, and with lines
    ending at '\n' (a CR only in a CRLF), it stays a Rope of those blocks: never one string (a 98 MB file is a
    196 MB string when a single character is wider than Latin-1, and decoding it in one call holds the GIL for
    ~0.3 s while requests wait). Other encodings (told apart by looking at the whole file) are read whole."""
    h = hashlib.blake2b(digest_size=16)
    pieces: list[str] = []
    with path.open("rb") as f:
        data = f.read(READ_CHUNK)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return _read_whole(path)
        sig = data.startswith(b"\xef\xbb\xbf")
        dec = codecs.getincrementaldecoder("utf-8")("replace" if sig else "strict")
        skip = 3 if sig else 0
        cr = crlf = 0
        try:
            while data:
                h.update(data)
                view = memoryview(data)
                for a in range(skip, len(data), READ_BLOCK):
                    if not (a // READ_BLOCK) & 15:
                        pause()  # (every 1 MB, ~0.2 ms of decoding: a request in flight goes first)
                    piece = dec.decode(view[a:a + READ_BLOCK])
                    if "\r" in piece or (piece[:1] == "\n" and pieces and pieces[-1][-1:] == "\r"):
                        cr += piece.count("\r")  # (a CRLF cut by a block's edge counts as one)
                        crlf += piece.count("\r\n") + (piece[:1] == "\n" and bool(pieces) and pieces[-1][-1:] == "\r")
                    if piece:
                        pieces.append(piece)
                skip = 0
                view.release()
                data = f.read(READ_CHUNK)
            last = dec.decode(b"", final=True)
        except UnicodeDecodeError:
            del pieces
            return _read_whole(path)
    if last:
        pieces.append(last)
        cr += last.count("\r")
    encoding = "utf-8-sig" if sig else "utf-8"
    size = sum(map(len, pieces))
    if rope_chars is not None and size > rope_chars and cr == crlf:
        return Rope.of_chunks(pieces), encoding, h.hexdigest()
    return "".join(pieces), encoding, h.hexdigest()


def _read_whole(path: Path) -> tuple[str, str, str]:
    data = path.read_bytes()
    text, encoding = decode_bib_bytes(data)
    return text, encoding, hashlib.blake2b(data, digest_size=16).hexdigest()


_ENCODING_NOTE = ": not UTF-8; read as "


def encoding_note(path: object, encoding: str) -> str | None:
    """The warning for a .bib that is not UTF-8 (None when it is): which encoding it was read as."""
    if encoding in ("utf-8", "utf-8-sig"):
        return None
    return f"{path}{_ENCODING_NOTE}{encoding}"


def is_encoding_note(warning: str) -> bool:
    """A warning the user should see (the editor shows it): a file was read in another encoding than UTF-8."""
    return _ENCODING_NOTE in warning


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
    return latex_to_text(s)


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


def _date(fields: dict[str, str]) -> tuple[dt.date | None, str | None]:
    """(date, precision) from year/month or a biblatex `date`: only as precise as the entry ("year", "month",
    None for a full day), so a year-only entry is never shown as Jan 1."""
    m = re.search(r"\b(\d{4})\b", fields.get("year", ""))
    if m is None:
        m2 = re.match(r"\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", fields.get("date", ""))
        if m2 is None:
            return None, None
        try:
            return dt.date(int(m2[1]), int(m2[2] or 1), int(m2[3] or 1)), (
                None if m2[3] else "month" if m2[2] else "year")
        except ValueError:
            return dt.date(int(m2[1]), 1, 1), "year"
    year = int(m.group(1))
    month_raw = _decode(fields.get("month", "")).strip(" .")
    month = int(month_raw) if month_raw.isdigit() else parse_month(month_raw) if month_raw else None
    if month is None or not 1 <= month <= 12:
        return dt.date(year, 1, 1), "year"
    day = re.fullmatch(r"\d{1,2}", fields.get("day", "").strip())
    if day:
        try:
            return dt.date(year, month, int(day.group())), None
        except ValueError:
            pass
    return dt.date(year, month, 1), "month"


def _arxiv(fields: dict[str, str]) -> str | None:
    """The entry's new-style arXiv id: its eprint (when the eprint is arXiv's), else a link, 'arXiv:' id or
    arXiv DOI in another field, a bare id in a field that says arXiv ('arXiv preprint 2404.00722'), or DBLP's
    `volume = {abs/1706.03762}` (with `journal = {CoRR}`)."""
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").strip().lower()
    if prefix == "arxiv" and (aid := paper_arxiv_id(fields.get("eprint"))):
        return aid
    for key in ("url", "doi", "journal", "volume", "note", "howpublished", "booktitle"):
        value = fields.get(key)
        if not value:
            continue
        if key == "volume" and value.startswith("abs/") and (aid := paper_arxiv_id(value[4:])):
            return aid
        for found in find_arxiv_ids(value, bare="arxiv" in value.lower()):
            if aid := paper_arxiv_id(found.value):
                return aid
    return None


def _url(fields: dict[str, str]) -> str | None:
    if fields.get("url"):
        return _raw(fields["url"])
    m = _URL_IN_TEXT.search(fields.get("howpublished", ""))
    return m.group(0) if m else None


def _paper(kind: str, key: str, fields: dict[str, str], source: str) -> Paper:
    title = _decode(fields.get("title", ""))
    if not title:
        raise _Skip("no title")
    venue_raw = fields.get("journal") or fields.get("journaltitle") or fields.get("booktitle") or ""
    venue = _decode(venue_raw) if venue_raw and not _NOT_A_VENUE.match(venue_raw) else None
    doi = parse_doi(_raw(fields.get("doi", "")))
    primary = (fields.get("primaryclass") or fields.get("eprintclass") or "").strip() or None
    date, precision = _date(fields)
    return Paper(
        title=title,
        abstract=_decode(fields.get("abstract", "")),
        authors=_names(fields.get("author", "") or fields.get("editor", "")),
        date=date,
        date_precision=precision,
        arxiv_id=_arxiv(fields),
        repo=github_repo_in(" ".join(fields.get(k, "") for k in _REPO_FIELDS)),
        primary_class=primary,
        venue=venue or None,
        doi=doi,
        url=_url(fields),
        bib_key=key,
        bib_type=kind,
        source=f"bib:{source}",
    )


_AND = re.compile(r"\s+and\s+", re.I)


def _first_last(name: str) -> str:
    """'Vaswani, Ashish' -> 'Ashish Vaswani' (the light path; full names go through bibtexparser's parser)."""
    name = " ".join(name.split())
    if "," in name and not name.startswith("{"):
        last, _, first = name.partition(",")
        return f"{first.strip()} {last.strip()}".strip()
    return name


def _last_folded(display: str) -> str:
    return last_name(display) if display else ""


# biblatex: what a child takes from its crossref parent under another name (a book's title is a chapter's
# booktitle); everything else is inherited under its own name.
_CROSSREF_AS = {"title": "booktitle", "subtitle": "booksubtitle", "author": "bookauthor"}


class BibDocument:
    """A .bib text read lazily: the scan finds every entry and key at once; fields, macros, crossref/xdata
    inheritance and Papers come when asked for. The text is kept as the user wrote it."""

    def __init__(self, text: Text, source: str, blocks: list[RawEntry] | None = None) -> None:
        self.text = text
        self.source = source
        self.use_scan(scan(text) if blocks is None else blocks)

    def use_scan(self, blocks: list[RawEntry]) -> None:
        """Take the blocks of this text (a fresh scan, or a cached one for the same content)."""
        self.blocks = blocks
        self.entries: list[RawEntry] = []
        self.by_key: dict[str, int] = {}
        self._lower: dict[str, int] | None = None
        self.duplicates: list[RawEntry] = []
        self.nameless: list[RawEntry] = []
        self._macros: dict[str, str] | None = None
        self._starts: list[int] | None = None
        self._parents: tuple[Text, list[RawEntry], dict[int, dict[str, str]]] | None = None  # _parent_fields
        for n, b in enumerate(self.blocks):
            if not n & 1023:
                pause()  # (a loader's thread: a request in flight goes first)
            if b.kind in _NOT_ENTRIES:
                continue
            if not b.key:
                self.nameless.append(b)
            elif b.key in self.by_key:
                self.duplicates.append(b)
            else:
                self.by_key[b.key] = len(self.entries)
                self.entries.append(b)
        self._last = (0, 0)  # (offset, its line): where _pos counts from

    def use_text(self, text: Text) -> None:
        """The same text in another form (a rope): what was kept by the text's identity goes with the old one."""
        self.text, self._parents = text, None

    def use_macros(self, macros: dict[str, str]) -> None:
        """This text's @string macros, as `macros` read them before (a cache of the same content)."""
        self._macros = macros

    @property
    def macros(self) -> dict[str, str]:
        """@string macros (lower-cased names), each expanded with the ones before it."""
        if self._macros is None:
            macros: dict[str, str] = {}
            for b in self.blocks:
                if b.kind == "string" and (kv := string_macro(self.text, b, macros)) is not None:
                    macros[kv[0]] = kv[1]
                    if not len(macros) & 63:
                        pause()  # (cryptobib's 10,000 macros: ~0.1 s, read by a loader's thread)
            self._macros = macros
        return self._macros

    def line_of(self, offset: int) -> int:
        """0-based line of an offset."""
        if self._starts is None:
            self._starts = _line_starts(as_str(self.text))
        return bisect.bisect_right(self._starts, offset) - 1

    def own_fields(self, i: int) -> dict[str, str]:
        return fields(self.text, self.entries[i], self.macros)

    def fields(self, i: int, _depth: int = 0) -> dict[str, str]:
        """The entry's fields with crossref and xdata parents' fields filled in (BadEntry if unreadable)."""
        own = self.own_fields(i)
        if _depth > 4 or not (own.get("crossref") or own.get("xdata")):
            return own
        out = dict(own)
        for name in (own.get("xdata") or "").split(","):
            j = self._find(name.strip())
            if j is not None and j != i:
                for k, v in self._parent_fields(j, _depth).items():
                    out.setdefault(k, v)
        parent = own.get("crossref", "").strip()
        j = self._find(parent) if parent else None
        if j is not None and j != i:
            pf = self._parent_fields(j, _depth)
            for k, v in pf.items():
                if k in _CROSSREF_AS and k in pf:
                    out.setdefault(_CROSSREF_AS[k], v)
                    if k == "author":
                        continue
                if k not in ("title", "subtitle", "ids", "crossref", "xdata", "entryset", "label"):
                    out.setdefault(k, v)
        return out

    def _parent_fields(self, j: int, depth: int) -> dict[str, str]:
        """A crossref/xdata parent's fields; those read for a child (not deeper) are kept for its siblings (a
        cryptobib paper's proceedings entry is the parent of hundreds), as long as the text is this one."""
        memo = self._parents
        if memo is None or memo[0] is not self.text or memo[1] is not self.entries:
            memo = self._parents = (self.text, self.entries, {})
        if depth == 0 and j in memo[2]:
            return memo[2][j]
        try:
            got = self.fields(j, depth + 1)
        except BadEntry:
            got = {}
        if depth == 0:
            memo[2][j] = got
        return got

    def _find(self, key: str) -> int | None:
        """Entry index of a key; BibTeX matches crossref keys case-insensitively."""
        if key in self.by_key:
            return self.by_key[key]
        if self._lower is None:
            self._lower = {}
            for k, i in self.by_key.items():
                self._lower.setdefault(k.lower(), i)
        return self._lower.get(key.lower())

    def paper(self, i: int) -> Paper:
        """The entry as a Paper (BadEntry or ValueError with the reason when it cannot be one)."""
        e = self.entries[i]
        try:
            return _paper(e.kind, e.key, self.fields(i), self.source)
        except _Skip as x:
            raise ValueError(str(x)) from None

    def light(self, i: int) -> tuple[str, str, str, str, int | None, str | None, str | None]:
        """What search needs, without decoding abstracts or whole author lists: (key, title, authors_short,
        first author's folded last name, year, arXiv id, DOI). BadEntry/ValueError when unreadable."""
        e = self.entries[i]
        fs = self.fields(i)
        title = _decode(fs.get("title", ""))
        if not title:
            raise ValueError("no title")
        names = _AND.split(fs.get("author", "") or fs.get("editor", ""), maxsplit=2)
        names = [n for n in names if n.strip() and n.strip().lower() not in ("others", "{others}")]
        first = _decode(_first_last(names[0])) if names else ""
        short = first + (" et al." if len(names) > 1 else "") if first else ""
        date, _ = _date(fs)
        doi = parse_doi(_raw(fs.get("doi", "")))
        return (e.key, title, short, _last_folded(first), date.year if date else None, _arxiv(fs), doi)

    def warning(self, e: RawEntry, reason: str) -> str:
        return f"{self.source}:{self.line_of(e.start) + 1}: {reason}"

    def papers(self) -> tuple[list[Paper], list[str]]:
        """Every readable entry as a Paper, in file order, and one warning per other entry (line and key)."""
        papers: list[Paper] = []
        warnings: list[tuple[int, str]] = []
        for i, e in enumerate(self.entries):
            try:
                papers.append(self.paper(i))
            except BadEntry as x:
                warnings.append((e.start, self.warning(e, f"could not read entry `{e.key}`: {x}")))
            except ValueError as x:
                warnings.append((e.start, self.warning(e, f"entry `{e.key}` skipped: {x}")))
        for e in self.duplicates:
            warnings.append((e.start, self.warning(
                e, f"duplicate key `{e.key}`: this entry is ignored, the first one is used")))
        for e in self.nameless:
            warnings.append((e.start, self.warning(e, f"an @{e.kind} entry without a key is ignored")))
        return papers, [w for _, w in sorted(warnings)]

    def ranges(self) -> dict[str, tuple[int, int, int, int]]:
        """Each key's (start_line, start_col, end_line, end_col): 0-based code points, end exclusive."""
        out: dict[str, tuple[int, int, int, int]] = {}
        for e in self.entries:
            out[e.key] = self.range_of(e)
        return out

    def range_of(self, e: RawEntry) -> tuple[int, int, int, int]:
        a, b = self._pos(e.start), self._pos(e.end)
        return (*a, *b)

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of an offset: 0-based, code points."""
        return self._pos(offset)

    def _pos(self, offset: int) -> tuple[int, int]:
        """(line, column) of an offset. Line breaks are counted (\\n, \\r\\n, \\r) from the last offset asked
        for, so walking the entries in order costs one pass over the text, at C speed."""
        text = self.text
        lo, line = self._last
        if offset < lo:
            lo, line = 0, 0
        crlf = text.count("\r\n", lo, offset) + (1 if lo > 0 and text[lo - 1] == "\r" and text[lo:lo + 1] == "\n"
                                                 and offset > lo else 0)
        line += text.count("\n", lo, offset) + text.count("\r", lo, offset) - crlf
        self._last = (offset, line)
        return line, offset - line_start(text, offset)

def parse_bib(text: str, source: str) -> tuple[list[Paper], list[str]]:
    """Papers (one per readable entry, in file order) and warnings naming the line and key of the rest."""
    return BibDocument(text, source).papers()


def _line_starts(text: str) -> list[int]:
    """Offsets where lines start; LSP line breaks are \\n, \\r\\n and \\r."""
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]


def bib_entry_ranges(text: str) -> dict[str, tuple[int, int, int, int]]:
    """Each entry key's (start_line, start_col, end_line, end_col): 0-based code points, end exclusive."""
    return BibDocument(text, "").ranges()


def existing_keys(bib_text: str) -> set[str]:
    """The keys of the entries in a .bib text (a cheap scan, no parsing)."""
    return {b.key for b in scan(bib_text) if b.kind not in _NOT_ENTRIES and b.key}


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
    return re.sub(r"[\s{}\\\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
                  lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url.strip()[:MAX_URL])


MAX_FIELD, MAX_NAME, MAX_URL = 1000, 200, 2000  # characters of a title/venue and of one author name written to a .bib


def format_bibtex(paper: Paper, key: str) -> str:
    """A BibTeX entry for `paper`, in arXiv's export style for preprints.

    Without author names (only an 'N authors' count, as on the HF page) the author field is omitted rather
    than invented, and `note = {Author names not available (N authors)}` says so.
    """
    if not _KEY_RE.match(key):
        raise ValueError(f"not a usable BibTeX key: {key!r}")
    # A feed's megabyte title or author name is clipped: it must not become a megabyte in the user's .bib.
    fields: list[tuple[str, str]] = [("title", _tex_title(paper.title[:MAX_FIELD]))]
    if paper.authors:
        fields.append(("author", " and ".join(_tex_name(a[:MAX_NAME]) for a in paper.authors)))
    elif paper.author_count:
        n = paper.author_count
        fields.append(("note", f"Author names not available ({n} author{'s' if n != 1 else ''})"))
    if paper.venue:
        conf = paper.bib_type == "inproceedings" or (
            paper.bib_type != "article" and bool(_CONFERENCE.search(paper.venue))
        )
        kind = "inproceedings" if conf else "article"
        fields.append(("booktitle" if conf else "journal", _tex(" ".join(paper.venue[:MAX_FIELD].split()))))
    else:
        kind = "misc"
    if paper.date:
        fields.append(("year", str(paper.date.year)))
    aid = paper_arxiv_id(paper.arxiv_id)
    if aid:
        fields += [("eprint", aid), ("archivePrefix", "arXiv")]
        if paper.primary_class and re.fullmatch(r"[a-z-]+(\.[A-Za-z-]+)?", paper.primary_class):
            fields.append(("primaryClass", paper.primary_class))
    if paper.doi:
        fields.append(("doi", _bib_url(paper.doi)))
    # A published paper keeps its own URL; a preprint links to arXiv.
    if (arxiv_url := None if paper.venue and paper.url else arxiv_abs_url(aid)) is not None:
        fields.append(("url", arxiv_url))
    else:
        url = paper.url or paper.project_page or github_url(paper.repo)
        if url:
            fields.append(("url", _bib_url(url)))
            if kind == "misc":
                fields.append(("howpublished", f"\\url{{{_bib_url(url)}}}"))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def append_entry(bib_text: str, entry: str, encoding: str = "utf-8") -> tuple[int, int, str]:
    """(line, character, new_text) appending `entry` after one blank line; existing bytes never change. The
    entry takes the file's line ending, and is made ASCII when the file (read as `encoding`) is not UTF-8:
    ASCII bytes are the same in every encoding a .bib is found in (a UTF-16 file is written as text by the
    editor), so the new entry cannot be mis-encoded and the file's own bytes are not re-interpreted."""
    if encoding not in ("utf-8", "utf-8-sig"):
        entry = ascii_tex(entry)
    starts = _line_starts(bib_text)
    line, character = len(starts) - 1, len(bib_text) - starts[-1]
    nl = detect_newline(bib_text)
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
