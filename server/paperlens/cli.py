"""Command line: serve | demo | show | search | related | bib | refresh | snapshot."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from paperlens.core.config import Settings
from paperlens.core.model import Library
from paperlens.core.text import clean
from paperlens.features.card import card_plain
from paperlens.index import dense
from paperlens.index.catalog import Catalog
from paperlens.library.pipeline import open_index
from paperlens.library.store import write_library
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import read_feed_file


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


class UsageError(UserError):
    """A command line that cannot work; printed as one line, exit code 2 (as argparse does)."""


def _settings(args: argparse.Namespace) -> Settings:
    s = Settings()
    changes: dict[str, object] = {}
    if getattr(args, "offline", False):
        changes["offline"] = True
    if getattr(args, "cache_dir", None):
        changes["cache_dir"] = args.cache_dir
    if getattr(args, "feed", None):
        changes["feeds"] = tuple(args.feed)
    for name in ("hf_base_url", "github_base_url"):
        if getattr(args, name, None):
            changes[name] = getattr(args, name)
    return dataclasses.replace(s, **changes)  # type: ignore[arg-type]


def _catalog(args: argparse.Namespace) -> Catalog:
    settings = _settings(args)
    dense.use_cache_dir(settings.cache_path)
    dense.enable_encoder(True)  # a small feed's papers and a --text passage get vectors, if it is installed
    loaded = open_index(settings)
    for w in loaded.warnings:
        print(f"warning: {clean(w, 500)}", file=sys.stderr)
    return Catalog(loaded.index)


def _find(cat: Catalog, name: str):  # -> Entry
    e = cat.lookup(name)
    if e is None:
        raise UserError(f"no paper found for {name!r} (try `paperlens search {name}`)")
    return e


def cmd_show(args: argparse.Namespace) -> int:
    cat = _catalog(args)
    print(card_plain(_find(cat, args.name)))  # card_plain shows only cleaned, clipped strings
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    cat = _catalog(args)
    hits = cat.search(args.query, args.limit)
    if not hits:
        raise UserError(f"no paper matches {args.query!r}")
    for e in hits:
        year = e.year or "    "
        label = f"{e.method}: " if e.method and not e.title.startswith(e.method) else ""
        print(clean(f"{e.key:28} {year}  {label}{e.title}", 300))
    return 0


def cmd_related(args: argparse.Namespace) -> int:
    if (args.name is None) == (args.text is None):
        raise UserError("related: give a paper name or --text \"a passage\" (one of the two)")
    cat = _catalog(args)
    if args.text is not None:
        rel = cat.related_passage(args.text, args.k, encode=True)
        if not rel:
            raise UserError("no paper shares a key phrase with that text")
        print("Related to the text:")
    else:
        e = _find(cat, args.name)
        rel = cat.related_why(e, args.k)
        print(clean(f"Related to {e.key}: {e.title}", 300))
    for r, why in rel:
        print(clean(f"  {r.key:28} {r.title}", 300))
        if why:
            print(clean(f"  {'':28} both: {', '.join(why)}", 300))
    return 0


def cmd_bib(args: argparse.Namespace) -> int:
    from paperlens.sources.bibtex import format_bibtex

    cat = _catalog(args)
    e = _find(cat, args.name)
    print(format_bibtex(e.paper, e.key))
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    from paperlens.library.pipeline import refresh_with_progress

    summary = refresh_with_progress(_settings(args), show_progress=sys.stderr.isatty() or args.progress)
    print("\n".join(clean(line, 500) for line in summary.describe().split("\n")))
    return 0 if summary.ok else 1


def cmd_snapshot(args: argparse.Namespace) -> int:
    papers, warnings = read_feed_file(Path(args.source))
    for w in warnings:
        print(f"warning: {clean(w, 500)}", file=sys.stderr)
    write_library(Library(papers=papers), Path(args.out))
    print(f"wrote {len(papers)} papers to {args.out}")
    # Their vectors beside them, so that the shipped papers have dense vectors with no model at run time.
    enc = dense.encoder()
    vec_file = Path(args.out).with_name(dense.FILE)
    if enc is None:
        print(f"warning: no encoder installed: {vec_file} not written (see README, Related papers)", file=sys.stderr)
        return 0
    texts = [dense.text_of(p.title, p.abstract) for p in papers]
    vecs = enc.encode(texts).astype("float16")
    dense.write_vectors(vec_file, {dense.text_key(t): v for t, v in zip(texts, vecs, strict=True)})
    print(f"wrote {len(texts)} {dense.MODEL} vectors to {vec_file}")
    return 0


# Transports that LSP clients may ask for with a flag (vscode-languageclient's conventions). stdio is the default,
# so `--stdio` is accepted as a no-op; these have no implementation here and are refused by name.
_UNSUPPORTED_TRANSPORTS = ("pipe", "node_ipc", "socket")


def cmd_serve(args: argparse.Namespace) -> int:
    asked = [name for name in _UNSUPPORTED_TRANSPORTS if getattr(args, name) not in (None, False)]
    if asked:
        flag = "--" + asked[0].replace("_", "-")
        raise UsageError(f"serve: {flag} is not supported; PaperLens speaks LSP over stdio (the default, or --stdio) "
                         "or TCP (--tcp HOST:PORT)")
    if args.stdio and args.tcp:
        raise UsageError("serve: choose one of --stdio and --tcp HOST:PORT")
    from paperlens.lsp.server import serve

    return serve(args.tcp, allow_remote=args.allow_remote)


def cmd_demo(args: argparse.Namespace) -> int:
    from paperlens.demo import run_demo

    return run_demo(cache_dir=args.cache_dir)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--feed", action="append", metavar="PATH_OR_URL",
                        help="a saved HF papers page, HF JSON, .bib or HF API URL (repeatable)")
    common.add_argument("--offline", action="store_true", help="never touch the network")
    common.add_argument("--cache-dir", metavar="DIR", help="where HTTP responses and the index are kept")
    p = argparse.ArgumentParser(prog="paperlens", description="Research papers in your editor: a language server.")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("show", parents=[common], help="print the card a hover shows")
    s.add_argument("name", help="method name, citation key, arXiv id or title words")
    s.set_defaults(func=cmd_show)
    s = sub.add_parser("search", parents=[common], help="ranked search")
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=10)
    s.set_defaults(func=cmd_search)
    s = sub.add_parser("related", parents=[common], help="papers related by content (to a paper or a passage)")
    s.add_argument("name", nargs="?", help="method name, citation key, arXiv id or title words")
    s.add_argument("--text", help="a passage of prose: papers related to it instead")
    s.add_argument("-k", type=int, default=5)
    s.set_defaults(func=cmd_related)
    s = sub.add_parser("bib", parents=[common], help="print a BibTeX entry")
    s.add_argument("name")
    s.set_defaults(func=cmd_bib)
    s = sub.add_parser("refresh", parents=[common], help="fetch feeds and linked repos")
    s.add_argument("--hf-base-url")
    s.add_argument("--github-base-url")
    s.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    s.set_defaults(func=cmd_refresh)
    s = sub.add_parser("serve", help="run the language server (stdio, or --tcp HOST:PORT)")
    s.add_argument("--stdio", action="store_true", help="LSP over stdin/stdout (the default)")
    s.add_argument("--tcp", metavar="HOST:PORT", help="listen for one LSP client on HOST:PORT instead")
    s.add_argument("--allow-remote", action="store_true",
                   help="let --tcp listen on a non-loopback address (there is no authentication)")
    # Flags that LSP clients pass by convention: the transports are refused with a clear line, and
    # --clientProcessId is accepted and ignored (the server exits when its stdin closes).
    s.add_argument("--pipe", metavar="NAME", help=argparse.SUPPRESS)
    s.add_argument("--socket", metavar="PORT", help=argparse.SUPPRESS)
    s.add_argument("--node-ipc", action="store_true", help=argparse.SUPPRESS)
    s.add_argument("--clientProcessId", metavar="PID", help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("demo", help="drive a live LSP session on examples/ and print what an editor gets")
    s.add_argument("--cache-dir", metavar="DIR")
    s.set_defaults(func=cmd_demo)
    s = sub.add_parser("snapshot", help="write a library file (the shipped cache/papers.json) from a feed")
    s.add_argument("source")
    s.add_argument("--out", default="cache/papers.json")
    s.set_defaults(func=cmd_snapshot)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"paperlens: {e}", file=sys.stderr)
        return 2
    except (UserError, FeedError, ValueError, OSError) as e:
        print(f"paperlens: {clean(str(e), 500)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `paperlens search x | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
