"""A build worker's chunk timed in-process: `bench/chunk_time.py [N] [reps] [--profile]`.

Cuts four 2,000-paper chunks out of `bench/corpus/<N>/daily_papers.json` (items 10,000-18,000; N: 100000 unless
given), and times, in CPU ms a chunk (best / mean over reps rounds): the items parsed as a worker parses them
(`feedfile.parse_items` + `merge.finished`), the whole chunk's analysis (`parallel._analyse`: `add`, key
phrases, records, the vocabularies hashed) and the key phrases alone (`semantic.key_phrase_bags`). Prints which
paperlens it imported, so that an older tree on PYTHONPATH (`git archive`) can be timed back to back with this
one. --profile: cProfile of one round instead, by own time.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import resource
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHUNK = 2000


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100000
    reps = int(args[1]) if len(args) > 1 else 3
    import paperlens
    from paperlens.index import parallel
    from paperlens.index.semantic import key_phrase_bags
    from paperlens.library.merge import finished
    from paperlens.sources.feedfile import parse_items

    print(f"paperlens from {Path(paperlens.__file__).parent}")
    items = json.loads((HERE / "corpus" / str(n) / "daily_papers.json").read_bytes())
    start = min(10000, max(len(items) - 4 * CHUNK, 0))
    chunks = [json.dumps(items[start + c * CHUNK : start + (c + 1) * CHUNK]).encode() for c in range(4)]
    del items
    parallel._init({})
    gc.disable()  # (as the workers run: collected every 16 chunks, here after each chunk outside the timing)

    def parsed(raw: bytes) -> list[Any]:
        papers, _ = parse_items(raw, "feed.json", 0)
        return [finished(p, None, {}) for p in papers]

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    for raw in chunks:  # (warm: the words' memo, imports)
        parallel._analyse(parsed(raw))
    if "--profile" in sys.argv:
        prof = cProfile.Profile()
        prof.enable()
        for raw in chunks:
            parallel._analyse(parsed(raw))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(35)
        return
    times: dict[str, list[float]] = {"parse": [], "analyse": [], "key phrases": []}
    for _ in range(reps):
        for raw in chunks:
            c0 = cpu()
            papers = parsed(raw)
            c1 = cpu()
            parallel._analyse(papers)
            c2 = cpu()
            texts = [(p.title, p.abstract, p.ai_keywords) for p in papers]
            c3 = cpu()
            key_phrase_bags(texts)
            c4 = cpu()
            times["parse"].append(c1 - c0)
            times["analyse"].append(c2 - c1)
            times["key phrases"].append(c4 - c3)
            gc.collect()
    print("CPU ms a 2,000-paper chunk, best / mean: " + ", ".join(
        f"{k} {min(v) * 1e3:.0f} / {sum(v) / len(v) * 1e3:.0f}" for k, v in times.items()))


if __name__ == "__main__":
    main()
