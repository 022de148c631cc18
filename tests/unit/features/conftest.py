"""Feature tests call the pure feature functions with a FeatureContext built from a `$0` fixture (cursor.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paperlens.index.core import Index
from paperlens.library.store import read_library, snapshot_file

sys.path.insert(0, str(Path(__file__).parent))

REFS = (Path(__file__).resolve().parents[3] / "examples" / "refs.bib").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def base() -> Index:
    """The shipped snapshot's index (DRCT, Glocal-IB, PrefixKV, ...)."""
    return Index.build(read_library(snapshot_file()))


@pytest.fixture(scope="session")
def refs() -> dict[str, str]:
    """examples/refs.bib as the workspace's only .bib."""
    return {"refs.bib": REFS}
