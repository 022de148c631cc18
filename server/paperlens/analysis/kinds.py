"""Document kinds: which citation syntax and which mention rules a document gets, from its languageId or name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

LATEX, MARKDOWN, RST, BIBTEX, PYTHON, CODE, TEXT = "latex", "markdown", "rst", "bibtex", "python", "code", "text"

_BY_LANGUAGE = {
    "latex": LATEX, "tex": LATEX, "plaintex": LATEX, "context": LATEX, "bibtex": BIBTEX, "biblatex": BIBTEX,
    "markdown": MARKDOWN, "quarto": MARKDOWN, "rmd": MARKDOWN, "rmarkdown": MARKDOWN, "pandoc": MARKDOWN,
    "restructuredtext": RST, "rst": RST, "plaintext": TEXT, "text": TEXT, "python": PYTHON,
}
_BY_SUFFIX = {
    ".tex": LATEX, ".ltx": LATEX, ".sty": LATEX, ".cls": LATEX, ".bib": BIBTEX, ".md": MARKDOWN,
    ".markdown": MARKDOWN, ".qmd": MARKDOWN, ".rmd": MARKDOWN, ".rst": RST, ".txt": TEXT, ".py": PYTHON,
    ".pyi": PYTHON,
}



def doc_kind(language_id: str | None, uri: str) -> str:
    """The kind of a document, from its language id, else its file name."""
    if language_id and language_id.lower() in _BY_LANGUAGE:
        return _BY_LANGUAGE[language_id.lower()]
    suffix = PurePosixPath(unquote(urlparse(uri).path)).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    return CODE if language_id and language_id.lower() not in ("", "plaintext") else TEXT


@dataclass(frozen=True, slots=True)
class Span:
    """A range on one line, in code points."""

    line: int
    start: int
    end: int

    def contains(self, line: int, col: int) -> bool:
        return line == self.line and self.start <= col <= self.end


@dataclass(frozen=True)
class Region:
    """A stretch of one document from (start_line, start) to (end_line, end), columns in code points."""

    start_line: int
    start: int
    end_line: int
    end: int

    @classmethod
    def on_line(cls, line: int, start: int, end: int) -> Region:
        return cls(line, start, line, end)

    @classmethod
    def at(cls, line: int, col: int) -> Region:
        return cls(line, col, line, col)


@dataclass(frozen=True)
class Place:
    """A region of a file (an LSP Location)."""

    uri: str
    region: Region
