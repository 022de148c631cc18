"""FeatureContext: everything a feature may look at for one request, in one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from paperlens.analysis.document import CiteKey, DocAnalysis
from paperlens.core.config import Settings
from paperlens.features.bib import Bibs
from paperlens.index.catalog import Catalog


@dataclass(frozen=True)
class FeatureContext:
    """One document (positions in code points), the catalog, the workspace's .bib files and the settings.

    The cite-command setting travels in here (`cites`, `cites_on`), not through each function's signature."""

    doc: DocAnalysis
    catalog: Catalog
    bibs: Bibs = field(default_factory=Bibs)
    settings: Settings = field(default_factory=Settings)
    language_id: str = ""  # the client's languageId (comment syntax in code)
    root: Path | None = None
    roots: tuple[Path, ...] = ()  # the workspace folders: .bib writes stay inside them
    markdown: bool = True  # the client shows Markdown

    @property
    def cite_commands(self) -> tuple[str, ...]:
        return self.settings.cite_commands

    def cites(self) -> list[CiteKey]:
        return self.doc.cites(self.settings.cite_commands)

    def cites_on(self, line: int) -> list[CiteKey]:
        return self.doc.cites_on(line, self.settings.cite_commands)

    def cite_at(self, line: int, col: int) -> CiteKey | None:
        """The citation key under the cursor."""
        if line < 0 or line >= len(self.doc.lines):
            return None
        for c in self.cites_on(line):
            if c.span.start <= col <= c.span.end:
                return c
        return None
