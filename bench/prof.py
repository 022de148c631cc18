"""In-process profile of the benchmark's requests (no wire): `bench/prof.py 100000 [completion|hover|related|load]`."""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_corpus import ensure_corpus  # noqa: E402
from run import make_workload  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    what = sys.argv[2] if len(sys.argv) > 2 else "all"
    from pygls.workspace.position_codec import PositionCodec

    from paperlens.analysis.bibs import Bibs
    from paperlens.analysis.document import DocAnalysis
    from paperlens.core.config import parse_settings
    from paperlens.features import code_actions as ca
    from paperlens.features import completion as comp
    from paperlens.features.context import FeatureContext
    from paperlens.features.hover import hover
    from paperlens.features.results import Region
    from paperlens.index.catalog import Catalog
    from paperlens.library.pipeline import open_index
    from paperlens.lsp.convert import Convert
    from paperlens.lsp.server import server

    corpus = ensure_corpus(n)
    truth = json.loads((corpus / "truth.json").read_text())
    wl = make_workload(truth)
    cache = Path(tempfile.gettempdir()) / f"paperlens-profile-{n}"
    settings, _ = parse_settings({"feeds": [str(corpus / "daily_papers.json")], "cacheDir": str(cache),
                                  "offline": True})
    t0 = time.perf_counter()
    if what == "build":
        cProfile.runctx("open_index(settings)", globals(), locals(), "/tmp/prof.out")
        pstats.Stats("/tmp/prof.out").sort_stats("cumulative").print_stats(40)
        return
    loaded = open_index(settings)
    print(f"open_index {time.perf_counter() - t0:.3f}s")
    conv = server.protocol._converter
    t0 = time.perf_counter()
    cat = Catalog(loaded.index, [])
    print(f"catalog {time.perf_counter() - t0:.3f}s")
    bibs = Bibs()
    cites = DocAnalysis.from_text("file:///c.tex", "latex", wl.cites_text)
    ments = DocAnalysis.from_text("file:///m.md", "markdown", wl.mentions_text)
    cites_ctx = FeatureContext(cites, cat, bibs)
    ments_ctx = FeatureContext(ments, cat, bibs, language_id="markdown")
    to_lsp = Convert(PositionCodec(), lambda uri: ments.lines if uri == ments.uri else cites.lines)

    def completion_json(line: int, col: int) -> str:
        r = comp.completions(cites_ctx, line, col)
        return json.dumps(conv.unstructure(None if r is None else to_lsp.completions(r, cites.lines)))

    def run_completion() -> None:
        for _, line, col in wl.cite_points:
            completion_json(line, col)

    def run_hover() -> None:
        for line, s, e in wl.mention_points:
            ments.invalidate()
            h = hover(ments_ctx, line, (s + e) // 2)
            json.dumps(conv.unstructure(None if h is None else to_lsp.hover(h, ments.lines)))

    def run_related() -> None:
        for line, s, _ in wl.mention_points:
            a = ca.code_actions(ments_ctx, Region.at(line, s))
            json.dumps(conv.unstructure(to_lsp.actions(a)))

    runs = {"completion": run_completion, "hover": run_hover, "related": run_related}
    for name, fn in runs.items():
        if what not in ("all", name):
            continue
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
        lat = []
        if name == "completion":
            for _, line, col in wl.cite_points:
                t1 = time.perf_counter()
                completion_json(line, col)
                lat.append(time.perf_counter() - t1)
            lat.sort()
            print(f"completion p50 {lat[len(lat) // 2] * 1000:.2f} ms p99 {lat[int(len(lat) * .99)] * 1000:.2f} ms "
                  f"max {lat[-1] * 1000:.2f}")
        t0 = time.perf_counter()
        cProfile.runctx("fn()", globals(), locals(), "/tmp/prof.out")
        print(f"{name}: first pass {first:.3f}s, profiled pass {time.perf_counter() - t0:.3f}s")
        pstats.Stats("/tmp/prof.out").sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
