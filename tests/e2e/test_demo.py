"""`paperlens demo`, the README's main job: a real LSP session over stdio on examples/, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_prints_what_an_editor_gets(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "paperlens", "demo", "--cache-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    hover = out.split("== completions")[0]
    assert "DRCT: Saving Image Super-resolution away from Information Bottleneck" in hover
    assert "hsu2024drct" in hover  # the key from examples/refs.bib wins over the generated one
    completions = out.split("== completions for \\cite{glo ==")[1].split("==")[0].strip().splitlines()
    assert completions[0].split()[0] == "glocalib2025"
    assert "Open Muyiiiii/NeurIPS-25-Glocal-IB on GitHub" in out
    assert "Cite Glocal-IB (glocalib2025)" in out
    assert out.split("== the server asked the editor to open ==")[1].split()[0] == \
        "https://github.com/Muyiiiii/NeurIPS-25-Glocal-IB"
    assert "Unknown citation key 'glo'" in out
