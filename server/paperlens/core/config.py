"""One typed settings tree: camelCase on the wire (`paperlens.*`), snake_case here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import platformdirs


@dataclass(frozen=True)
class Features:
    hover: bool = True
    completion: bool = True
    code_actions: bool = True
    links: bool = True
    symbols: bool = True
    diagnostics: bool = True
    definition: bool = True


@dataclass(frozen=True)
class Diagnostics:
    uncited_mention: str = "off"  # "off" | "hint"
    unknown_key: str = "warning"  # "off" | "warning"
    missing_bib_entry: str = "information"  # "off" | "information"
    unused_entry: str = "off"  # "off" | "hint": .bib entries no document in the workspace cites


_DIAG_CHOICES = {
    "uncited_mention": ("off", "hint"),
    "unknown_key": ("off", "warning"),
    "missing_bib_entry": ("off", "information"),
    "unused_entry": ("off", "hint"),
}


@dataclass(frozen=True)
class Settings:
    feeds: tuple[str, ...] = ()
    offline: bool = False
    cache_dir: str = ""
    hf_base_url: str = "https://huggingface.co"
    github_base_url: str = "https://api.github.com"
    github_token_env: str = "GITHUB_TOKEN"
    hf_token_env: str = "HF_TOKEN"
    # A token goes only to its built-in host (api.github.com, huggingface.co) unless the user turns this on
    # (a user-level, machine-scoped setting in VS Code: a workspace cannot send the token elsewhere).
    send_token_to_custom_hosts: bool = False
    refresh_on_start: bool = False
    bib_file: str = ""
    cite_commands: tuple[str, ...] = ()
    features: Features = field(default_factory=Features)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir).expanduser() if self.cache_dir else Path(platformdirs.user_cache_dir("paperlens"))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def _check(value: Any, default: Any, key: str, errors: list[str]) -> Any:
    """Value coerced to the default's type, or the default plus an error naming the key."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        errors.append(f"paperlens.{key}: expected true or false, got {value!r}; using {default}")
        return default
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        errors.append(f"paperlens.{key}: expected a string, got {value!r}; using {default!r}")
        return default
    if isinstance(default, tuple):
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        errors.append(f"paperlens.{key}: expected a list of strings, got {value!r}; using {list(default)}")
        return default
    return value


def _section(cls: type, data: Any, prefix: str, errors: list[str]) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        errors.append(f"paperlens.{prefix}: expected an object, got {data!r}; using defaults")
        return cls()
    kw: dict[str, Any] = {}
    default = cls()
    for f in dataclasses.fields(cls):
        key = _camel(f.name)
        if key not in data:
            continue
        full = f"{prefix}.{key}" if prefix else key
        dv = getattr(default, f.name)
        if dataclasses.is_dataclass(dv):
            kw[f.name] = _section(type(dv), data[key], full, errors)
            continue
        v = _check(data[key], dv, full, errors)
        if f.name in _DIAG_CHOICES and v not in _DIAG_CHOICES[f.name]:
            errors.append(f"paperlens.{full}: expected one of {', '.join(_DIAG_CHOICES[f.name])}, got {v!r}; "
                          f"using {dv!r}")
            v = dv
        if f.name.endswith("base_url") and v != dv and not _valid_url(v):
            errors.append(f"paperlens.{full}: not an http(s) URL: {v!r}; using {dv!r}")
            v = dv
        kw[f.name] = v
    return cls(**kw)


def _valid_url(v: str) -> bool:
    u = urlparse(v)
    return u.scheme in ("http", "https") and bool(u.netloc)


def parse_settings(data: Any) -> tuple[Settings, list[str]]:
    """Settings from a client's JSON (`{"paperlens": {...}}` or the inner object); errors name each bad key."""
    errors: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("paperlens"), dict):
        data = data["paperlens"]
    settings = _section(Settings, data if data is not None else {}, "", errors)
    return settings, errors
