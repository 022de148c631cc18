"""Latency of "Papers related to this passage" through the wire, with and without the optional encoder: a client
process starts `paperlens serve` (shipped snapshot, offline) and asks for the code actions of paragraph selections
of real prose (the abstracts of the HF daily feed in ../shared/realworld, 40-300 tokens), round trips timed.

    OMP_NUM_THREADS=1 .venv/bin/python bench/passage_latency.py                       # key phrases only
    OMP_NUM_THREADS=1 PAPERLENS_ENCODER_ZIP=path/model.zip .venv/bin/python bench/passage_latency.py   # encoder
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
DAILY = ROOT.parent / "shared" / "realworld" / "hf" / "daily_papers-2024-10-25.json"


async def main() -> int:
    abstracts = [" ".join(d["paper"]["summary"].split()) for d in json.loads(DAILY.read_text())][:29]
    doc = "# Notes\n\n" + "\n\n".join(abstracts) + "\n"
    lines = doc.split("\n")
    client = LanguageClient("passage-bench", "0.1")

    @client.feature(t.WORKSPACE_CONFIGURATION)
    def on_configuration(params: t.ConfigurationParams) -> list[Any]:
        return [{} for _ in params.items]

    @client.feature("paperlens/status")
    def on_status(params: Any) -> None:
        pass

    conv = client.protocol._converter
    conv.register_structure_hook(
        t.Command | t.CodeAction,  # type: ignore[arg-type]
        lambda o, _: conv.structure(o, t.Command if isinstance(o.get("command"), str) else t.CodeAction))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "notes.md").write_text(doc, encoding="utf-8")
        await client.start_io(sys.executable, "-m", "paperlens", "serve",
                              env={**os.environ, "PAPERLENS_LOG": "WARNING"})
        await client.initialize_async(t.InitializeParams(
            capabilities=t.ClientCapabilities(), root_uri=root.as_uri(),
            initialization_options={"cacheDir": str(root / "cache"), "offline": True}))
        client.initialized(t.InitializedParams())
        uri = (root / "notes.md").as_uri()
        client.text_document_did_open(t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(uri=uri, language_id="markdown", version=1, text=doc)))
        await asyncio.sleep(3)  # the encoder, if any, loads in the background at start
        for trigger in (t.CodeActionTriggerKind.Automatic, t.CodeActionTriggerKind.Invoked):
            await _run(client, uri, lines, trigger)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return 0


async def _run(client: LanguageClient, uri: str, lines: list[str], trigger: t.CodeActionTriggerKind) -> None:
    times, counts = [], []
    for rnd in range(3):
        for i, line in enumerate(lines):
            if not line.strip() or line.startswith("#"):
                continue
            rng = t.Range(start=t.Position(line=i, character=0), end=t.Position(line=i, character=len(line)))
            t0 = time.perf_counter()
            res = await client.text_document_code_action_async(t.CodeActionParams(
                text_document=t.TextDocumentIdentifier(uri=uri), range=rng,
                context=t.CodeActionContext(diagnostics=[], trigger_kind=trigger)))
            times.append(time.perf_counter() - t0)
            if rnd == 0:
                counts.append(sum(1 for a in res or [] if isinstance(a, t.CodeAction)
                                  and a.title.startswith("Related to this selection")))
    ms = np.asarray(times) * 1000
    enc = "encoder" if os.environ.get("PAPERLENS_ENCODER_ZIP") else "no encoder (unless installed)"
    print(f"passage code actions, {enc}, {trigger.name}: {len(ms)} requests over {len(counts)} paragraphs, "
          f"p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
          f"p99 {np.percentile(ms, 99):.1f} ms, "
          f"max {ms.max():.1f} ms; passage actions per paragraph: mean {np.mean(counts):.1f}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
