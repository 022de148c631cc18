"""PaperLens: research papers in your editor."""

__version__ = "0.1.0"
