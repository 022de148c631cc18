"""The parsed-.bib cache (columns, keyed by content hash): a warm start gives the same entries, search results and
lookups as a fresh parse, keys answer before the search tables are in, and a damaged cache is refused."""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import pytest

from paperlens.analysis import bibload
from paperlens.analysis.bibload import index_file, install_cached, read_bib_path
from paperlens.core.ids import doi_key
from paperlens.index.bibindex import BibIndex, BibRec, Segment, rec_row
from paperlens.sources.bibraw import BadEntry
from paperlens.sources.bibtex import BibDocument

REAL_BIB = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "bib"
URI = "file:///lib.bib"


def _fresh(tmp_path: Path, name: str) -> tuple[Path, Path, BibIndex]:
    """A real .bib read and indexed as on a first start (the cache written)."""
    src = tmp_path / name
    shutil.copy(REAL_BIB / name, src)
    cache = tmp_path / "cache"
    r = read_bib_path(src, URI, cache)
    assert r.lights is None  # nothing cached yet: parsed
    bib = BibIndex()
    index_file(r.file, bib, cache, r.digest, stat_key=r.stat_key)
    return src, cache, bib


def _records(bib: BibIndex) -> dict[str, tuple[object, ...]]:
    return {k: rec_row(bib.rec(i)) for k, i in bib.by_key.items()}


def _probes(bib: BibIndex) -> list[str]:
    """Queries a user would type: key prefixes, title words, a title-word prefix, author names, years."""
    rng = random.Random(3)
    recs = [bib.rec(i) for i in bib.ids()]
    out = ["", "a", "the"]
    for r in rng.sample(recs, min(25, len(recs))):
        out.append(r.key[: max(2, len(r.key) // 2)])
        ws = [w for w in r.title.split() if len(w) > 3]
        if ws:
            out += [ws[0], ws[-1][:3], " ".join(ws[:2])]
        if r.authors_short:
            out.append(r.authors_short.split()[-1])
        if r.year:
            out.append(str(r.year))
    return out


@pytest.mark.parametrize("name", ["akhirsch_main.bib", "biblatex-examples.bib", "xampl.bib"])
def test_warm_start_gives_what_a_fresh_parse_gives(tmp_path: Path, name: str) -> None:
    src, cache, bib = _fresh(tmp_path, name)
    assert bib.n > 0
    warm = BibIndex()
    hit = install_cached(src, URI, warm, cache)
    assert hit is not None
    assert _records(warm) == _records(bib)  # every key, every field
    for q in _probes(bib):
        assert warm.search(q, 20) == bib.search(q, 20), q
    for i in bib.ids():
        r = bib.rec(i)
        assert warm.same_work(r.title, r.year, r.first_author, r.arxiv_id, r.doi) == \
            bib.same_work(r.title, r.year, r.first_author, r.arxiv_id, r.doi)
        if r.arxiv_id:
            assert warm.arxiv_ids(r.arxiv_id) == bib.arxiv_ids(r.arxiv_id)
    # The cached scan is the scan: every block (entries, @string, comments) where it was.
    digest = bibload.cached_digest(cache, src)
    assert digest is not None
    text = src.read_bytes().decode("utf-8", errors="replace")
    assert bibload.load_blocks(cache, digest) == BibDocument(text, name).blocks
    # The cached records the loader reads back are the parse's light records, row for row.
    r2 = read_bib_path(src, URI, cache)
    assert r2.lights is not None and len(r2.lights) == len(r2.file.doc.entries)
    for i, light in enumerate(r2.lights):
        try:
            fresh = r2.file.doc.light(i)
        except (BadEntry, ValueError):
            fresh = None
        assert light == (fresh[:6] + (doi_key(fresh[6]) or None,) if fresh else None)


@pytest.mark.parametrize("name", ["cryptobib-abbrev3.bib", "xampl.bib", "biblatex-examples.bib"])
def test_a_warm_read_takes_block_lines_and_macros_from_the_cache(tmp_path: Path, name: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    src, cache, _ = _fresh(tmp_path, name)
    text = src.read_bytes().decode("utf-8", errors="replace")
    fresh = BibDocument(text, str(src))
    want_lines = [text.count("\n", 0, b.start) for b in fresh.blocks]
    digest = bibload.cached_digest(cache, src)
    assert digest is not None
    got = bibload.load_scan(cache, digest)
    assert got is not None and got.blocks == fresh.blocks
    assert got.lines == want_lines  # each block's line, as counted in the text
    assert got.macros == fresh.macros and list(got.macros or {}) == list(fresh.macros)  # (their order too)
    if name == "cryptobib-abbrev3.bib":
        assert len(fresh.macros) > 1000
    # A warm read neither counts lines nor reads a macro: both come from the cache, and cards read the same.
    monkeypatch.setattr("paperlens.sources.bibtex.string_macro", lambda *a: pytest.fail("a macro was read"))
    counted: list[int] = []
    real = bibload._lines_of_blocks

    def lines_of(doc: BibDocument) -> list[int]:
        counted.append(len(bibload._block_lines.get(doc) or []))
        return real(doc)

    monkeypatch.setattr(bibload, "_lines_of_blocks", lines_of)
    warm = read_bib_path(src, URI, cache)
    doc = warm.file.doc
    assert doc.macros == fresh.macros
    assert bibload._block_lines[doc] == want_lines and all(n == len(want_lines) for n in counted)
    for i in range(len(fresh.entries)):
        try:
            want = fresh.paper(i)
        except (BadEntry, ValueError):
            continue
        assert doc.paper(i) == want


def test_keys_answer_first_then_title_words(tmp_path: Path) -> None:
    src, cache, bib = _fresh(tmp_path, "akhirsch_main.bib")
    warm = BibIndex()
    assert install_cached(src, URI, warm, cache, tables_later=True) is not None
    key = "BatesN24"
    word = "choreographic"
    assert warm.key_id(key) is not None and [warm.rec(i).key for i, _ in warm.search("BatesN2", 3)][0] == key
    assert warm.rec(warm.key_id(key)).title.startswith("We Know I Know")  # type: ignore[arg-type]
    assert warm.search(word, 10) == []  # the title words come with finish_install
    warm.finish_install()
    assert warm.search(word, 10) == bib.search(word, 10) != []


def test_an_edit_before_the_tables_are_in_is_kept(tmp_path: Path) -> None:
    src, cache, bib = _fresh(tmp_path, "akhirsch_main.bib")
    warm = BibIndex()
    assert install_cached(src, URI, warm, cache, tables_later=True) is not None
    old = warm.rec(warm.key_id("BatesN24"))  # type: ignore[arg-type]
    warm.replace(BibRec("BatesN24", "Zyxwvut protocols", old.authors_short, old.first_author, old.year,
                        old.arxiv_id, old.doi, None, URI))
    warm.finish_install()
    assert [warm.rec(i).key for i, _ in warm.search("zyxwvut", 5)] == ["BatesN24"]
    assert "BatesN24" not in [warm.rec(i).key for i, _ in warm.search("choreographic", 10)]
    other = next(r for r in (bib.rec(i) for i in bib.ids()) if r.key != "BatesN24" and len(r.title) > 20)
    w = max(other.title.split(), key=len).strip(".,:;()").lower()
    assert other.key in [warm.rec(i).key for i, _ in warm.search(w, 50)]


def test_the_cache_is_saved_and_read_a_few_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A piece per pickle (PIECE_ROWS strings, PIECE_ITEMS ints): no single unpickling holds the GIL for long while
    # requests wait; read back piece by piece, the records and search answers are those of a fresh parse.
    monkeypatch.setattr(bibload, "PIECE_ROWS", 7)
    monkeypatch.setattr(bibload, "PIECE_ITEMS", 50)
    src, cache, bib = _fresh(tmp_path, "akhirsch_main.bib")
    digest = bibload.cached_digest(cache, src)
    assert digest is not None and bib.n > 7
    for part in ("", ".scan"):
        with (cache / "bib" / f"{digest}{part}.pickle").open("rb") as f:
            version, heads = pickle.load(f)
            assert version == bibload.CACHE_VERSION
            for name, kind, count in heads:
                pieces = [pickle.load(f) for _ in range(count)]
                if kind == "s":
                    assert all(p.count("\x00") < 7 for p in pieces), name
                    assert name not in ("key", "title") or count > 1
                elif kind == "a":
                    assert all(len(p) <= 50 for p in pieces), name
            assert f.read() == b""  # (nothing else in the file)
    warm = BibIndex()
    assert install_cached(src, URI, warm, cache) is not None
    assert _records(warm) == _records(bib)
    for q in _probes(bib):
        assert warm.search(q, 20) == bib.search(q, 20), q
    assert bibload.load_blocks(cache, digest) == BibDocument(src.read_text(encoding="utf-8"), str(src)).blocks


def test_a_damaged_cache_is_refused(tmp_path: Path) -> None:
    src, cache, bib = _fresh(tmp_path, "xampl.bib")
    digest = bibload.cached_digest(cache, src)
    assert digest is not None
    path = cache / "bib" / f"{digest}.pickle"
    version, cols = bibload.load_columns(path)
    assert Segment.from_columns(cols) is not None
    bad = dict(cols, order=cols["order"][:-1])
    assert Segment.from_columns(bad) is None
    bad = dict(cols, key=cols["key"] + ["extra"])
    assert Segment.from_columns(bad) is None
    ids = cols["ids"][:]
    ids[0] = 10 ** 6
    seg = Segment.from_columns(dict(cols, ids=ids))
    assert seg is not None and not seg.build_tables()
    path.write_bytes(pickle.dumps((version, dict(cols, year=cols["year"][:1]))))
    assert install_cached(src, URI, BibIndex(), cache) is None  # read again instead
    path.write_bytes(b"not a pickle")
    assert bibload.load_segment(cache, digest) is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_worker_process_decodes_a_file_as_the_server_does(tmp_path: Path, encoding: str) -> None:
    text = "".join(f"@article{{k{i}, title = {{Caf\u00e9 na\u00efve r\u00e9sum\u00e9 {i}}},"
                   f" author = {{M\u00fcller, J.}}, year = 2001}}\r\n" for i in range(50))
    src = tmp_path / "lib.bib"
    src.write_bytes(text.encode(encoding))
    r = read_bib_path(src, URI, None)
    bib = BibIndex()
    index_file(r.file, bib, None)
    assert bibload.read_columns(str(src), r.digest, str(tmp_path / "cache"), None) is not None
    seg = bibload.load_segment(tmp_path / "cache", r.digest)
    assert seg is not None
    got = [rec_row(x) if x is not None else None for x in seg.recs(URI)]
    assert got == [rec_row(bib.rec(bib.key_id(f"k{i}"))) for i in range(50)]  # type: ignore[arg-type]
    assert got[7] is not None and "Café naïve résumé 7" in str(got[7])


def test_a_worker_process_reads_the_same_records(tmp_path: Path) -> None:
    src, cache, bib = _fresh(tmp_path, "akhirsch_main.bib")
    r = read_bib_path(src, URI, None)
    cache2 = tmp_path / "cache2"
    cols = bibload.read_columns(str(src), r.digest, str(cache2), None)
    assert cols is not None and bibload.load_segment(cache2, r.digest) is not None  # saved for the next start
    assert bibload.read_columns(str(src), "0" * 32, str(cache2), None) is None  # the file is not what was read
    other = BibIndex()
    version = bibload.add_keys(r.file, other)
    assert other.n == len(r.file.doc.by_key)  # every key answers before the records are in
    seg = Segment.from_columns(cols)
    assert seg is not None and bibload.take_segment(r.file, other, seg, version)
    assert _records(other) == _records(bib)
    for q in _probes(bib):
        assert other.search(q, 20) == bib.search(q, 20), q
    # The index changed meanwhile (an entry edited): the records are put in one by one, the edit's entry too.
    third = BibIndex()
    version = bibload.add_keys(r.file, third)
    third.replace(BibRec("BatesN24", "Zyxwvut", "", "", None, None, None, None, URI))
    assert not third.take(URI, Segment.from_columns(cols), version)  # type: ignore[arg-type]
    assert bibload.take_segment(r.file, third, Segment.from_columns(cols), version)  # type: ignore[arg-type]
    assert _records(third) == _records(bib)


def test_the_worker_writes_the_cache_even_when_the_server_exits(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    src = tmp_path / "main.bib"
    shutil.copy(REAL_BIB / "akhirsch_main.bib", src)
    r = read_bib_path(src, URI, None)
    cache = tmp_path / "cache"
    monkeypatch.setattr(bibload, "_stopping", True)  # the server is exiting: it does not wait for the worker
    assert bibload.run_worker(src, r.digest, cache, r.stat_key) is None
    t0 = time.monotonic()
    while bibload.cached_digest(cache, src) is None and time.monotonic() - t0 < 120:
        time.sleep(0.1)
    assert bibload.cached_digest(cache, src) == r.digest  # the next start is warm
    assert bibload.load_segment(cache, r.digest) is not None


def test_a_large_workspace_bib_is_read_in_a_worker_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from paperlens.analysis.workspace import Workspace
    from paperlens.core.config import parse_settings

    _, _, bib = _fresh(tmp_path, "akhirsch_main.bib")
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REAL_BIB / "akhirsch_main.bib", root / "main.bib")
    monkeypatch.setattr(bibload, "WORKER_ENTRIES", 10)
    monkeypatch.setattr("paperlens.analysis.workspace.SYNC_BIB_BYTES", 1000)  # a "large" file: background
    taken: list[bool] = []
    take = bibload.take_segment
    monkeypatch.setattr(bibload, "take_segment", lambda *a: taken.append(take(*a)) or taken[-1])
    for _run in range(2):  # cold (the worker writes the cache), then warm (installed from it)
        ws = Workspace()
        ws.root = root
        ws.settings, _ = parse_settings({"cacheDir": str(tmp_path / "wscache"), "offline": True})
        ws.start()
        assert ws.bib_paths and not ws.bibs_ready
        asyncio.run(ws.read_large_bibs())
        assert ws.bibs_ready
        got = {k: rec_row(ws.bib_index.rec(i)) for k, i in ws.bib_index.by_key.items()}
        assert got == _records(bib)
        assert ws.bib_index.search("choreographic multicast", 5) == bib.search("choreographic multicast", 5)
        assert taken == [True]  # the second start took them from the cache, not from a worker


def test_the_word_table_is_kept_in_the_cache_dir(tmp_path: Path) -> None:
    from paperlens.index import semantic

    words = ["bottleneck", "the", "imputation", "transformer", "zyxwvut", "super-resolution", "café"]
    semantic._TABLE = None
    try:
        semantic.use_cache_dir(tmp_path)
        built = [semantic.rarity(w) for w in words]  # from wordfreq; saved for the next start
        assert list(tmp_path.glob("wordfreq-*.pickle"))
        first = dict(semantic._zipf_table().items())
        assert len(first) > 300_000
        semantic._TABLE = None
        assert [semantic.rarity(w) for w in words] == built
        assert dict(semantic._zipf_table().items()) == first  # every word, every value, read back
    finally:
        semantic.use_cache_dir(None)
        semantic._TABLE = None
