"""The workspace's .bib files as the server holds them: which keys exist and where, and which files a
document loads. (Where new entries go is features/bib.py's write policy.)"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN, Place, Region
from paperlens.analysis.uris import doc_dir
from paperlens.core.model import Paper
from paperlens.core.priority import pause
from paperlens.core.rope import Text, as_str, window
from paperlens.sources.bibcheck import BibCheck, BibScan, line_starts
from paperlens.sources.bibraw import NOT_ENTRIES, RawEntry
from paperlens.sources.bibtex import BibDocument


class BibFile:
    """One .bib as the server holds it: the text as written (and its encoding), read lazily (BibDocument): the
    scan finds every key at once; fields, papers and ranges come when asked for."""

    def __init__(self, uri: str, path: Path | None, text: Text, papers: list[Paper] | None = None,
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
        self.check: BibCheck | None = None  # the syntax check in offsets; an edit moves it to the next version
        self.where: Callable[[int], tuple[int, int]] | None = None  # offset -> (line, column), when known cheaply
        self._bare: list[tuple[str, str]] | None = None
        # Its entries without a title are being found in a worker thread (a large file's first read, after its
        # keys are in): offered once known; meanwhile their keys answer as key-only records in the index.
        self.bare_later = False
        self._marked: bool | None = None  # a 'paperlens:' or 'texlab:' comment in the text (see `marked`)

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

    def bare_entries(self, papers: bytes | None = None) -> list[tuple[str, str]]:
        """(key, type) of the entries that do not become papers (no title: only a URL, `@article{foo,}`):
        still citable by their key. A cheap look for a title field in each entry, once per version; `papers`
        (1 per entry that became a paper, from a cached read's records) answers without looking (a look per
        entry of a 72,000-entry file held the interpreter ~1.6 s while it loaded)."""
        if self._bare is None:
            if papers is not None and len(papers) == len(self.doc.entries):
                # The zeros found by bytes.find (C speed): a comprehension over 72,000 held the GIL ~5 ms.
                entries = self.doc.entries
                bare_: list[tuple[str, str]] = []
                i = papers.find(0)
                while i >= 0:
                    bare_.append((entries[i].key, entries[i].kind))
                    i = papers.find(0, i + 1)
                self._bare = bare_
            elif self._papers is not None:
                have = {p.bib_key for p in self._papers}
                self._bare = [(e.key, e.kind) for e in self.doc.entries if e.key not in have]
            else:
                bare: list[tuple[str, str]] = []
                for n, e in enumerate(self.doc.entries):
                    if not n & 255:
                        pause()  # (~1.6 s at 72k, in a loader's thread: a request in flight goes first)
                    if not _has_title(self.text, e):
                        bare.append((e.key, e.kind))
                self._bare = bare
        return self._bare

    def marked(self) -> bool:
        """Whether the text may hold a 'paperlens:'/'texlab:' comment (one that silences diagnostics): searched
        once, then kept through edits (an edit searches the region it re-read; one that removes the last such
        comment leaves it True, which costs a look at the lines, not a wrong answer)."""
        if self._marked is None:
            self._marked = _has_marks(self.text, 0, len(self.text))
        return self._marked

    @property
    def scanned(self) -> bool:
        return self._scan is not None

    def follow(self, old: BibFile, start: int, old_stop: int, new_stop: int, gone_keys: list[str],
               fresh: list[RawEntry]) -> None:
        """This file is `old` after an edit that replaced old.text[start:old_stop] by text[start:new_stop], whose
        blocks are `fresh` (the entries `gone_keys` were there): keep what is known of `old` (the syntax check,
        the entries without a title), updated for that region only."""
        if old._marked is not None:  # (a mark cannot span the region's ends: they are at an '@' starting a line)
            self._marked = old._marked or _has_marks(self.text, start, new_stop)
        if old.check is not None:
            self.check, old.check = old.check, None
            self.check.edited(self.text, start, old_stop, new_stop, gone_keys)
        if old._bare is not None and old._papers is None:
            gone = set(gone_keys)
            self._bare = [x for x in old._bare if x[0] not in gone] + [
                (e.key, e.kind) for e in fresh
                if e.kind not in NOT_ENTRIES and not _has_title(self.text, e)]

    @property
    def scan(self) -> BibScan:
        """Every entry with its key's range, and what BibTeX would reject; checked on first use (after an edit,
        only the entries it touched are: `check` comes from the version before)."""
        if self._scan is None:
            if self.check is None:
                self.check = BibCheck.of(as_str(self.text))
            where = self.where
            if where is None:
                starts = line_starts(as_str(self.text))

                def where(offset: int) -> tuple[int, int]:
                    line = bisect.bisect_right(starts, offset) - 1
                    return line, offset - starts[line]
            self._scan = self.check.scan(where, self._keyed)
        return self._scan

    def _keyed(self) -> Iterator[tuple[str, int, int]]:
        return ((b.key, b.body - len(b.key), b.body) for b in self.doc.blocks if b.key and b.kind not in NOT_ENTRIES)


_TITLE_FIELD = re.compile(r"[\s,{(]title\s*=\s*[{\"\w]", re.I)


def _has_marks(text: Text, a: int, b: int) -> bool:
    return text.find("paperlens:", a, b) >= 0 or text.find("texlab:", a, b) >= 0  # (at C speed, chunk by chunk)


def _has_title(text: Text, e: RawEntry) -> bool:
    s, base = window(text, e.body, e.end)
    return _TITLE_FIELD.search(s, e.body - base, e.end - base) is not None


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
        return [x for f in list(self.files.values()) if (only is None or f.uri in only) and not f.bare_later
                for x in f.bare_entries()]

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
    base = doc_dir(doc.uri)
    known = {f.path.resolve(): f.uri for f in bibs.files.values() if f.path is not None}
    out: list[str] = []
    for n in names:
        found = [known[p] for p in {(b / n).resolve() for b in (base, root) if b is not None} if p in known]
        if not found and every:
            return None
        out.extend(u for u in found if u not in out)
    return out or None
