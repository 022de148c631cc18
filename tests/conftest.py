"""Shared pytest fixtures. One section per area; keep each fixture small."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fixture_server import REPOS_DIR, SHARED_DIR, FixtureServer

# -- fixture data (../shared beside the checkout) --------------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared fixtures folder beside the checkout."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared fixtures not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def github_repos_dir(shared_dir: Path) -> Path:
    """../shared/fixtures/github/repos: OWNER/NAME/{repo.json,readme.md,tree.json,symbols.json}."""
    return REPOS_DIR


# -- loopback HTTP servers ---------------------------------------------------------------------------------


@pytest.fixture
def fixture_server(shared_dir: Path) -> Iterator[FixtureServer]:
    """A fresh loopback server playing GitHub (fixture repos) and HF (routes the test registers)."""
    with FixtureServer() as server:
        yield server


@pytest.fixture
def other_server(shared_dir: Path) -> Iterator[FixtureServer]:
    """A second loopback server, for checks that something does not reach another host."""
    with FixtureServer() as server:
        yield server
