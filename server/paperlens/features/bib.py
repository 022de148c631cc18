"""The workspace's .bib files as the features see them: which keys exist, where, and where new entries go."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from lsprotocol import types as t

from ..feeds.bibtex import append_entry, format_bibtex
from ..index.core import Entry
from ..model import Paper
from .document import LATEX, MARKDOWN, DocAnalysis


@dataclass
class BibFile:
    uri: str
    path: Path | None
    text: str
    papers: list[Paper] = field(default_factory=list)
    ranges: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    encoding: str = "utf-8"  # as read from disk (decode_bib_bytes); appends should keep it


@dataclass
class Bibs:
    """All .bib files known to the server, by URI."""

    files: dict[str, BibFile] = field(default_factory=dict)

    def has_key(self, key: str) -> bool:
        return any(key in f.ranges for f in self.files.values())

    def location(self, key: str) -> t.Location | None:
        for f in self.files.values():
            r = f.ranges.get(key)
            if r:
                return t.Location(uri=f.uri, range=t.Range(start=t.Position(line=r[0], character=r[1]),
                                                           end=t.Position(line=r[2], character=r[3])))
        return None

    def papers(self) -> list[Paper]:
        return [p for f in self.files.values() for p in f.papers]


_LATEX_BIB = re.compile(r"\\(?:bibliography|addbibresource|addglobalbib)\s*(?:\[[^\]]*\])?\s*\{([^}]+)\}")
_MD_BIB = re.compile(r"^bibliography:\s*(.+)$", re.MULTILINE)


def target_bib(doc: DocAnalysis, bibs: Bibs, setting: str, root: Path | None) -> tuple[str, Path | None]:
    """Where a new entry goes: the setting, else the .bib the document names, else the only .bib, else refs.bib."""
    doc_dir = _doc_dir(doc.uri)
    if setting:
        p = Path(setting).expanduser()
        if not p.is_absolute():
            p = (root or doc_dir or Path.cwd()) / p
        return p.resolve().as_uri(), p
    text = "\n".join(doc.lines[:400]) if doc.kind == MARKDOWN else "\n".join(doc.lines)
    names: list[str] = []
    if doc.kind == LATEX:
        for m in _LATEX_BIB.finditer(text):
            names.extend(n.strip() for n in m.group(1).split(","))
    elif doc.kind == MARKDOWN:
        fm = _MD_BIB.search(text)
        if fm:
            names.append(fm.group(1).strip().strip("'\"[]"))
    for name in names:
        if not name:
            continue
        fname = name if name.endswith(".bib") else name + ".bib"
        base = doc_dir or root or Path.cwd()
        p = (base / fname).resolve()
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


def add_entry_edit(entry: Entry, bibs: Bibs, bib_uri: str, bib_path: Path | None) -> t.WorkspaceEdit | None:
    """A workspace edit that appends the entry (creating the file if needed); None when the key is there."""
    if bibs.has_key(entry.key):
        return None
    bib_text = format_bibtex(entry.paper, entry.key)
    f = bibs.files.get(bib_uri)
    if f is None and bib_path is not None and bib_path.is_file():
        text = bib_path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"@\w+\s*\{\s*" + re.escape(entry.key) + r"\s*,", text):
            return None
    else:
        text = f.text if f else None  # type: ignore[assignment]
    changes: list[t.TextDocumentEdit | t.CreateFile | t.RenameFile | t.DeleteFile] = []
    if text is None:
        changes.append(t.CreateFile(uri=bib_uri, options=t.CreateFileOptions(ignore_if_exists=True)))
        text = ""
    line, char, new_text = append_entry(text, bib_text)
    pos = t.Position(line=line, character=char)
    changes.append(t.TextDocumentEdit(
        text_document=t.OptionalVersionedTextDocumentIdentifier(uri=bib_uri, version=None),
        edits=[t.TextEdit(range=t.Range(start=pos, end=pos), new_text=new_text)]))
    return t.WorkspaceEdit(document_changes=changes)
