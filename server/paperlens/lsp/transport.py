"""The LSP life cycle and the byte streams: the protocol class (what the spec says about initialize, shutdown and
exit; bad params answered), and serving one client over stdio or TCP with our own framing reader."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from paperlens import __version__
from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import BIBTEX, doc_kind
from paperlens.analysis.workspace import Workspace, stop_workers
from paperlens.core import priority
from paperlens.core.rope import CHUNK, Rope, Text
from paperlens.core.text import clean
from paperlens.features.context import FeatureContext
from paperlens.lsp.convert import Convert, Json
from paperlens.lsp.documents import FAST_CHANGES, raw_changes
from paperlens.lsp.framing import (
    BIG_TEXT,
    AsyncReader,
    FrameError,
    PipeReader,
    Pushback,
    parse_body,
    read_frame,
    split_text,
)

log = logging.getLogger(__name__)

_ANSWERED = object()  # a request already answered with an error while decoding it
_FRAME = object()  # a message being read and handled (priority: loaders pause meanwhile)


class PaperLensProtocol(LanguageServerProtocol):
    """The LSP life cycle as the spec has it, errors without tracebacks, and requests with bad params answered.

    - before `initialize`: requests get -32002 (ServerNotInitialized), notifications are dropped (`exit` aside);
    - a second `initialize` gets InvalidRequest;
    - after `shutdown`: requests get InvalidRequest (pygls would never answer them), only `exit` is handled;
    - `exit` without `shutdown` ends the process with code 1 (see `exit_code`);
    - a request whose params do not decode gets an error response (pygls only logs it, and the client would wait
      forever)."""

    exit_code = 0
    _initialize_seen = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._texts: dict[str, Text] = {}  # uri -> the text of a huge didOpen (its params carry "")
        # The text the server holds for a .bib (PaperLensServer: its workspace's, read from disk).
        self.known_text: Callable[[str], Text | None] = lambda uri: None

    def put_text(self, item: dict[str, Any], pieces: Iterator[str]) -> None:
        """Keep the text of a huge didOpen, taken in pieces, for on_did_open (take_text). A .bib's is compared
        piece by piece with the text the server holds for that file (read from disk): the same text is that
        one, and the pieces are dropped as they come; otherwise it is a rope of the pieces (each as narrow as it
        can be); anything else is one string as before."""
        uri = item.get("uri")
        if not isinstance(uri, str):
            for _ in pieces:  # (a didOpen without a uri: read for its errors, then left to pygls)
                pass
            return
        lang = item.get("languageId")
        if doc_kind(lang if isinstance(lang, str) else None, uri) != BIBTEX:
            self._texts[uri] = "".join(pieces)
            return
        known = self.known_text(uri)
        kept: list[str] = []
        at = 0
        for p in pieces:
            if known is not None and not kept and known[at:at + len(p)] == p:
                at += len(p)
                continue
            if known is not None and not kept and at:  # the first difference: what matched is the known text's
                kept.extend(known[a:min(at, a + CHUNK)] for a in range(0, at, CHUNK))
            kept.append(p)
        if known is not None and not kept:
            if at == len(known):
                self._texts[uri] = known
                return
            kept = [known[a:min(at, a + CHUNK)] for a in range(0, at, CHUNK)]  # (a text that ends early)
        if any("\r" in p for p in kept):
            self._texts[uri] = "".join(kept)
        else:
            self._texts[uri] = Rope.of_chunks(kept)

    def take_text(self, uri: str, text: str) -> Text:
        """A didOpen's text: the one put_text kept, else the one in its params."""
        return self._texts.pop(uri, text)

    def structure_message(self, data: Any) -> Any:
        if (isinstance(data, dict) and data.get("method") == t.TEXT_DOCUMENT_DID_CHANGE
                and isinstance(data.get("params"), dict)):
            items = data["params"].get("contentChanges")
            raw = raw_changes(items) if isinstance(items, list) and len(items) > FAST_CHANGES else None
            if raw is not None:
                msg = super().structure_message({**data, "params": {**data["params"], "contentChanges": []}})
                msg.params.content_changes = raw  # applied by SyncedDocument.apply_change
                return msg
        try:
            return super().structure_message(data)
        except JsonRpcException as e:
            if isinstance(data, dict) and "id" in data and isinstance(data.get("method"), str):
                err = e.to_response_error()
                err.message = f"{err.message}: {clean(data['method'], 100)}"
                self._send_response(data["id"], None, err)
                return _ANSWERED
            raise

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        is_request = method is not None and getattr(message, "id", None) is not None
        if method == t.EXIT:
            self.exit_code = 0 if self._shutdown else 1
            stop_workers()
        elif self._shutdown:
            if is_request:
                self._error(message.id, -32600, f"the server is shutting down; {method} not handled")
            return
        elif not self._initialize_seen:
            if method != t.INITIALIZE:
                if is_request:
                    self._error(message.id, -32002, f"the server is not initialized; {method} not handled")
                return
            self._initialize_seen = True
        elif method == t.INITIALIZE and is_request:
            self._error(message.id, -32600, "initialize was already received")
            return
        if is_request:
            priority.begin(message.id)  # until its answer (_send_response): background loaders pause
        super().handle_message(message)

    def _send_json(self, msg: dict[str, Any]) -> None:
        """A message as pygls' _send_data writes one (same framing), from plain JSON values."""
        if self.writer is None:
            log.error("no transport to send a response on")
            return
        body = json.dumps(msg)
        header = (f"Content-Length: {len(body)}\r\n"  # (ensure_ascii: characters are bytes)
                  f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n")
        res = self.writer.write((header + body).encode(self.CHARSET))
        if inspect.isawaitable(res):
            asyncio.ensure_future(res)

    def _error(self, msg_id: Any, code: int, message: str) -> None:
        self._send_response(msg_id, None, ResponseError(code=code, message=message))

    def _send_response(self, msg_id: Any, result: Any | None = None, error: ResponseError | None = None) -> None:
        try:
            self._answer(msg_id, result, error)
        finally:
            priority.end(msg_id)

    def _answer(self, msg_id: Any, result: Any | None, error: ResponseError | None) -> None:
        if error is None and isinstance(result, Json):  # made in its JSON shape (convert): no converter walk
            self._result_types.pop(msg_id, None)
            self._send_json({"jsonrpc": "2.0", "id": msg_id, "result": result.value})
            return
        if error is not None:
            # No tracebacks (file paths, code) to the client: the message names the error; details go to the log.
            error = ResponseError(code=error.code, message=clean(error.message or "error", 500))
        super()._send_response(msg_id, result, error)


class PaperLensServer(LanguageServer):
    """pygls' server with our protocol class and the one state object (`ws`)."""

    def __init__(self) -> None:
        super().__init__("paperlens", __version__, protocol_cls=PaperLensProtocol)
        self.ws = Workspace()
        if isinstance(self.protocol, PaperLensProtocol):
            self.protocol.known_text = self._known_text

    def _known_text(self, uri: str) -> Text | None:
        f = self.ws.bibs.files.get(uri)
        return f.text if f is not None else None

    @property
    def convert(self) -> Convert:
        """Positions and edits to and from this client's units (known after initialize)."""
        caps = self.client_capabilities.workspace
        we = caps.workspace_edit if caps else None
        return Convert(self.workspace.position_codec, self.ws.lines,
                       document_changes=we is None or bool(we.document_changes))

    def context(self, doc: DocAnalysis) -> FeatureContext:
        """What a feature may look at for a request on this document."""
        ws = self.ws
        return FeatureContext(doc, ws.require_catalog(), ws.bibs, ws.settings, ws.language.get(doc.uri, ""),
                              ws.root, tuple(self.roots()), ws.markdown)

    def roots(self) -> list[Path]:
        """The workspace folders (all of them), else the root the client named."""
        out = []
        try:
            for f in self.workspace.folders.values():
                p = to_fs_path(f.uri)
                if p:
                    out.append(Path(p))
        except RuntimeError:  # no workspace before initialize
            pass
        if not out and self.ws.root is not None:
            out.append(self.ws.root)
        return out


async def serve_stream(ls: LanguageServer, reader: AsyncReader) -> None:
    """Read frames until the input ends or `exit`; a bad frame is answered (when it was a request) or skipped,
    never the end of the server."""
    proto = ls.protocol
    assert isinstance(proto, PaperLensProtocol)
    reader = Pushback(reader)
    stop = ls._stop_event
    while stop is None or not stop.is_set():
        priority.end(_FRAME)
        try:
            body = await read_frame(reader)
            priority.begin(_FRAME)  # from here to the next read: background loaders pause
        except FrameError as e:
            log.warning("%s", e)
            continue
        if body is None:
            break
        big = split_text(body) if len(body) > BIG_TEXT else None
        if big is not None:  # a huge didOpen: its text in pieces, never one string
            del body  # (98 MB for a 98 MB .bib: freed once its text is decoded)
            data, pieces = big
            try:
                proto.put_text(data["params"]["textDocument"], pieces)
            except (ValueError, RecursionError) as e:
                log.warning("a didOpen whose text is not a valid JSON string was skipped (%s)", e)
                continue
            body = b""
        try:
            data = parse_body(body) if big is None else data
        except FrameError as e:
            log.warning("%s", e)
            proto._error(e.msg_id, -32700, str(e))
            if e.resync:  # a wrong Content-Length: the next message may start inside this body
                reader.unread(body)
            continue
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            msg_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), int | str) else None
            proto._error(msg_id, -32600, "not a JSON-RPC 2.0 message")
            continue
        try:
            # Only the message itself is decoded by pygls (not each nested object, as its object_hook would).
            proto.handle_message(proto.structure_message(data))
        except JsonRpcException as e:
            msg_id = data.get("id") if isinstance(data.get("id"), int | str) else None
            if msg_id is not None and "method" in data:
                proto._error(msg_id, e.code, e.message)
        except Exception:
            log.exception("message not handled")
    priority.end(_FRAME)


async def _serve_stdio(ls: LanguageServer) -> None:
    try:
        reader: AsyncReader = await PipeReader.connect(sys.stdin.buffer)
    except (ValueError, OSError) as e:  # stdin is a regular file (`serve < messages`): read it in a thread
        log.info("stdin read in a thread (%s)", e)
        reader = StdinAsyncReader(sys.stdin.buffer, ls.thread_pool)
    await serve_stream(ls, reader)


def start_io(ls: LanguageServer) -> None:
    ls._stop_event = threading.Event()
    ls.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    try:
        asyncio.run(_serve_stdio(ls))
    except BrokenPipeError:
        log.error("the client's pipe closed; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ls.shutdown()


def parse_tcp(spec: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, :PORT or PORT -> (host, port); no host means 127.0.0.1."""
    host, sep, port = spec.rpartition(":")
    if not sep:
        host, port = "", spec
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--tcp {spec!r}: expected HOST:PORT with a port from 1 to 65535")
    return host or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_tcp(ls: LanguageServer, host: str, port: int) -> None:
    """Serve one client: the first connection gets the session; later ones are closed at once (a second local
    program must not take over the session, read its answers or end it)."""
    ls._stop_event = threading.Event()

    async def main() -> None:
        done = asyncio.Event()
        taken = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal taken
            peer = writer.get_extra_info("peername")
            if taken:
                log.warning("refused a second client from %s: this server serves one client", peer)
                writer.close()
                return
            taken = True
            log.info("client connected from %s", peer)
            ls.protocol.set_writer(writer)  # type: ignore[arg-type]
            try:
                await serve_stream(ls, reader)
            finally:
                done.set()

        srv = await asyncio.start_server(connection, host, port)
        addrs = ", ".join(str(sock.getsockname()[:2]) for sock in srv.sockets)
        log.warning("PaperLens listening on %s (one client)", addrs)
        async with srv:
            await done.wait()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ls.shutdown()
