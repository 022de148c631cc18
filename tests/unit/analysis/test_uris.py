"""analysis/uris.py spells file URIs as pygls does (the workspace below lsp/ must find the documents editors
send, by the same URI)."""

from __future__ import annotations

import pytest
from pygls.uris import from_fs_path, to_fs_path

from paperlens.analysis.uris import path_uri, uri_path


@pytest.mark.parametrize("path", ["/ws/refs.bib", "/tmp/a b/c@d:e.bib", "/x/ü/ß%#?.bib", "/", "//host/share/x.bib"])
def test_paths_become_the_uris_pygls_makes(path: str) -> None:
    assert path_uri(path) == from_fs_path(path)
    assert uri_path(path_uri(path)) == to_fs_path(from_fs_path(path) or "")


@pytest.mark.parametrize("uri", ["file:///C:/Users/me/refs.bib", "file://host/share/x.bib", "untitled:Untitled-1",
                                 "https://example.org/x.bib", "file:///ws/a%20b.tex"])
def test_uris_become_the_paths_pygls_reads(uri: str) -> None:
    assert uri_path(uri) == to_fs_path(uri)
