"""What a document says: its kind, citations, mentions, the workspace's .bib files."""
