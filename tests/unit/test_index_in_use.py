"""Issue 11, item 2: a refresh in one process never deletes the index directory another process serves from.
Two real processes share one cache directory, as two editor windows (or an editor and the CLI) do."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

from paperlens.core.config import Settings
from paperlens.index.catalog import Catalog
from paperlens.library.pipeline import open_index
from paperlens.library.store import library_path, read_library, snapshot_file, write_library

# A second process: open the index, say so, then answer lookups (which read papers.jsonl) line by line.
READER = textwrap.dedent("""
    import sys
    from paperlens.core.config import Settings
    from paperlens.index.catalog import Catalog
    from paperlens.library.pipeline import open_index
    cat = Catalog(open_index(Settings(cache_dir=sys.argv[1], offline=True)).index)
    print("ready", flush=True)
    for line in sys.stdin:
        e = cat.lookup(line.strip())
        print(e.paper.title if e else "none", flush=True)
""")


def _index_dirs(cache: Path) -> set[str]:
    return {p.name for p in cache.glob("index-*") if p.is_dir()}


def _new_generation(settings: Settings, title: str) -> None:
    """What a refresh does: write a new library, then open (build, persist, prune) its index."""
    lp = library_path(settings)
    lib = read_library(lp if lp.is_file() else snapshot_file())
    lib.papers.append(dataclasses.replace(lib.papers[0], title=title, arxiv_id=None, bib_key=None))
    write_library(lib, lp)
    open_index(settings)


def test_a_refresh_elsewhere_keeps_the_index_a_running_process_uses(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    settings = Settings(cache_dir=str(cache), offline=True)
    open_index(settings)
    first = _index_dirs(cache)
    assert len(first) == 1
    reader = subprocess.Popen([sys.executable, "-c", READER, str(cache)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "ready"
        # Three refreshes in this process, each a new generation of the index.
        for n in range(3):
            _new_generation(settings, f"Generation {n} of the test library")
        dirs = _index_dirs(cache)
        assert first <= dirs, "the index the other process serves from was deleted"
        # The other process still answers, from its files.
        for name in ("DRCT", "PrefixKV", "Glocal-IB"):
            reader.stdin.write(name + "\n")
            reader.stdin.flush()
            answer = reader.stdout.readline().strip()
            assert answer and answer != "none", name
        # Unused generations were pruned: the one in use and the newest remain.
        assert len(dirs) == 2, dirs
    finally:
        if reader.stdin:
            reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0
    # Once nobody uses it, the next generation prunes it.
    _new_generation(settings, "Generation after the reader exited")
    assert len(_index_dirs(cache)) == 1
    assert not first & _index_dirs(cache)


def test_our_own_older_generation_survives_until_it_is_dropped(tmp_path: Path) -> None:
    """Within one process too: the catalog still in use keeps its directory (the server swaps catalogs)."""
    cache = tmp_path / "cache"
    settings = Settings(cache_dir=str(cache), offline=True)
    open_index(settings)  # build and persist the first generation
    old = Catalog(open_index(settings).index)  # ... and serve from it
    _new_generation(settings, "A newer generation")
    e = old.lookup("DRCT")
    assert e is not None and e.paper.title.startswith("DRCT")
    assert len(_index_dirs(cache)) == 2
