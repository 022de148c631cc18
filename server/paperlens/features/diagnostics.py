"""Diagnostics, quiet by default: unknown cite keys, keys missing from the .bib, uncited method mentions."""

from __future__ import annotations

from lsprotocol import types as t

from ..config import Diagnostics
from ..index.catalog import Catalog
from .bib import Bibs
from .document import LATEX, MARKDOWN, DocAnalysis

SOURCE = "paperlens"
MAX_HINTS = 1000
UNKNOWN_KEY, MISSING_BIB, UNCITED = "unknown-key", "missing-bib-entry", "uncited-mention"


def _rng(line: int, s: int, e: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=s), end=t.Position(line=line, character=e))


def diagnostics(doc: DocAnalysis, catalog: Catalog, bibs: Bibs, cfg: Diagnostics,
                extra: tuple[str, ...] = ()) -> list[t.Diagnostic]:
    out: list[t.Diagnostic] = []
    cites = doc.cites(extra)
    for c in cites:
        if bibs.has_key(c.key):
            continue
        e = catalog.by_key(c.key)
        if e is None:
            if cfg.unknown_key == "warning":
                out.append(t.Diagnostic(range=_rng(c.span.line, c.span.start, c.span.end),
                                        message=f"Unknown citation key '{c.key}': not in the workspace .bib "
                                                "files nor in the paper index",
                                        severity=t.DiagnosticSeverity.Warning, source=SOURCE, code=UNKNOWN_KEY))
        elif cfg.missing_bib_entry == "information":
            out.append(t.Diagnostic(range=_rng(c.span.line, c.span.start, c.span.end),
                                    message=f"'{c.key}' ({e.title}) is not in your .bib yet",
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
                                    message=f"{m.text} ({e.title}) is mentioned without a citation",
                                    severity=t.DiagnosticSeverity.Hint, source=SOURCE, code=UNCITED,
                                    data={"key": e.key}))
    return out
