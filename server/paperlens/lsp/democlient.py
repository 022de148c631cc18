"""The demo's editor: an LSP client (pygls') that starts `paperlens serve`, opens examples/draft.tex and prints
what an editor would show (hover, completions, code actions, the page it was asked to open, diagnostics)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient
from pygls.workspace.position_codec import PositionCodec

from paperlens.lsp.convert import Convert


def _find(lines: list[str], needle: str, after: str = "") -> t.Position:
    """The middle of a word in the example, in the client's units (UTF-16)."""
    for i, line in enumerate(lines):
        if needle in line and after in line:
            return _UTF16.position(lines, i, line.index(needle) + len(needle) // 2)
    raise ValueError(f"{needle!r} not found in the example")


_UTF16 = Convert(PositionCodec(t.PositionEncodingKind.Utf16), lambda uri: [])


async def session(root: Path, cache_dir: str) -> int:
    """Start `paperlens serve`, open examples/draft.tex, and print what an editor would show."""
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
    cpos = _UTF16.position(lines, cline, lines[cline].index("\\cite{glo") + len("\\cite{glo"))
    print("\n== completions for \\cite{glo ==")
    res = await client.text_document_completion_async(t.CompletionParams(text_document=doc, position=cpos))
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
