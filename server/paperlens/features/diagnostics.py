"""Diagnostics, quiet by default: unknown cite keys, keys missing from the .bib, uncited method mentions."""

from __future__ import annotations

import re

from paperlens.analysis.bibs import BibFile, resources
from paperlens.analysis.cites import manubot_id, silenced_lines
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX, LATEX, MARKDOWN
from paperlens.core.config import Diagnostics
from paperlens.core.text import clean
from paperlens.features.context import FeatureContext
from paperlens.features.results import ERROR, HINT, INFORMATION, WARNING, Diagnostic, Region
from paperlens.sources.bibcheck import DUPLICATE_KEY

SOURCE = "paperlens"
MAX_HINTS = 1000
UNKNOWN_KEY, MISSING_BIB, UNCITED = "unknown-key", "missing-bib-entry", "uncited-mention"
UNUSED_ENTRY = "unused-entry"
MAX_UNUSED = 1000  # past this many entries a library is a library, not one paper's references


_BIBITEM = re.compile(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}")


def bibitems(doc: DocAnalysis) -> set[str]:
    """Keys a `thebibliography` environment in the document defines (`\\bibitem[label]{key}`)."""
    if doc.kind != LATEX:
        return set()
    return {m.group(1).strip() for line in doc.lines if "bibitem" in line for m in _BIBITEM.finditer(line)}


def diagnostics(ctx: FeatureContext) -> list[Diagnostic]:
    """A document's diagnostics, as the settings ask: unknown keys, keys missing from the .bib, uncited mentions."""
    doc, catalog, bibs, cfg = ctx.doc, ctx.catalog, ctx.bibs, ctx.settings.diagnostics
    out: list[Diagnostic] = []
    cites = ctx.cites()
    items = bibitems(doc)
    loaded = resources(doc, bibs, every=True) if cites else None
    for c in cites:
        if manubot_id(c.key) or c.key in items:  # Manubot resolves its own ids
            continue
        if bibs.has_key(c.key):
            if loaded is not None and cfg.unknown_key == "warning" \
                    and not any(c.key in bibs.files[u].ranges for u in loaded):
                where = next(f.path.name if f.path else f.uri for f in bibs.files.values() if c.key in f.ranges)
                out.append(Diagnostic(Region.on_line(c.span.line, c.span.start, c.span.end),
                                      f"'{c.key}' is in {where}, which this document does not load", WARNING,
                                      UNKNOWN_KEY))
            continue
        e = catalog.by_key(c.key)
        if e is None:
            if cfg.unknown_key == "warning":
                out.append(Diagnostic(Region.on_line(c.span.line, c.span.start, c.span.end),
                                      f"Unknown citation key '{clean(c.key, 100)}': not in the workspace "
                                      ".bib files nor in the paper index", WARNING, UNKNOWN_KEY))
        elif cfg.missing_bib_entry == "information":
            out.append(Diagnostic(Region.on_line(c.span.line, c.span.start, c.span.end),
                                  f"'{clean(c.key, 100)}' ({clean(e.title, 200)}) is not in your .bib yet",
                                  INFORMATION, MISSING_BIB, data={"key": c.key}))
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
            out.append(Diagnostic(Region.on_line(m.span.line, m.span.start, m.span.end),
                                  f"{clean(m.text, 100)} ({clean(e.title, 200)}) is mentioned without a citation",
                                  HINT, UNCITED, data={"key": e.key}))
    if out:
        quiet = silenced_lines(doc.lines, doc.kind)
        if quiet:
            out = [d for d in out if d.region.start_line not in quiet]
    return out


def bib_diagnostics(f: BibFile, cfg: Diagnostics, cited: set[str] | None) -> list[Diagnostic]:
    """What BibTeX or biber would reject in a .bib (with the line and the parser's message), duplicate keys,
    and, when asked, entries no document cites (`cited` None: some document has \\nocite{*})."""
    scan = f.scan
    out: list[Diagnostic] = []
    for p in scan.problems:
        out.append(Diagnostic(Region(p.start[0], p.start[1], p.end[0], p.end[1]), p.message,
                              WARNING if p.code == DUPLICATE_KEY else ERROR, p.code))
    if cfg.unused_entry == "hint" and cited is not None and len(scan.entries) <= MAX_UNUSED:
        for e in scan.entries:
            if e.key not in cited:
                out.append(Diagnostic(Region.on_line(e.key_start[0], e.key_start[1], e.key_end[1]),
                                      f"'{clean(e.key, 100)}' is not cited by any document in the workspace",
                                      HINT, UNUSED_ENTRY, unnecessary=True))
    if out and f.marked():  # (a search, kept through edits; splitting is not)
        quiet = silenced_lines(f.text.split("\n"), BIBTEX)
        if quiet:
            out = [d for d in out if d.region.start_line not in quiet]
    return out
