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
# Requests come in bursts (a keystroke: didChange, completion, then maybe a hover or a code action, each sent as
# the last is answered): a loader goes on only once none came for this long, not between two of a burst. Had it
# gone on, the next request would share the GIL with it a switch interval at a time until its next pause.
QUIET = 0.005
STALE = 2.0  # a request open this long is forgotten (one that was never answered must not stop loaders)

_open: dict[object, float] = {}  # request id -> when it arrived (the event loop's thread writes it)
_idle = threading.Event()
_idle.set()
_server = [0]  # the thread that serves requests (a pause there would wait for its own request)
_last = [0.0]  # when the last request was answered (time.monotonic)


def begin(key: object) -> None:
    _server[0] = threading.get_ident()
    _open[key] = time.monotonic()
    _idle.clear()


def end(key: object) -> None:
    _open.pop(key, None)
    if not _open:
        _last[0] = time.monotonic()
        _idle.set()


def busy() -> bool:
    return not _idle.is_set()


def pause() -> None:
    """Wait while a request is open or one was answered less than QUIET ago (at most MAX_WAIT in all); return
    at once when none was, or in the serving thread."""
    if _idle.is_set() and time.monotonic() - _last[0] >= QUIET or threading.get_ident() == _server[0]:
        return
    t0 = time.monotonic()
    while True:
        now = time.monotonic()
        left = t0 + MAX_WAIT - now
        if left <= 0:
            break
        if not _idle.is_set():
            _idle.wait(left)
            continue
        quiet = _last[0] + QUIET - now
        if quiet <= 0:
            return
        time.sleep(min(quiet, left))
    now = time.monotonic()
    for key, t in list(_open.items()):
        if now - t > STALE:
            end(key)
