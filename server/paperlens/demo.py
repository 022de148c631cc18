"""`paperlens demo`: start `paperlens serve` and drive it over stdio as an editor would, on examples/."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient


def examples_dir() -> Path | None:
    here = Path(__file__).resolve().parent
    cand = here.parent.parent / "examples"
    return cand if (cand / "draft.tex").is_file() else None


def _find(lines: list[str], needle: str, after: str = "") -> t.Position:
    for i, line in enumerate(lines):
        if needle in line and after in line:
            return t.Position(line=i, character=line.index(needle) + len(needle) // 2)
    raise ValueError(f"{needle!r} not found in the example")


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


async def _session(root: Path, cache_dir: str) -> int:
    shown: list[str] = []
    client = LanguageClient("paperlens-demo", "0.1")

    @client.feature(t.WINDOW_SHOW_DOCUMENT)
    def on_show_document(params: t.ShowDocumentParams) -> t.ShowDocumentResult:
        shown.append(params.uri)
        return t.ShowDocumentResult(success=True)

    @client.feature(t.WORKSPACE_CONFIGURATION)
    def on_configuration(params: t.ConfigurationParams) -> list[Any]:
        return [{} for _ in params.items]

    status: list[Any] = []
    diags: dict[str, list[t.Diagnostic]] = {}

    @client.feature("paperlens/status")
    def on_status(params: Any) -> None:
        status.append(params)

    @client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: t.PublishDiagnosticsParams) -> None:
        diags[params.uri] = list(params.diagnostics)

    # lsprotocol decodes any code action that has a "command" key as a Command; decide by its shape instead.
    conv = client.protocol._converter
    conv.register_structure_hook(
        t.Command | t.CodeAction,  # type: ignore[arg-type]
        lambda o, _: conv.structure(o, t.Command if isinstance(o.get("command"), str) else t.CodeAction))

    @client.feature(t.WINDOW_SHOW_MESSAGE)
    def on_message(params: t.ShowMessageParams) -> None:
        print(f"[server message] {params.message}")

    await client.start_io(sys.executable, "-m", "paperlens", "serve")
    caps = t.ClientCapabilities(
        text_document=t.TextDocumentClientCapabilities(
            hover=t.HoverClientCapabilities(content_format=[t.MarkupKind.PlainText])),
        window=t.WindowClientCapabilities(show_document=t.ShowDocumentClientCapabilities(support=True)),
    )
    await client.initialize_async(t.InitializeParams(
        capabilities=caps, root_uri=root.as_uri(), initialization_options={"cacheDir": cache_dir, "offline": True}))
    client.initialized(t.InitializedParams())

    tex = root / "draft.tex"
    uri = tex.as_uri()
    text = tex.read_text(encoding="utf-8")
    lines = text.split("\n")
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=uri, language_id="latex", version=1, text=text)))
    doc = t.TextDocumentIdentifier(uri=uri)

    pos = _find(lines, "DRCT", "saturates")
    print(f"== hover on DRCT ({tex.name}:{pos.line + 1}) ==")
    h = await client.text_document_hover_async(t.HoverParams(text_document=doc, position=pos))
    print(h.contents.value if h and isinstance(h.contents, t.MarkupContent) else "(no hover)")

    cline = next(i for i, line in enumerate(lines) if "\\cite{glo" in line)
    col = _utf16(lines[cline][: lines[cline].index("\\cite{glo") + len("\\cite{glo")])
    print("\n== completions for \\cite{glo ==")
    res = await client.text_document_completion_async(t.CompletionParams(
        text_document=doc, position=t.Position(line=cline, character=col)))
    items = res.items if isinstance(res, t.CompletionList) else (res or [])
    for it in list(items)[:5]:
        print(f"  {it.label:24} {it.detail}")

    mpos = _find(lines, "Glocal-IB", "time series")
    print("\n== code actions at Glocal-IB ==")
    actions = await client.text_document_code_action_async(t.CodeActionParams(
        text_document=doc, range=t.Range(start=mpos, end=mpos), context=t.CodeActionContext(diagnostics=[])))
    for a in actions or []:
        print(f"  {a.title}")
    open_repo = next((a for a in actions or [] if isinstance(a, t.CodeAction) and a.command
                      and a.command.command == "paperlens.openRepo"), None)
    if open_repo and open_repo.command:
        await client.workspace_execute_command_async(t.ExecuteCommandParams(
            command=open_repo.command.command, arguments=open_repo.command.arguments))
        print("\n== the server asked the editor to open ==")
        for u in shown:
            print(f"  {u}")
    print("\n== diagnostics ==")
    for d in diags.get(uri, []):
        print(f"  {tex.name}:{d.range.start.line + 1}: {d.message}")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    ok = bool(h) and bool(items) and bool(shown)
    if not ok:
        print("demo: something was missing (see above)", file=sys.stderr)
    return 0 if ok else 1


def run_demo(cache_dir: str | None = None) -> int:
    root = examples_dir()
    if root is None:
        print("paperlens demo: examples/draft.tex not found (run it from a PaperLens checkout)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="paperlens-demo-") as tmp:
        return asyncio.run(_session(root, cache_dir or tmp))
