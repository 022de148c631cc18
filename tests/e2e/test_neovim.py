"""Neovim's built-in LSP client, headless, with the configuration docs/editors.md gives: hover and completion
on the example LaTeX document, through `paperlens serve` on PATH (tests/editors/nvim/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NVIM_DIR = ROOT / "tests" / "editors" / "nvim"
DRCT_TITLE = "DRCT: Saving Image Super-resolution away from Information Bottleneck"
GLOCAL_TITLE = "Glocal Information Bottleneck for Time Series Imputation"
FALLBACK_DOC = r"""\documentclass{article}
\begin{document}
We compare against DRCT on Set5 and Urban100.
Missing values are imputed as in \cite{glo}.
\end{document}
"""


def rendered(markdown: str) -> str:
    """Markdown as a reader sees it: CommonMark backslash escapes undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@pytest.fixture
def document(tmp_path: Path) -> Path:
    """examples/ copied to a temporary folder (the server may write refs.bib there); else a small document."""
    work = tmp_path / "work"
    draft = ROOT / "examples" / "draft.tex"
    if draft.is_file() and "DRCT" in draft.read_text() and r"\cite{glo" in draft.read_text():
        shutil.copytree(ROOT / "examples", work)
    else:
        work.mkdir()
        (work / "draft.tex").write_text(FALLBACK_DOC)
    return work / "draft.tex"


def run_neovim(document: Path, tmp_path: Path) -> dict[str, object]:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("nvim is not installed (Debian: apt-get install neovim; .ci/run installs it)")
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "paperlens").exists():
        pytest.fail(f"no `paperlens` console script beside {sys.executable}: install the project (pip install -e .)")
    out = tmp_path / "nvim-result.json"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        # Nothing from the user's Neovim or PaperLens cache: everything below tmp_path.
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PAPERLENS_NVIM_OUT": str(out),
        "PAPERLENS_NVIM_TIMEOUT_MS": "60000",
    }
    cmd = [nvim, "--headless", "-n", "-i", "NONE", "-u", str(NVIM_DIR / "init.lua"),
           "-c", f"luafile {NVIM_DIR / 'drive.lua'}", document.name]
    proc = subprocess.run(cmd, cwd=document.parent, env=env, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    if not out.is_file():
        lsp_log = next(tmp_path.rglob("lsp.log"), None)
        pytest.fail(f"nvim wrote no result (exit {proc.returncode})\nstdout: {proc.stdout[-2000:]}\n"
                    f"stderr: {proc.stderr[-2000:]}\nlsp.log: {lsp_log.read_text()[-3000:] if lsp_log else '-'}")
    result = json.loads(out.read_text())
    assert "error" not in result, result["error"]
    return result


@pytest.fixture
def nvim_result(document: Path, tmp_path: Path) -> dict[str, object]:
    return run_neovim(document, tmp_path)


def test_neovim_hover_and_completion(nvim_result: dict[str, object]) -> None:
    assert nvim_result["filetype"] == "tex"
    assert nvim_result.get("hover_error") is None
    assert DRCT_TITLE in rendered(str(nvim_result.get("hover", ""))), nvim_result.get("hover")
    # What a user sees: the float that vim.lsp.buf.hover() opens.
    assert DRCT_TITLE in rendered(str(nvim_result.get("hover_float", ""))), nvim_result.get("hover_float")
    assert nvim_result.get("completion_error") is None
    items = nvim_result.get("completion")
    assert isinstance(items, list) and items, "no completion items"
    first = items[0]
    shown = " ".join(str(first.get(k) or "") for k in ("label", "detail", "documentation"))
    assert GLOCAL_TITLE in rendered(shown), items


def test_docs_carry_the_tested_configuration() -> None:
    """docs/editors.md shows tests/editors/nvim/paperlens.lua verbatim, so that what is tested is what is documented."""
    config = (NVIM_DIR / "paperlens.lua").read_text().strip()
    docs = (ROOT / "docs" / "editors.md").read_text()
    assert config in docs
