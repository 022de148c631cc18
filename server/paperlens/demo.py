"""`paperlens demo`: start `paperlens serve` and drive it over stdio as an editor would, on examples/."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from paperlens.lsp.democlient import session


def examples_dir() -> Path | None:
    here = Path(__file__).resolve().parent
    cand = here.parent.parent / "examples"
    return cand if (cand / "draft.tex").is_file() else None


def run_demo(cache_dir: str | None = None) -> int:
    root = examples_dir()
    if root is None:
        print("paperlens demo: examples/draft.tex not found (run it from a PaperLens checkout)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="paperlens-demo-") as tmp:
        return asyncio.run(session(root, cache_dir or tmp))
