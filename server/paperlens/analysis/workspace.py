"""The server's state without the protocol: settings, the catalog, the open documents and the workspace's .bib files.

One object owns it. The .bib set changes in one method (`put_bib`), whoever reads a file (start-up scan, an open
document, an edit, a change on disk, our own write); each .bib URI has a generation, so the newest read wins. The
catalog is swapped in one assignment. What the LSP layer does when documents must be shown again (publish their
diagnostics, send the status) it hands in as callbacks; nothing here knows the protocol.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperlens.analysis import bibload
from paperlens.analysis.bibs import BibFile, Bibs
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX, doc_kind
from paperlens.analysis.textsync import RopeLines, plain_breaks
from paperlens.analysis.uris import path_uri, uri_path
from paperlens.core.config import Settings
from paperlens.core.rope import Rope, Text, as_str
from paperlens.index import dense
from paperlens.index.bibindex import CONTENT_MAX, BibIndex, build_content
from paperlens.index.catalog import Catalog
from paperlens.index.semantic import rarity, use_cache_dir
from paperlens.index.store import prefetch, prefetch_budget
from paperlens.library.background import BuildJob
from paperlens.library.pipeline import Loaded, builds_long, open_built, open_index, open_previous, sources_named
from paperlens.sources.bibcheck import BibCheck, check_region
from paperlens.sources.bibtex import decode_bib_bytes, encoding_note, is_encoding_note

log = logging.getLogger(__name__)

MAX_BIB_SCAN = 200  # .bib files read from the workspace at start
SYNC_BIB_BYTES = 1_000_000  # .bib bytes read before answering initialize; more load in the background
SYNC_LIGHT_ENTRIES = 400  # entries fully indexed before answering; more are indexed in the background
PRIME_PAPERS = 16  # papers whose related-papers line is worked out at start (~30 ms in a worker thread)
LOADING_SWITCH_INTERVAL = 0.0005  # GIL hand-over while a worker reads .bib files: a request waits <= ~0.5 ms
LARGE_OPEN_CHARS = 1_000_000  # a larger document is split and analysed just after didOpen, not inside it
ROPE_CHARS = bibload.ROPE_CHARS  # a .bib read already and opened in the editor, larger than this, is a rope
NOCITE_ALL = re.compile(r"\\nocite\s*\{[^}]*\*")

# A message for the user: (level, text); level is "error", "warning" or "info".
Message = tuple[str, str]


def in_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


_tasks: set[asyncio.Future[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a background task; its failure is logged, never lost silently."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)

    def done(t_: asyncio.Future[Any]) -> None:
        _tasks.discard(task)
        if not t_.cancelled() and t_.exception() is not None:
            log.error("background task failed", exc_info=t_.exception())

    task.add_done_callback(done)


def _load_messages(errors: list[str], warnings: list[str]) -> list[Message]:
    """What a user is told about an index just loaded: the feeds left out, and the encoding notes."""
    out: list[Message] = [("error", f"feed left out: {err}") for err in errors]
    for w in warnings:
        log.warning(w)
        if is_encoding_note(w):
            out.append(("warning", w))
    return out


def read_bib(uri: str, text: Text, encoding: str = "utf-8") -> BibFile:
    """A .bib from its text (an open document, an edit): its encoding noted when it is not UTF-8."""
    path = uri_path(uri)
    note = encoding_note(path or uri, encoding)
    return BibFile(uri, Path(path) if path else None, text, warnings=[note] if note else [], encoding=encoding)


def stop_workers() -> None:
    """At exit: reads in worker threads stop now (an interpreter's exit would otherwise wait for them)."""
    bibload.stop()


def _nothing(*_: Any) -> None:
    return None


@dataclass
class Workspace:
    """Everything the server knows: settings, the catalog, open documents, the workspace's .bib files."""

    settings: Settings = field(default_factory=Settings)
    catalog: Catalog | None = None
    source: str = ""  # where the papers came from (the status line says it)
    docs: dict[str, DocAnalysis] = field(default_factory=dict)
    language: dict[str, str] = field(default_factory=dict)  # uri -> the client's languageId
    bibs: Bibs = field(default_factory=Bibs)
    root: Path | None = None
    markdown: bool = True  # the client shows Markdown hovers
    refreshing: bool = False
    build_job: BuildJob | None = None  # the index of the configured sources, being built in a child process
    load_gen: int = 0  # one more at each load_index: a background build's index is installed only in its own
    pending: dict[str, asyncio.TimerHandle] = field(default_factory=dict)  # debounced work, by key
    bib_index: BibIndex = field(default_factory=BibIndex)
    bib_gen: dict[str, int] = field(default_factory=dict)  # per .bib URI: the newest read wins
    bib_paths: list[Path] = field(default_factory=list)  # workspace .bib files still to read
    bibs_ready: bool = True  # False until every workspace .bib's keys are known (no unknown-key claims before)
    loading: int = 0  # background .bib reads running
    pending_open: dict[str, Callable[[], None]] = field(default_factory=dict)  # uri -> analyse (large didOpen)
    start_messages: list[Message] = field(default_factory=list)  # shown once the client is initialized
    # Set by the LSP layer: publish one document's diagnostics, send the status, show a message.
    publish: Callable[[str], None] = _nothing
    status_changed: Callable[[], None] = _nothing
    show: Callable[[str, str], None] = _nothing
    _switch: float = 0.005
    _warmed: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ documents

    def doc(self, uri: str) -> DocAnalysis | None:
        d = self.docs.get(uri)
        if d is None and uri in self.pending_open:  # a large document asked for before its analysis ran
            self.pending_open.pop(uri)()
            d = self.docs.get(uri)
        return d

    def require_catalog(self) -> Catalog:
        assert self.catalog is not None, "index not loaded"
        return self.catalog

    def lines(self, uri: str) -> Sequence[str]:
        """A file's lines as the server sees it: the open document, a .bib read, else the file on disk."""
        d = self.docs.get(uri)
        if d is not None:
            return d.lines
        f = self.bibs.files.get(uri)
        if f is not None:
            return f.text.split("\n")
        path = uri_path(uri)
        if path and Path(path).is_file():
            return Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
        return []

    def republish(self) -> None:
        """Publish every open document's diagnostics again (what they depend on changed)."""
        for uri in list(self.docs):
            self.publish(uri)

    def documents_changed(self, publish: bool = True) -> None:
        """The papers changed (a new index, .bib entries read): documents match names again."""
        for d in self.docs.values():
            d.forget_matches()
        if publish:
            self.republish()

    def open(self, uri: str, language_id: str, text: Text, version: int,
             current: Callable[[], tuple[str, int | None] | None]) -> Text | None:
        """didOpen. A very large document is analysed just after (requests already sent are answered first),
        from `current()`: the editor's copy then, with every change made meanwhile. Returns the .bib's text as
        read before, when it is the same text: the caller keeps that one instead of a second copy."""
        kind = doc_kind(language_id, uri)
        self.language[uri] = language_id
        if len(text) > LARGE_OPEN_CHARS and kind != BIBTEX and in_loop():
            self.docs.pop(uri, None)

            def analyse() -> None:
                self.pending_open.pop(uri, None)
                now = current()
                if now is None or uri in self.docs or uri not in self.language:
                    return  # closed (or reopened) meanwhile
                self.docs[uri] = DocAnalysis.from_text(uri, kind, now[0], now[1] or version)
                self.publish(uri)

            self.pending_open[uri] = analyse
            self.schedule("open:" + uri, 0.1, analyse)
            return None
        if kind == BIBTEX:
            known = self.bibs.files.get(uri)
            if known is None or known.text != text:
                lines = RopeLines(text) if isinstance(text, Rope) else text.split("\n")
                self.docs[uri] = DocAnalysis(uri, kind, lines, version)
                spawn(self.reindex(uri, text, known.encoding if known else "utf-8"))
                return None
            if isinstance(known.text, str) and len(known.text) > ROPE_CHARS and plain_breaks(known.text):
                # Edits are coming: the file, its lines and the editor hold one rope from now on (an edit then
                # copies the chunks it touches, not the file; the string goes, and with it the 2 bytes a character
                # that a few wide characters cost all of it; no list of its lines either).
                known.doc.use_text(Rope(known.text))
                known.text = known.doc.text
            kt = known.text
            self.docs[uri] = DocAnalysis(uri, kind, RopeLines(kt) if isinstance(kt, Rope) else kt.split("\n"), version)
            self.publish(uri)  # (a .bib whose text is read already: only its own diagnostics are new)
            return known.text
        self.docs[uri] = DocAnalysis.from_text(uri, kind, as_str(text), version)
        self.publish(uri)
        return None

    def change(self, uri: str, text: Text, version: int, changes: Sequence[Any] = (),
               span: tuple[Text, int, int] | None = None) -> None:
        """didChange (the text with the change applied): re-split, let the per-line caches keep every unchanged
        line's analysis, and re-read (a .bib) or re-check the document once the typing pauses. `span`: (the
        text before, start, end) of what the change replaced, when the editor's copy knows it."""
        d = self.doc(uri)
        if d is None:
            return
        if d.kind == BIBTEX and self._bib_edited(d, text, version, changes, span):
            return
        text = as_str(text)  # (a large .bib's rope, read again whole)
        d.lines = text.split("\n")
        d.version = version
        d.invalidate()
        if d.kind == BIBTEX:
            self.schedule("bib:" + uri, 0.3, lambda: spawn(self.reindex(uri, text, self.encoding(uri))))
            return

        def republish() -> None:
            self.publish(uri)
            if self.settings.diagnostics.unused_entry == "hint":  # what is cited changed
                for u, other in list(self.docs.items()):
                    if other.kind == BIBTEX:
                        self.publish(u)

        self.schedule("diag:" + uri, 0.2, republish)

    def _bib_edited(self, d: DocAnalysis, text: Text, version: int, changes: Sequence[Any],
                    span: tuple[Text, int, int] | None) -> bool:
        """A large open .bib edited: only the entries the edit touches are read and checked again, now
        (bibload.apply_edit), so the next completion already has them; False when the file must be read again
        instead."""
        f = self.bibs.files.get(d.uri)
        if f is None or len(text) <= SYNC_BIB_BYTES:
            return False
        t0 = time.perf_counter()
        e = bibload.apply_edit(f, text, self.bib_index, bibload.changed_lines(changes, len(d.lines)),
                               span[1:] if span is not None and span[0] is f.text else None)
        log.info("%s: edit applied in %.1f ms (%s)", d.uri, (time.perf_counter() - t0) * 1000,
                 "entries " + ", ".join(e.keys) if e else "the file is read again")
        if e is None:
            return False
        if isinstance(text, Rope) and not isinstance(d.lines, list):
            d.lines = RopeLines(text)  # (read from the rope: nothing to splice)
        elif isinstance(d.lines, list):
            e.splice(d.lines)
        else:
            d.lines = as_str(text).split("\n")
        d.version = version
        d.invalidate()
        self.bib_gen[d.uri] = self.bib_gen.get(d.uri, 0) + 1  # an older re-read still running is dropped
        self.put_bib(d.uri, e.file)
        self.schedule("bib:" + d.uri, 0.3, lambda: self.documents_changed())  # re-match names, republish
        return True

    def saved(self, uri: str, current: Callable[[], Text]) -> None:
        """didSave: a .bib saved with other text than was read is read again."""
        d = self.doc(uri)
        if d is not None and d.kind == BIBTEX:
            text = current()
            known = self.bibs.files.get(uri)
            if known is None or known.text != text:
                spawn(self.reindex(uri, as_str(text), self.encoding(uri)))

    def close(self, uri: str) -> DocAnalysis | None:
        self.language.pop(uri, None)
        self.pending_open.pop(uri, None)
        return self.docs.pop(uri, None)

    def encoding(self, uri: str) -> str:
        f = self.bibs.files.get(uri)
        return f.encoding if f else "utf-8"

    def schedule(self, key: str, delay: float, fn: Callable[[], None]) -> None:
        """Debounce: run fn after `delay` seconds unless scheduled again first."""
        old = self.pending.pop(key, None)
        if old is not None:
            old.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            fn()
            return
        self.pending[key] = loop.call_later(delay, fn)

    def all_documents(self) -> dict[str, DocAnalysis]:
        """The open documents, and the workspace's .tex and .md files from disk (for references, unused entries)."""
        docs = dict(self.docs)
        root = self.root
        if root is not None and root.is_dir():
            for p in list(root.rglob("*.tex"))[:500] + list(root.rglob("*.md"))[:500]:
                uri = path_uri(p)
                if uri not in docs:
                    try:
                        docs[uri] = DocAnalysis.from_text(uri, doc_kind(None, uri), p.read_text(errors="replace"))
                    except OSError:
                        continue
        return docs

    def cited_keys(self) -> set[str] | None:
        """Every key the workspace's documents cite; None when one of them has \\nocite{*} (everything is used)."""
        keys: set[str] = set()
        for d in self.all_documents().values():
            if d.kind == BIBTEX:
                continue
            if any("nocite" in line and NOCITE_ALL.search(line) for line in d.lines):
                return None
            keys.update(c.key for c in d.cites(self.settings.cite_commands))
        return keys

    # ------------------------------------------------------------------ the catalog

    def swap_catalog(self, cat: Catalog, source: str | None = None) -> None:
        """Install a new catalog in one assignment and forget what documents matched against the old one."""
        self.catalog = cat
        if source is not None:
            self.source = source
        self.documents_changed(publish=False)

    def load_index(self) -> list[Message]:
        """Open the index. A feed file that cannot be read is left out, and whatever else goes wrong falls back to
        the shipped papers: the server always has an index. Returns one message per problem (file and reason).

        When the index must be built and that takes long (large feeds), it is built in a child process
        (`build_job`, finished by `finish_build`) and the server answers from the index it had meanwhile."""
        problems: list[Message] = []
        self.cancel_build()
        self.load_gen += 1
        try:
            if builds_long(self.settings) and open_built(self.settings, skip_bad=True) is None:
                # The child first: the index answered from meanwhile may take a second to make (the shipped
                # papers' on a fresh cache), the build minutes.
                self.build_job = BuildJob(self.settings, what=sources_named(self.settings))
                loaded = open_previous(self.settings)
                log.info("building the index of %s in process %d; answering from %s meanwhile",
                         self.build_job.what, self.build_job.pid, loaded.library_source)
                self._install(loaded)
                return problems
        except Exception as e:  # the cache cannot be read, the child cannot start: build here, as before
            log.exception("starting the index build failed")
            self.cancel_build()
            problems.append(("warning", f"cannot build the index in the background ({e}); building it now"))
        try:
            with dense.lookup_only():  # (on the event loop: a build here never waits for the encoder)
                loaded = open_index(self.settings, skip_bad=True)
        except Exception as e:  # e.g. a huge feed that turns out to be broken half-way through
            log.exception("loading the feeds failed")
            problems.append(("error", f"{e}; serving the shipped papers without the extra feeds"))
            with dense.lookup_only():
                loaded = open_index(dataclasses.replace(self.settings, feeds=()), skip_bad=True)
        self._install(loaded)
        return problems + _load_messages(loaded.errors, loaded.warnings)

    def _install(self, loaded: Loaded) -> None:
        self.bib_index.repos = loaded.index.repos
        self.swap_catalog(Catalog(loaded.index, bib=self.bib_index), loaded.library_source)

    def cancel_build(self) -> None:
        job, self.build_job = self.build_job, None
        if job is not None:
            job.cancel()

    async def finish_build(self, report: Callable[[int], None] = lambda n: None) -> list[Message]:
        """Wait for the background build (reporting the papers it has read), then swap its index in; a build that
        fails or is killed keeps the index in use, and says why in one message naming the feeds."""
        job = self.build_job
        if job is None:
            return []
        loop = asyncio.get_running_loop()
        gen, seen = self.load_gen, -1
        while not job.done.is_set():
            if job.papers != seen:
                seen = job.papers
                report(seen)
            await loop.run_in_executor(None, job.wait, 0.5)
        if self.build_job is not job:
            return []  # cancelled or superseded (the settings changed): the newer load says what it does
        self.build_job = None
        messages: list[Message]
        loaded = await loop.run_in_executor(None, lambda: open_built(self.settings, skip_bad=True)) if job.ok else None
        if self.load_gen != gen or self.catalog is None:
            return []  # a newer load began meanwhile
        if loaded is not None:
            self._install(loaded)
            out = job.outcome
            messages = _load_messages(loaded.errors, [str(w) for w in out.get("warnings", [])])
        else:
            reason = job.error if not job.ok else f"{job.what}: the index built in the background cannot be opened"
            log.error("index build failed: %s", reason)
            messages = [("error", f"{reason}; serving the {self.catalog.n_papers} papers of "
                                  f"{self.source or 'the previous index'} meanwhile")]
        self.status_changed()
        self.republish()
        return messages

    def build_catalog(self) -> tuple[Catalog, str]:
        """A catalog over the library as it is now (after a refresh), not yet installed (swap_catalog does)."""
        loaded = open_index(self.settings, skip_bad=True)
        self.bib_index.repos = loaded.index.repos
        return Catalog(loaded.index, bib=self.bib_index), loaded.library_source

    def status(self) -> dict[str, Any]:
        cat = self.catalog
        busy = self.refreshing or self.build_job is not None  # (a background build: the index is being refreshed)
        return {"papers": cat.n_papers if cat else 0, "state": "refreshing" if busy else "idle",
                "source": self.source}

    def cache_dir(self) -> Path | None:
        try:
            return self.settings.cache_path
        except Exception:  # an unusable cache setting costs the cache, nothing else
            return None

    # ------------------------------------------------------------------ the .bib set

    def put_bib(self, uri: str, f: BibFile | None) -> None:
        """The one place the .bib set changes: add or replace a file, or (None) forget it and its entries."""
        if f is None:
            self.bibs.files.pop(uri, None)
            self.bib_index.remove_origin(uri)
        else:
            self.bibs.files[uri] = f

    def start(self) -> None:
        """At initialize: read the workspace's small .bib files now; the rest are read by `read_large_bibs`."""
        self.pending.clear()
        use_cache_dir(self.cache_dir())  # (the first hover's word table, read from there on the next start)
        dense.use_cache_dir(self.cache_dir())
        # With the encoder installed, builds in worker threads (a refresh) embed their new papers, and a passage
        # gets its vector; builds on the event loop never embed (load_index). The model is loaded now, off the
        # request path (~3-4 s, ~500 MB).
        if not dense.encoder_enabled() and dense.available():
            dense.enable_encoder(True)
            threading.Thread(target=dense.encoder, name="encoder-load", daemon=True).start()
        self.bib_paths = self._scan_workspace_bibs()
        self.bibs_ready = not self.bib_paths
        if not self.bib_paths and self.bib_index.n:
            build_content(self.bib_index)

    def bib_notes(self, files: list[BibFile] | None = None) -> list[Message]:
        """Which .bib files were read in another encoding than UTF-8."""
        files = list(self.bibs.files.values()) if files is None else files
        return [("warning", w) for f in files for w in f.warnings if is_encoding_note(w)]

    def _index_now(self, f: BibFile) -> None:
        """Index a small .bib inline (tests and small projects see every entry at once)."""
        self.put_bib(f.uri, f)
        bibload.index_file(f, self.bib_index)
        if self.bib_index.n <= SYNC_LIGHT_ENTRIES:
            build_content(self.bib_index)
        else:
            spawn(self._build_content())

    async def _build_content(self) -> None:
        """The related-papers index over the .bib entries' abstracts (small libraries only), in a worker thread."""
        bib = self.bib_index
        if bib.n > CONTENT_MAX:
            bib.content = None
            return
        await asyncio.get_running_loop().run_in_executor(None, build_content, bib)

    async def reindex(self, uri: str, text: Text | None, encoding: str = "utf-8") -> None:
        """A .bib changed (opened, edited, saved, written by us, changed on disk): read it in a worker thread and
        swap its entries in; requests keep answering from the previous entries meanwhile, and the newest read
        wins. None: the file is gone."""
        gen = self.bib_gen[uri] = self.bib_gen.get(uri, 0) + 1
        if text is None:
            self.put_bib(uri, None)
            self.documents_changed()
            return
        loop = asyncio.get_running_loop()
        if len(text) <= SYNC_BIB_BYTES:
            self._index_now(read_bib(uri, text, encoding))
            self.documents_changed()
            return
        self._loading(+1)
        try:
            f = await loop.run_in_executor(None, read_bib, uri, text, encoding)
            if self.bib_gen.get(uri) != gen:
                return
            self.put_bib(uri, f)
            await loop.run_in_executor(None, lambda: bibload.index_file(
                f, self.bib_index, still_wanted=lambda: self.bib_gen.get(uri) == gen))
        finally:
            self._loading(-1)
        self.documents_changed()
        await self._build_content()

    async def check_bib(self, f: BibFile) -> bool:
        """Syntax-check a large .bib on the event loop, a few blocks at a time (~5 ms), so that a request waits
        for one slice at most (a worker thread would share the GIL with requests for the whole check); given up
        as soon as a newer version replaces it. True when done and still current."""
        if f.check is None:
            parts = []
            a = 0
            self._loading(+1)  # the GIL handed over often: a message is read between two slices, not 5 ms later
            try:
                for b in bibload.check_bounds(f.doc):
                    parts.append(check_region(f.text, a, b))
                    a = b
                    await asyncio.sleep(0)
                    if self.bibs.files.get(f.uri) is not f:
                        return False
            finally:
                self._loading(-1)
            f.check = BibCheck.of_parts(parts)
            f.where = functools.partial(bibload.position, f.doc)  # (no list of a million line starts)
        _ = f.scan  # with positions
        return self.bibs.files.get(f.uri) is f

    async def reload_from_disk(self, uri: str) -> None:
        """A .bib changed on disk (or was deleted): read it again, in its own encoding."""
        path = uri_path(uri)
        if not path or not Path(path).is_file():
            await self.reindex(uri, None)
            return
        try:
            data = await asyncio.get_running_loop().run_in_executor(None, Path(path).read_bytes)
        except OSError as e:
            log.warning("%s: %s", path, e)
            return
        text, encoding = decode_bib_bytes(data)
        await self.reindex(uri, text, encoding)

    def files_changed(self, uris: list[str]) -> None:
        """.bib files changed on disk (the client's file watcher); an open .bib is tracked through its edits."""
        for uri in uris:
            if uri.endswith(".bib") and uri not in self.docs:
                spawn(self.reload_from_disk(uri))

    async def prefetch_columns(self) -> None:
        """Read the index's column files once into the file cache (store.prefetch), in a worker thread: the first
        requests after a start find their pages in memory (a 1M index's columns: ~1.2 GB, ~2 s from disk)."""
        if self.catalog is not None:
            t0 = time.perf_counter()
            n = await asyncio.get_running_loop().run_in_executor(None, prefetch, self.catalog.base.column_files(),
                                                                 prefetch_budget())
            log.info("index columns read into the file cache: %d MB in %.1f s", n >> 20, time.perf_counter() - t0)

    async def warm_up(self) -> None:
        """Load, in a worker thread, what the first hover would otherwise wait for (the word frequencies of its
        related-papers line: ~0.4 s; the stored paper vectors: 2-10 ms); once: a second caller waits for the first's."""
        if self._warmed is None:
            self._warmed = asyncio.ensure_future(self._warm())
        await asyncio.shield(self._warmed)

    async def _warm(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, rarity, "paperlens")
        await loop.run_in_executor(None, dense.preload)

    def _loading(self, step: int) -> None:
        """While a worker reads .bib files (or a check runs in slices), hand the GIL over often, so requests do
        not wait behind it."""
        if self.loading == 0 and step > 0:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(LOADING_SWITCH_INTERVAL)
        self.loading += step
        if self.loading == 0:
            sys.setswitchinterval(self._switch)

    def _scan_workspace_bibs(self) -> list[Path]:
        """Read the workspace's small .bib files now (within a small byte budget); return the rest, which are read
        in the background."""
        small, large, budget = [], [], SYNC_BIB_BYTES
        for p in bibload.workspace_bibs(self.root, MAX_BIB_SCAN):
            try:
                size = p.stat().st_size
            except OSError:
                continue
            if size <= budget:
                small.append(p)
                budget -= size
            else:
                large.append(p)
        entries = 0
        for p in small:
            uri = path_uri(p)
            try:
                f = bibload.read_bib_path(p, uri).file
            except OSError as e:
                log.warning("%s: %s", p, e)
                continue
            if uri not in self.bibs.files:
                self.put_bib(uri, f)
            if entries + len(f.doc.entries) <= SYNC_LIGHT_ENTRIES:
                bibload.index_file(f, self.bib_index)
            else:
                bibload.add_stubs(f, self.bib_index)  # its keys answer now; its records are read in the background
                large.append(p)
            entries += len(f.doc.entries)
        return large

    async def read_large_bibs(self) -> None:
        """The workspace's larger .bib files: scanned (keys known), then indexed, in worker threads."""
        loop = asyncio.get_running_loop()
        cache = self.cache_dir()
        self._loading(+1)
        try:
            # Warm: files whose parsed records are cached (same size and mtime) answer at once, before any read.
            installed = {}
            for p in self.bib_paths:
                uri = path_uri(p)
                if uri not in self.docs and uri not in self.bibs.files:
                    hit = await loop.run_in_executor(None, bibload.install_cached, p, uri, self.bib_index, cache,
                                                     True)
                    if hit is not None:
                        installed[uri] = hit
                        await self.warm_up()  # cached keys answer now: what their first hover needs comes next
                        await loop.run_in_executor(None, self.bib_index.finish_install)  # then title words
            if installed:
                self.documents_changed(publish=False)
            else:
                spawn(self.warm_up())
            read: list[bibload.Read] = []
            for p in self.bib_paths:
                uri = path_uri(p)
                known = self.bibs.files.get(uri)
                if uri in self.docs and known is not None:
                    continue  # open in the editor: its text there wins
                try:
                    r = await loop.run_in_executor(None, bibload.read_bib_path, p, uri, cache, self.bib_index,
                                                   installed.get(uri))
                except OSError as e:
                    log.warning("%s: %s", p, e)
                    continue
                if known is None or known.text == r.file.text:
                    self.put_bib(uri, r.file)
                    read.append(r)
            for level, note in self.bib_notes([r.file for r in read]):
                self.show(level, note)
            self.bibs_ready = True  # every key is known now: diagnostics may call a key unknown
            self.republish()
            for r in read:
                if r.installed:
                    continue
                gen = self.bib_gen.get(r.file.uri, 0)

                def wanted(uri: str = r.file.uri, gen: int = gen) -> bool:
                    return self.bib_gen.get(uri, 0) == gen  # not re-read since (an edit, a change on disk)

                await loop.run_in_executor(None, functools.partial(
                    bibload.index_file_in, r.file, self.bib_index, cache, r.digest, r.lights, wanted,
                    r.stat_key))
        finally:
            self.bibs_ready = True
            self._loading(-1)
        self._loading(+1)  # (what follows runs in worker threads too: requests still get the GIL at once)
        try:
            self.documents_changed()
            self.status_changed()
            await self._build_content()
            # The first hover's Related line would pay for first uses (word rarities, vocabulary lookups): here,
            # in a worker thread, once the entries can be decoded (72k .bib warm: first hover's line ~2.9 -> ~1.3
            # ms).
            if self.catalog is not None:
                await loop.run_in_executor(None, self.catalog.prime_related, PRIME_PAPERS)
        finally:
            self._loading(-1)
