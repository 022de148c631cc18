"""An index (re)build in a child process: `python -m paperlens.library.background`.

A cold build of a large feed takes minutes and gigabytes (a million papers). Run inside the language server it
would hold the server's memory at the build's peak and compete with requests for the interpreter; here it runs in
a process of its own (which starts the build's workers, index/parallel.py), writes the new index directory into
the cache (atomically: a temp directory renamed into place), and exits. The server keeps answering from the index
it has and opens the new one when the child says it is done (`BuildJob`).

The pipe: the parent sends the pickled (settings, extra feeds) on the child's stdin and keeps it open; the child
answers with JSON lines on stdout: {"papers": n} while it reads a large feed, then {"done": {...}} or
{"error": "..."}. When the parent goes away its end of stdin closes and the child exits, and so do its workers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from paperlens.core.config import Settings

log = logging.getLogger(__name__)
BUILD_NICENESS = 10  # added to the child's niceness (Unix): a background build yields the CPU to requests


class BuildJob:
    """One build in a child process; its progress and outcome are read by a thread (never block the caller)."""

    def __init__(self, settings: Settings, extra_feeds: Iterable[str] = (), what: str = "") -> None:
        """what: the sources named in messages (the feed files), e.g. "/data/feed.json"."""
        import paperlens

        self.what = what
        self.papers = 0  # papers read so far (a large feed)
        self.result: dict[str, Any] | None = None
        self.done = threading.Event()
        self.cancelled = False
        env = dict(os.environ)
        src = str(Path(paperlens.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(x for x in (src, env.get("PYTHONPATH")) if x)
        self.proc = subprocess.Popen([sys.executable, "-m", "paperlens.library.background"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(pickle.dumps((settings, list(extra_feeds)), protocol=pickle.HIGHEST_PROTOCOL))
            self.proc.stdin.flush()
        except OSError:  # the child died at once: its exit status says why (`error`)
            pass
        threading.Thread(target=self._read, name="index-build", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "papers" in msg:
                    self.papers = int(msg["papers"])
                elif "done" in msg or "error" in msg:
                    # Done when it says so: the index is in place, and the child's exit need not be waited for.
                    self.result = msg
                    self.done.set()
        finally:
            self.proc.wait()
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # type: ignore[union-attr]
            self.done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def cancel(self) -> None:
        """Stop the build (settings changed, the server stops): its temp directory is left for the next prune."""
        self.cancelled = True
        with contextlib.suppress(OSError):
            self.proc.kill()

    @property
    def ok(self) -> bool:
        return self.done.is_set() and self.result is not None and "done" in self.result

    @property
    def outcome(self) -> dict[str, Any]:
        """What the child reported when it was done: papers, errors (feeds left out), warnings."""
        return dict(self.result["done"]) if self.result and "done" in self.result else {}

    @property
    def error(self) -> str:
        """Why the build failed, in one line that names the sources."""
        if self.result is not None and "error" in self.result:
            return str(self.result["error"])
        code = self.proc.returncode
        how = f"killed by {_signal_name(-code)}" if code is not None and code < 0 else f"exit status {code}"
        return f"the index build of {self.what or 'the feeds'} stopped ({how})"


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def run_build(settings: Settings, extra_feeds: Iterable[str] = (), what: str = "") -> dict[str, Any]:
    """A build in a child process, waited for (a refresh's rebuild, already off the request path): the child's
    outcome; raises RuntimeError with the one-line reason when it fails."""
    job = BuildJob(settings, extra_feeds, what)
    try:
        job.wait()
        job.proc.wait()  # (and its exit: off the request path, a refresh leaves no process behind)
    finally:
        if not job.done.is_set():
            job.cancel()
    if not job.ok:
        raise RuntimeError(job.error)
    return job.outcome


# ---------------------------------------------------------------- the child


def _exit_with_parent(inp: IO[bytes]) -> None:
    """The parent holds our stdin open while it wants the build: at its end (the parent exited) stop at once."""
    with contextlib.suppress(OSError):
        while inp.read(65536):
            pass
    os._exit(3)


def main() -> int:
    # Below the server (and the editor): they take a core when they need one, the build every idle cycle. Its
    # workers inherit this. (At start the server makes the index it answers from meanwhile beside this build.)
    with contextlib.suppress(AttributeError, OSError):  # (no os.nice on Windows)
        os.nice(BUILD_NICENESS)
    from paperlens.library.pipeline import open_index

    inp = sys.stdin.buffer
    settings, extra = pickle.load(inp)
    # The pipe gets our JSON lines only: whatever a library prints goes to stderr (the server's log).
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threading.Thread(target=_exit_with_parent, args=(inp,), daemon=True).start()
    lock = threading.Lock()

    def say(msg: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(msg) + "\n")
            out.flush()

    try:
        loaded = open_index(settings, extra, skip_bad=True, progress=lambda n: say({"papers": n}))
    except Exception as e:  # one line for the user: FeedError names the file, OSError the path
        log.exception("index build failed")
        say({"error": str(e) or type(e).__name__})
        return 1
    say({"done": {"papers": loaded.index.n, "source": loaded.library_source, "errors": loaded.errors,
                  "warnings": loaded.warnings[:200]}})
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("PAPERLENS_LOG", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = main()
    # Out at once: the answer is sent, and an interpreter's shutdown would free a heap of ~1.4 GB object by
    # object (~1 s at 1M papers) and abort on the thread that reads stdin (`_exit_with_parent`).
    sys.stderr.flush()
    os._exit(code)
