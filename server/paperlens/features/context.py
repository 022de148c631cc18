"""FeatureContext: everything a feature may look at for one request, in one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from paperlens.analysis.bibs import Bibs
from paperlens.analysis.cites import CiteKey
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import Span
from paperlens.analysis.targets import cite_at, target_at
from paperlens.core.config import Settings
from paperlens.index.catalog import Catalog
from paperlens.index.core import Entry


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
        return cite_at(self.doc, line, col, self.settings.cite_commands)

    def target_at(self, line: int, col: int) -> tuple[list[Entry], Span] | None:
        """The papers the text at a position refers to, most specific first, and the span that refers."""
        return target_at(self.doc, self.catalog, line, col, self.settings.cite_commands)
