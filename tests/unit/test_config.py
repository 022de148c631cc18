"""Settings from the wire: camelCase in, typed out; a bad value names its key and falls back."""

from __future__ import annotations

from paperlens.core.config import Settings, parse_settings


def test_defaults() -> None:
    s, errors = parse_settings(None)
    assert s == Settings() and errors == []


def test_camel_case_and_nesting() -> None:
    s, errors = parse_settings({"paperlens": {"offline": True, "cacheDir": "/tmp/x", "citeCommands": ["mycite"],
                                              "diagnostics": {"uncitedMention": "hint"},
                                              "features": {"hover": False}}})
    assert errors == []
    assert s.offline and s.cache_dir == "/tmp/x" and s.cite_commands == ("mycite",)
    assert s.diagnostics.uncited_mention == "hint" and not s.features.hover and s.features.completion


def test_invalid_values_fall_back_and_name_the_key() -> None:
    s, errors = parse_settings({"offline": "yes", "feeds": "x.json", "diagnostics": {"unknownKey": "loud"},
                                "githubBaseUrl": "ftp://nope"})
    assert s.offline is False and s.feeds == () and s.diagnostics.unknown_key == "warning"
    assert s.github_base_url == "https://api.github.com"
    joined = "\n".join(errors)
    for key in ("paperlens.offline", "paperlens.feeds", "paperlens.diagnostics.unknownKey", "paperlens.githubBaseUrl"):
        assert key in joined
