"""Plain data, text helpers, identifiers and settings: imports nothing else of PaperLens."""
