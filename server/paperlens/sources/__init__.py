"""Readers and writers of the formats papers come in: one module per source (hf_page, hf_api, bibtex, github),
each a pure function from text or JSON to (papers, warnings); `feedfile` reads a local feed file of any of
them, `http` fetches, `errors` holds the one error type. Nothing is imported here: import the module you need."""
