"""docs/architecture.md's import rules, checked on the source: a layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "server" / "paperlens"

# What each folder may import (besides itself), from docs/architecture.md.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "sources": {"core"},
    "index": {"core"},
    "library": {"sources", "index", "core"},
    "analysis": {"library", "index", "sources", "core"},
    "features": {"analysis", "library", "index", "sources", "core"},
    "lsp": {"features", "analysis", "library", "index", "sources", "core"},
}
PROTOCOL = ("pygls", "lsprotocol")


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def _layer_files() -> list[tuple[str, Path]]:
    return [(p.relative_to(PKG).parts[0], p) for p in sorted(PKG.rglob("*.py")) if len(p.relative_to(PKG).parts) > 1]


def _name(v: object) -> str:
    return str(v.relative_to(PKG)) if isinstance(v, Path) else str(v)


@pytest.mark.parametrize(("layer", "path"), _layer_files(), ids=_name)
def test_layer_imports_only_layers_below(layer: str, path: Path) -> None:
    assert layer in ALLOWED, f"{layer}/ is not described in docs/architecture.md"
    bad = []
    for module, names in _imports(path):
        parts = module.split(".")
        if parts[0] in PROTOCOL and layer != "lsp":
            bad.append(f"{module} (only lsp/ may speak the protocol)")
        if parts[0] != "paperlens" or len(parts) < 2:
            continue
        target = parts[1]
        if target != layer and target in ALLOWED and target not in ALLOWED[layer]:
            bad.append(f"{module} ({layer}/ may not import {target}/)")
        bad.extend(f"{module}.{n} (a private name of another module)" for n in names
                   if n.startswith("_") and not n.startswith("__") and ".".join(parts) != _module_of(path))
    assert not bad, f"{path.relative_to(PKG)} imports " + "; ".join(bad)


def _module_of(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    return ".".join(rel.parts)
