"""The workspace's .bib files as the features see them: which keys exist, where, and where new entries go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from paperlens.analysis.bibs import Bibs, resource_names
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.uris import doc_dir
from paperlens.features.results import Region, TextChange
from paperlens.index.core import Entry
from paperlens.sources.bibtex import (
    append_entry,
    decode_bib_bytes,
    existing_keys,
    format_bibtex,
)


class BibWriteRefused(ValueError):
    """A write the path policy refuses; the message names the path and the reason."""


def target_bib(doc: DocAnalysis, bibs: Bibs, setting: str, root: Path | None) -> tuple[str, Path | None]:
    """Where a new entry goes: the setting, else the .bib the document names, else the only .bib, else refs.bib.
    Only a candidate: `check_write_target` decides whether PaperLens may write there."""
    folder = doc_dir(doc.uri)
    if setting:
        p = Path(setting).expanduser()
        if not p.is_absolute():
            p = (root or folder or Path.cwd()) / p
        return p.resolve().as_uri(), p
    names = resource_names(doc)  # also pandoc's list forms (`bibliography: [a.bib]`, `- a.bib`)
    for name in names:
        if not name:
            continue
        fname = name if name.endswith(".bib") else name + ".bib"
        base = folder or root or Path.cwd()
        p = (base / Path(fname).expanduser()).resolve()
        return p.as_uri(), p
    if len(bibs.files) == 1:
        f = next(iter(bibs.files.values()))
        return f.uri, f.path
    base = folder or root or Path.cwd()
    p = (base / "refs.bib").resolve()
    return p.as_uri(), p


# ------------------------------------------------------------------ the one path policy for writes


def write_roots(folders: Sequence[Path], doc_uri: str) -> list[Path]:
    """The folders PaperLens may write in: the workspace folders; with none, the document's own folder."""
    roots = [f for f in folders if str(f)]
    if not roots:
        d = doc_dir(doc_uri)
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
