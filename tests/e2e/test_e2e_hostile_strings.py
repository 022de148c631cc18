"""Issue 11, items 6 and 14, over stdio: bad feed files never stop the server, and control characters and huge
strings from a feed never reach what the editor or the terminal shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.raw_lsp import RawServer

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
EVIL = "Evil\x00\x07\x1b[2J\x1b]8;;http://x\x07link\x1b]8;;\x07\u202eTXT.EXE"
HUGE = "A" * 1_000_000


def feed(tmp: Path) -> Path:
    papers = [{"title": f"{EVIL} Net: {HUGE}", "abstract": EVIL * 1000 + HUGE, "authors": [EVIL, HUGE],
               "arxiv_id": "2401.00001", "repo": "evil-org/three", "source": "json:test",
               "ai_keywords": [EVIL, HUGE]},
              {"title": "EvilNet", "abstract": "x", "arxiv_id": "2401.00002", "url": "command:workbench.action.x",
               "source": "json:test"}]
    p = tmp / "evil-feed.json"
    p.write_text(json.dumps({"version": 1, "papers": papers}), encoding="utf-8")
    return p


def shown(msg: dict) -> list[str]:
    """Every string in a reply."""
    out: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(msg.get("result"))
    return out


def test_control_characters_and_huge_strings_never_reach_the_editor(tmp_path: Path) -> None:
    srv = RawServer()
    try:
        srv.initialize(tmp_path, tmp_path / "cache", feeds=[str(feed(tmp_path))])
        uri = (tmp_path / "p.tex").as_uri()
        text = "We use EvilNet here and 2401.00001 there: \\cite{}\n"
        srv.open(uri, text)
        replies = [
            srv.hover(uri, 0, text.index("2401") + 2)[0],
            srv.hover(uri, 0, text.index("EvilNet") + 2)[0],
            srv.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                    "position": {"line": 0, "character": len(text) - 2}}),
            srv.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {
                "start": {"line": 0, "character": text.index("2401") + 2},
                "end": {"line": 0, "character": text.index("2401") + 2}}, "context": {"diagnostics": []}}),
            srv.request("workspace/symbol", {"query": "Evil"}),
            srv.request("workspace/executeCommand", {"command": "paperlens.search", "arguments": ["Evil"]}),
        ]
        assert replies[0]["result"] and replies[2]["result"]["items"] and replies[3]["result"]
        items = replies[2]["result"]["items"]
        resolved = srv.request("completionItem/resolve", next(i for i in items if "Evil" in i.get("detail", "")))
        replies.append(resolved)
        for r in replies:
            size = len(json.dumps(r))
            assert size < 200_000, (size, str(r)[:200])
            for s in shown(r):
                assert not CONTROL.search(s), repr(s[:120])
        hover_md = replies[0]["result"]["contents"]["value"]
        assert len(hover_md) < 10_000
        assert "](command:" not in json.dumps(replies)
        # A reply to a request the server could not run names no file and carries no traceback either.
        bad = srv.request("workspace/executeCommand", {"command": "paperlens.search", "arguments": [{"x": 1}, "y"]})
        assert "Traceback" not in json.dumps(bad)
    finally:
        assert srv.close() == 0


def test_cli_prints_no_terminal_escapes(tmp_path: Path) -> None:
    f = feed(tmp_path)
    for args in (["show", "2401.00001"], ["search", "Evil"], ["related", "2401.00001"], ["bib", "2401.00001"]):
        p = subprocess.run([sys.executable, "-m", "paperlens", *args, "--feed", str(f), "--offline", "--cache-dir",
                            str(tmp_path / "cache")], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert not CONTROL.search(p.stdout), (args, repr(p.stdout[:300]))
        assert len(p.stdout) < 20_000, (args, len(p.stdout))


@pytest.mark.parametrize("make", ["missing", "empty", "latin1", "directory", "binary", "truncated"])
def test_a_bad_feed_file_never_stops_the_server(tmp_path: Path, make: str) -> None:
    """Item 6 (fixed with issue 10): the server starts, names the file, and answers from the other papers."""
    p = tmp_path / "feed.json"
    if make == "empty":
        p.write_bytes(b"")
    elif make == "latin1":
        p.write_bytes('{"version": 1, "papers": [{"title": "G\xf6del"}]}'.encode("latin-1"))
    elif make == "directory":
        p.mkdir()
    elif make == "binary":
        p.write_bytes(bytes(range(256)) * 100)
    elif make == "truncated":
        p.write_text('{"version": 1, "papers": [{"title": "A"', encoding="utf-8")
    srv = RawServer()
    try:
        res = srv.initialize(tmp_path, tmp_path / "cache", feeds=[str(p)])
        assert "capabilities" in res["result"]
        uri = (tmp_path / "d.tex").as_uri()
        srv.open(uri, "DRCT keeps the features.\n")
        r, _ = srv.hover(uri, 0, 1)
        assert r["result"] and "DRCT" in r["result"]["contents"]["value"]
    finally:
        assert srv.close() == 0
