"""Issue 11, item 1: a token goes to its built-in host only, unless the user explicitly allows a custom host."""

from __future__ import annotations

import pytest

from paperlens.core.config import Settings, parse_settings
from paperlens.library.pipeline import token_table

ENV = {"GITHUB_TOKEN": "gh-secret", "HF_TOKEN": "hf-secret", "AWS_SECRET_ACCESS_KEY": "aws"}


def test_builtin_hosts_get_their_tokens() -> None:
    tokens, notes = token_table(Settings(), ENV)
    assert tokens == {"api.github.com": "gh-secret", "huggingface.co": "hf-secret"}
    assert notes == []


@pytest.mark.parametrize("base", [
    "https://evil.example", "http://api.github.com", "https://api.github.com.evil.example", "https://api.github.com:8443",
    "https://user@evil.example", "http://127.0.0.1:9", "https://huggingface.co",
])
def test_a_workspace_base_url_elsewhere_gets_no_token(base: str) -> None:
    settings, errors = parse_settings({"paperlens": {"githubBaseUrl": base, "hfBaseUrl": base}})
    tokens, notes = token_table(settings, ENV)
    assert "gh-secret" not in tokens.values()
    assert ("hf-secret" in tokens.values()) == (base == "https://huggingface.co")
    assert notes and all("sendTokenToCustomHosts" in n for n in notes)
    assert all("secret" not in n for n in notes)  # the note names the variable, never the value


def test_the_user_can_allow_a_custom_host() -> None:
    settings, _ = parse_settings({"githubBaseUrl": "https://ghe.example.com/api/v3", "sendTokenToCustomHosts": True})
    tokens, notes = token_table(settings, ENV)
    assert tokens["ghe.example.com"] == "gh-secret" and notes == []


def test_token_env_names_only_pick_the_variable() -> None:
    settings, _ = parse_settings({"githubTokenEnv": "AWS_SECRET_ACCESS_KEY"})
    tokens, _ = token_table(settings, ENV)
    assert tokens == {"api.github.com": "aws", "huggingface.co": "hf-secret"}  # to GitHub only, never elsewhere
