"""A per-thread switch turned on for the length of a `with` block."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class ThreadFlag:
    """On only in the thread, and for the block, that turned it on; a nested block restores the outer value."""

    def __init__(self) -> None:
        self._local = threading.local()

    def is_set(self) -> bool:
        return bool(getattr(self._local, "on", False))

    @contextlib.contextmanager
    def within(self) -> Iterator[None]:
        was = self.is_set()
        self._local.on = True
        try:
            yield
        finally:
            self._local.on = was
