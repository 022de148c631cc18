"""Diagnostics, quiet by default: unknown cite keys, keys missing from the .bib, uncited method mentions."""

from __future__ import annotations

import re

from lsprotocol import types as t

from paperlens.analysis.document import BIBTEX, LATEX, MARKDOWN, DocAnalysis, manubot_id, silenced_lines
from paperlens.core.config import Diagnostics
from paperlens.core.text import clean
from paperlens.features.bib import BibFile, Bibs, resources
from paperlens.features.bibcheck import DUPLICATE_KEY
from paperlens.index.catalog import Catalog

SOURCE = "paperlens"
MAX_HINTS = 1000
UNKNOWN_KEY, MISSING_BIB, UNCITED = "unknown-key", "missing-bib-entry", "uncited-mention"
UNUSED_ENTRY = "unused-entry"
MAX_UNUSED = 1000  # past this many entries a library is a library, not one paper's references


def _rng(line: int, s: int, e: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=s), end=t.Position(line=line, character=e))


_BIBITEM = re.compile(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}")


def bibitems(doc: DocAnalysis) -> set[str]:
    """Keys a `thebibliography` environment in the document defines (`\\bibitem[label]{key}`)."""
    if doc.kind != LATEX:
        return set()
    return {m.group(1).strip() for line in doc.lines if "bibitem" in line for m in _BIBITEM.finditer(line)}


def diagnostics(doc: DocAnalysis, catalog: Catalog, bibs: Bibs, cfg: Diagnostics,
                extra: tuple[str, ...] = ()) -> list[t.Diagnostic]:
    out: list[t.Diagnostic] = []
    cites = doc.cites(extra)
    items = bibitems(doc)
    loaded = resources(doc, bibs, every=True) if cites else None
    for c in cites:
        if manubot_id(c.key) or c.key in items:  # Manubot resolves its own ids
            continue
        if bibs.has_key(c.key):
            if loaded is not None and cfg.unknown_key == "warning" \
                    and not any(c.key in bibs.files[u].ranges for u in loaded):
                where = next(f.path.name if f.path else f.uri for f in bibs.files.values() if c.key in f.ranges)
                out.append(t.Diagnostic(range=_rng(c.span.line, c.span.start, c.span.end),
                                        message=f"'{c.key}' is in {where}, which this document does not load",
                                        severity=t.DiagnosticSeverity.Warning, source=SOURCE, code=UNKNOWN_KEY))
            continue
        e = catalog.by_key(c.key)
        if e is None:
            if cfg.unknown_key == "warning":
                out.append(t.Diagnostic(range=_rng(c.span.line, c.span.start, c.span.end),
                                        message=f"Unknown citation key '{clean(c.key, 100)}': not in the workspace "
                                                ".bib files nor in the paper index",
                                        severity=t.DiagnosticSeverity.Warning, source=SOURCE, code=UNKNOWN_KEY))
        elif cfg.missing_bib_entry == "information":
            out.append(t.Diagnostic(range=_rng(c.span.line, c.span.start, c.span.end),
                                    message=f"'{clean(c.key, 100)}' ({clean(e.title, 200)}) is not in your .bib yet",
                                    severity=t.DiagnosticSeverity.Information, source=SOURCE, code=MISSING_BIB,
                                    data={"key": c.key}))
    if cfg.uncited_mention == "hint" and doc.kind in (LATEX, MARKDOWN):
        cited_lines: dict[int, set[str]] = {}
        for c in cites:
            cited_lines.setdefault(c.span.line, set()).add(c.key)
        hints = 0
        for m in doc.all_mentions(catalog):
            e = m.mention.entries[0]
            ln0 = m.span.line
            if any(e.key in cited_lines.get(ln, ()) for ln in range(ln0 - 2, ln0 + 3)):
                continue
            hints += 1
            if hints > MAX_HINTS:  # past this many, more hints are noise, and cost every keystroke
                break
            out.append(t.Diagnostic(range=_rng(m.span.line, m.span.start, m.span.end),
                                    message=f"{clean(m.text, 100)} ({clean(e.title, 200)}) is mentioned "
                                            "without a citation",
                                    severity=t.DiagnosticSeverity.Hint, source=SOURCE, code=UNCITED,
                                    data={"key": e.key}))
    if out:
        quiet = silenced_lines(doc.lines, doc.kind)
        if quiet:
            out = [d for d in out if d.range.start.line not in quiet]
    return out


def bib_diagnostics(f: BibFile, cfg: Diagnostics, cited: set[str] | None) -> list[t.Diagnostic]:
    """What BibTeX or biber would reject in a .bib (with the line and the parser's message), duplicate keys,
    and, when asked, entries no document cites (`cited` None: some document has \\nocite{*})."""
    scan = f.scan
    out: list[t.Diagnostic] = []
    for p in scan.problems:
        dup = p.code == DUPLICATE_KEY
        out.append(t.Diagnostic(
            range=t.Range(start=t.Position(line=p.start[0], character=p.start[1]),
                          end=t.Position(line=p.end[0], character=p.end[1])),
            message=p.message, source=SOURCE, code=p.code,
            severity=t.DiagnosticSeverity.Warning if dup else t.DiagnosticSeverity.Error))
    if cfg.unused_entry == "hint" and cited is not None and len(scan.entries) <= MAX_UNUSED:
        for e in scan.entries:
            if e.key not in cited:
                out.append(t.Diagnostic(range=_rng(e.key_start[0], e.key_start[1], e.key_end[1]),
                                        message=f"'{clean(e.key, 100)}' is not cited by any document in the workspace",
                                        severity=t.DiagnosticSeverity.Hint, source=SOURCE, code=UNUSED_ENTRY,
                                        tags=[t.DiagnosticTag.Unnecessary]))
    if out:
        quiet = silenced_lines(f.text.split("\n"), BIBTEX)
        if quiet:
            out = [d for d in out if d.range.start.line not in quiet]
    return out
