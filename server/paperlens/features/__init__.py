"""Editor features: pure functions of a document, the catalog and a position."""
