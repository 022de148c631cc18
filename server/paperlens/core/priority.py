"""Requests before background work. The server marks each request from its arrival to its answer (`begin`,
`end`); a loader in a worker thread calls `pause()` between short pieces of its work and waits there while a
request is open, so that the request has the interpreter (the GIL) to itself instead of sharing it with the
loader a switch interval at a time (a 2 ms hover took ~4-5 ms while a 72k .bib loaded).

Call `pause()` only where the caller holds no lock a request may take (the index's lock): the request would
wait for the lock, the loader for the request.
"""

from __future__ import annotations

import threading
import time

MAX_WAIT = 0.05  # at most this long per pause: a loader always moves on, even under a stream of requests
STALE = 2.0  # a request open this long is forgotten (one that was never answered must not stop loaders)

_open: dict[object, float] = {}  # request id -> when it arrived (the event loop's thread writes it)
_idle = threading.Event()
_idle.set()
_server = [0]  # the thread that serves requests (a pause there would wait for its own request)


def begin(key: object) -> None:
    _server[0] = threading.get_ident()
    _open[key] = time.monotonic()
    _idle.clear()


def end(key: object) -> None:
    _open.pop(key, None)
    if not _open:
        _idle.set()


def busy() -> bool:
    return not _idle.is_set()


def pause() -> None:
    """Wait while a request is open (at most MAX_WAIT); return at once when none is, or in the serving thread."""
    if _idle.is_set() or threading.get_ident() == _server[0] or _idle.wait(MAX_WAIT):
        return
    now = time.monotonic()
    for key, t in list(_open.items()):
        if now - t > STALE:
            end(key)
