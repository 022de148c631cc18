"""The error every source raises for input it cannot read at all (warnings cover the entries it skips)."""

from __future__ import annotations


class FeedError(Exception):
    """A feed that cannot be read at all; the message names the file or URL and the line or entry."""
