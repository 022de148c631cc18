"""`paperlens.refresh` with `window/workDoneProgress`: fetch in a worker thread, report each repo, swap the new
catalog in when it is complete (requests keep the old one until then)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from lsprotocol import types as t

from paperlens.lsp.transport import PaperLensServer

log = logging.getLogger(__name__)


class Progress:
    """A work-done progress, or nothing when the client does not take one; `report` may be called from threads."""

    def __init__(self, ls: PaperLensServer, name: str, title: str) -> None:
        self.ls = ls
        self.title = title
        self.token = f"paperlens-{name}-{time.time_ns()}"
        caps = ls.client_capabilities.window
        self.on = bool(caps and caps.work_done_progress)
        self.loop = asyncio.get_running_loop()
        self.lock = threading.Lock()

    async def begin(self) -> None:
        if not self.on:
            return
        try:
            await self.ls.work_done_progress.create_async(self.token)
            self.ls.work_done_progress.begin(self.token, t.WorkDoneProgressBegin(title=self.title, cancellable=False,
                                                                                 percentage=0))
        except Exception as e:
            log.info("progress not available: %s", e)
            self.on = False

    def report(self, done: int, total: int, what: str) -> None:
        if self.on:
            pct = int(100 * done / total) if total else 100
            with self.lock:
                self.loop.call_soon_threadsafe(self.ls.work_done_progress.report, self.token, t.WorkDoneProgressReport(
                    message=f"{done}/{total} repos · {what}", percentage=pct))

    def note(self, message: str) -> None:
        """A report from the event loop's thread."""
        if self.on:
            self.ls.work_done_progress.report(self.token, t.WorkDoneProgressReport(message=message))

    def end(self) -> None:
        if self.on:
            self.ls.work_done_progress.end(self.token, t.WorkDoneProgressEnd(message="done"))


async def indexing(ls: PaperLensServer) -> None:
    """The index being built in a child process (`Workspace.build_job`), with progress; its messages shown."""
    job = ls.ws.build_job
    if job is None:
        return
    progress = Progress(ls, "index", f"PaperLens: indexing {job.what}")
    await progress.begin()
    try:
        messages = await ls.ws.finish_build(lambda n: progress.note(f"{n:,} papers read" if n else "starting"))
    finally:
        progress.end()
    for level, message in messages:
        ls.window_show_message(t.ShowMessageParams(
            type=t.MessageType.Error if level == "error" else t.MessageType.Warning, message=f"PaperLens: {message}"))


async def refresh(ls: PaperLensServer) -> dict[str, Any]:
    """Fetch feeds and repos in the background, with progress; the new index is swapped in when complete."""
    from paperlens.library.pipeline import refresh as run_refresh

    ws = ls.ws
    if ws.refreshing:
        return {"saved": False, "warnings": ["a refresh is already running"]}
    ws.refreshing = True
    ws.status_changed()
    progress = Progress(ls, "refresh", "PaperLens: refreshing papers")
    await progress.begin()
    loop = asyncio.get_running_loop()
    try:
        summary = await loop.run_in_executor(None, run_refresh, ws.settings, progress.report)
        if summary.saved:
            # Swap in the new index atomically: requests keep the old catalog until this assignment.
            cat, source = await loop.run_in_executor(None, ws.build_catalog)
            ws.swap_catalog(cat, source)
        return summary.to_json()
    except Exception as e:  # a failed refresh keeps the good index; say why
        log.exception("refresh failed")
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=f"PaperLens refresh failed: {e}"))
        return {"saved": False, "warnings": [str(e)]}
    finally:
        ws.refreshing = False
        progress.end()
        ws.status_changed()
