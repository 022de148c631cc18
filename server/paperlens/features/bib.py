"""The workspace's .bib files as the features see them: which keys exist, where, and where new entries go."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN
from paperlens.core.model import Paper
from paperlens.features.bibcheck import BibScan, scan_bib
from paperlens.features.results import Place, Region, TextChange
from paperlens.index.core import Entry
from paperlens.sources.bibtex import (
    BibDocument,
    append_entry,
    decode_bib_bytes,
    existing_keys,
    format_bibtex,
)


class BibFile:
    """One .bib as the server holds it: the text as written (and its encoding), read lazily (BibDocument): the
    scan finds every key at once; fields, papers and ranges come when asked for."""

    def __init__(self, uri: str, path: Path | None, text: str, papers: list[Paper] | None = None,
                 ranges: dict[str, tuple[int, int, int, int]] | None = None, warnings: list[str] | None = None,
                 encoding: str = "utf-8", doc: BibDocument | None = None) -> None:
        self.uri = uri
        self.path = path
        self.text = text
        self.warnings = warnings if warnings is not None else []
        self.encoding = encoding  # as read from disk (decode_bib_bytes); appends should keep it
        self.doc = doc if doc is not None else BibDocument(text, str(path) if path else uri)
        self._papers = papers
        self._ranges = ranges
        self._scan: BibScan | None = None
        self._bare: list[tuple[str, str]] | None = None

    @property
    def ranges(self) -> dict[str, tuple[int, int, int, int]]:
        """Every key's range (computed on first use: a large file's keys are looked up one at a time)."""
        if self._ranges is None:
            self._ranges = self.doc.ranges()
        return self._ranges

    def has(self, key: str) -> bool:
        return key in self.doc.by_key if self._ranges is None else key in self._ranges

    def range(self, key: str) -> tuple[int, int, int, int] | None:
        if self._ranges is not None:
            return self._ranges.get(key)
        i = self.doc.by_key.get(key)
        return self.doc.range_of(self.doc.entries[i]) if i is not None else None

    @property
    def papers(self) -> list[Paper]:
        """Every readable entry as a Paper (decodes the whole file: for small files and feeds)."""
        if self._papers is None:
            self._papers = self.doc.papers()[0]
        return self._papers

    def head(self, key: str) -> tuple[str, tuple[int, int], tuple[int, int]] | None:
        """(entry type, key start, key end) of an entry, from the scan made at load (no scan of the file)."""
        i = self.doc.by_key.get(key)
        if i is None:
            return None
        e = self.doc.entries[i]
        return e.kind, self.doc.position(e.body - len(e.key)), self.doc.position(e.body)

    def bare_entries(self) -> list[tuple[str, str]]:
        """(key, type) of the entries that do not become papers (no title: only a URL, `@article{foo,}`):
        still citable by their key. A cheap look for a title field in each entry, once per version."""
        if self._bare is None:
            if self._papers is not None:
                have = {p.bib_key for p in self._papers}
                self._bare = [(e.key, e.kind) for e in self.doc.entries if e.key not in have]
            else:
                self._bare = [(e.key, e.kind) for e in self.doc.entries
                              if not _TITLE_FIELD.search(self.text, e.body, e.end)]
        return self._bare

    @property
    def scanned(self) -> bool:
        return self._scan is not None

    @property
    def scan(self) -> BibScan:
        """Every entry with its key's range, and what BibTeX would reject; read on first use."""
        if self._scan is None:
            self._scan = scan_bib(self.text)
        return self._scan


_TITLE_FIELD = re.compile(r"[\s,{(]title\s*=\s*[{\"\w]", re.I)


def _loc(uri: str, a: tuple[int, int], b: tuple[int, int]) -> Place:
    return Place(uri, Region(a[0], a[1], b[0], b[1]))


@dataclass
class Bibs:
    """All .bib files known to the server, by URI."""

    files: dict[str, BibFile] = field(default_factory=dict)

    def has_key(self, key: str) -> bool:
        return any(f.has(key) for f in list(self.files.values()))

    def location(self, key: str, prefer: list[str] | None = None) -> Place | None:
        """The entry's whole range; in the files the document loads (`prefer`) first."""
        for f in self._ordered(prefer):
            r = f.range(key)
            if r:
                return _loc(f.uri, (r[0], r[1]), (r[2], r[3]))
        return None

    def key_locations(self, key: str, only: list[str] | None = None) -> list[Place]:
        """Where the key is declared (the key itself, in each file; only the files listed when given)."""
        out = []
        for f in list(self.files.values()):
            if (only is None or f.uri in only) and f.has(key):
                h = f.head(key)
                if h is not None:
                    out.append(_loc(f.uri, h[1], h[2]))
        return out

    def _ordered(self, prefer: list[str] | None) -> list[BibFile]:
        files = list(self.files.values())  # a copy: a background read may add a file meanwhile
        if prefer:
            files.sort(key=lambda f: f.uri not in prefer)
        return files

    def bare_keys(self, only: list[str] | None = None) -> list[tuple[str, str]]:
        """(key, entry type) of the entries that are not papers: in the files the document loads when given
        (an entry from another .bib would be an undefined citation there), else in every file."""
        return [x for f in list(self.files.values()) if only is None or f.uri in only for x in f.bare_entries()]

    def papers(self) -> list[Paper]:
        return [p for f in list(self.files.values()) for p in f.papers]


LATEX_BIB_RE = re.compile(r"\\(?:bibliography|addbibresource|addglobalbib)\s*(?:\[[^\]]*\])?\s*\{([^}]+)\}")
_MD_BIB = re.compile(r"^bibliography:\s*(.+)$", re.MULTILINE)
_MD_BIB_LIST = re.compile(r"^bibliography:\s*\n((?:[ \t]+-[ \t]*.+\n?)+)", re.MULTILINE)


def resource_names(doc: DocAnalysis) -> list[str]:
    """The .bib files a document names: \\bibliography{a,b}, \\addbibresource{x.bib}, pandoc `bibliography:`."""
    names: list[str] = []
    if doc.kind == LATEX:
        for m in LATEX_BIB_RE.finditer("\n".join(doc.lines)):
            names.extend(n.strip() for n in m.group(1).split(","))
    elif doc.kind == MARKDOWN:
        head = "\n".join(doc.lines[:400])
        lm = _MD_BIB_LIST.search(head)
        fm = _MD_BIB.search(head)
        if lm:
            names.extend(x.strip().lstrip("-").strip().strip("'\"") for x in lm.group(1).splitlines())
        elif fm:
            value = fm.group(1).strip()
            if value.startswith("["):
                names.extend(x.strip().strip("'\"") for x in value.strip("[]").split(","))
            else:
                names.append(value.strip("'\""))
    return [n if n.endswith(".bib") else n + ".bib" for n in names if n]


def resources(doc: DocAnalysis, bibs: Bibs, root: Path | None = None, *, every: bool = False) -> list[str] | None:
    """URIs of the known .bib files the document loads; None when it names none that we know (or, with
    `every`, when one of the names it gives is not a .bib we know: then nothing can be said for sure)."""
    names = resource_names(doc)
    if not names:
        return None
    base = _doc_dir(doc.uri)
    known = {f.path.resolve(): f.uri for f in bibs.files.values() if f.path is not None}
    out: list[str] = []
    for n in names:
        found = [known[p] for p in {(b / n).resolve() for b in (base, root) if b is not None} if p in known]
        if not found and every:
            return None
        out.extend(u for u in found if u not in out)
    return out or None


class BibWriteRefused(ValueError):
    """A write the path policy refuses; the message names the path and the reason."""


def target_bib(doc: DocAnalysis, bibs: Bibs, setting: str, root: Path | None) -> tuple[str, Path | None]:
    """Where a new entry goes: the setting, else the .bib the document names, else the only .bib, else refs.bib.
    Only a candidate: `check_write_target` decides whether PaperLens may write there."""
    doc_dir = _doc_dir(doc.uri)
    if setting:
        p = Path(setting).expanduser()
        if not p.is_absolute():
            p = (root or doc_dir or Path.cwd()) / p
        return p.resolve().as_uri(), p
    names = resource_names(doc)  # also pandoc's list forms (`bibliography: [a.bib]`, `- a.bib`)
    for name in names:
        if not name:
            continue
        fname = name if name.endswith(".bib") else name + ".bib"
        base = doc_dir or root or Path.cwd()
        p = (base / Path(fname).expanduser()).resolve()
        return p.as_uri(), p
    if len(bibs.files) == 1:
        f = next(iter(bibs.files.values()))
        return f.uri, f.path
    base = doc_dir or root or Path.cwd()
    p = (base / "refs.bib").resolve()
    return p.as_uri(), p


def _doc_dir(uri: str) -> Path | None:
    u = urlparse(uri)
    if u.scheme != "file":
        return None
    return Path(url2pathname(u.path)).parent


# ------------------------------------------------------------------ the one path policy for writes


def write_roots(folders: Sequence[Path], doc_uri: str) -> list[Path]:
    """The folders PaperLens may write in: the workspace folders; with none, the document's own folder."""
    roots = [f for f in folders if str(f)]
    if not roots:
        d = _doc_dir(doc_uri)
        if d is not None:
            roots = [d]
    return roots


def check_write_target(path: Path | None, roots: Sequence[Path]) -> Path:
    """The real path of a .bib PaperLens may append to: a `.bib` (after resolving links) inside one of the roots.
    Raises BibWriteRefused naming the path and the reason otherwise."""
    if path is None:
        raise BibWriteRefused("no file to write to")
    shown = str(path)
    if path.suffix.lower() != ".bib":
        raise BibWriteRefused(f"not writing to {shown}: only .bib files are written")
    try:
        real = path.expanduser().resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise BibWriteRefused(f"not writing to {shown}: {e}") from e
    if real.suffix.lower() != ".bib":
        raise BibWriteRefused(f"not writing to {shown}: it links to {real}, which is not a .bib file")
    inside = False
    for r in roots:
        try:
            inside = inside or real.is_relative_to(r.expanduser().resolve())
        except (OSError, RuntimeError):
            continue
    if not inside:
        where = ", ".join(str(r) for r in roots) or "no workspace folder"
        raise BibWriteRefused(f"not writing to {shown}: it is outside the workspace folders ({where})")
    if real.exists() and not real.is_file():
        raise BibWriteRefused(f"not writing to {shown}: not a regular file")
    return real


@dataclass(frozen=True)
class BibText:
    """A .bib as it is right now: its text (line endings kept), how its bytes decode, the open document's version."""

    text: str | None  # None: the file does not exist yet
    encoding: str = "utf-8"
    version: int | None = None


def read_bib_now(path: Path, open_text: str | None = None, open_version: int | None = None) -> BibText:
    """The .bib right before an edit is computed: the editor's copy when it is open, else the file's bytes."""
    if open_text is not None:
        return BibText(open_text, "utf-8", open_version)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return BibText(None)
    text, enc = decode_bib_bytes(data)
    return BibText(text, enc, None)


def append_entry_edit(entry: Entry, uri: str, now: BibText) -> TextChange | None:
    """The edit that appends the entry to the .bib as it is now (its line endings; ASCII only when the file is
    not UTF-8; versioned when open; creating the file when there is none); None when the key is already there."""
    if now.text is not None and entry.key in existing_keys(now.text):
        return None
    bib_text = format_bibtex(entry.paper, entry.key)
    line, char, new_text = append_entry(now.text or "", bib_text, now.encoding)
    return TextChange(uri, Region.at(line, char), new_text, version=now.version, create=now.text is None)
