"""Deterministic synthetic papers for the benchmark: HF daily_papers JSON plus the same papers as a .bib.

Streaming writes (one paper at a time), so a million papers fit in memory. Shapes follow the real feed:
titles of 6-15 words (often "Name: ..."), abstracts of 150-300 words that introduce the method name,
1-12 authors, acronym / CamelCase / hyphenated method names, about 40% of papers with a GitHub repo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEED = 20250601
HERE = Path(__file__).resolve().parent

# Real research vocabulary for the head of the distribution; synthetic words make the long tail.
_HEAD = """learning model models neural network networks deep language large training data diffusion transformer
attention image images video vision text generation reasoning multimodal benchmark evaluation agent agents
reinforcement policy graph representation representations retrieval efficient scalable robust sparse dense
token tokens embedding embeddings inference fine-tuning pretraining pre-trained self-supervised contrastive
segmentation detection recognition classification optimization gradient loss adversarial generative latent
speech audio 3d point cloud scene reconstruction rendering radiance field fields camera depth motion pose
human object objects instruction tuning alignment preference feedback reward safety hallucination knowledge
memory long context window compression quantization pruning distillation low-rank adapter adaptation domain
transfer zero-shot few-shot prompt prompting chain thought planning tool tools code program synthesis math
mathematical theorem proof search decoding sampling speculative parallel distributed hardware gpu kernel
kernels throughput latency mixture experts routing state space recurrent convolutional hierarchical
temporal spatial spatio-temporal dynamic adaptive unified general universal foundation open benchmarking
dataset datasets corpus corpora annotation labels supervision weak semi-supervised unsupervised causal
counterfactual uncertainty calibration bayesian probabilistic variational autoencoder flow flows matching
score consistency energy-based robotics robot manipulation navigation embodied simulation world physics
medical clinical biology protein molecule molecular chemistry drug materials weather climate time series
forecasting anomaly recommendation ranking user users question answering dialogue conversation chat
summarization translation multilingual low-resource cross-lingual editing inpainting super-resolution
restoration denoising enhancement style personalization customization identity face faces avatar avatars
gaussian splatting mesh geometry texture lighting illumination relighting animation editing controllable
layout document documents table tables chart charts visual grounding referring open-vocabulary
captioning caption captions vqa mllm llm llms vlm vlms encoder decoder backbone head layer layers
normalization residual skip connection connections positional encoding rotary scaling law laws emergent
capability capabilities interpretability explanation explanations mechanistic circuits features probing
privacy federated secure watermarking detection attack attacks defense jailbreak red-teaming robustness
fairness bias evaluation metrics metric human-aligned judge judges critique verification verifier
self-improvement iterative refinement search tree monte carlo planning world-model simulation agents""".split()

_FILLER = """the a an of for and in on with to by from we our this that these is are be can which while
using via into over across under without between through both each more most than also however
furthermore moreover specifically notably significantly consistently substantially""".split()

_ADJ = ["simple", "efficient", "unified", "scalable", "novel", "lightweight", "general", "robust", "fast",
        "training-free", "plug-and-play", "principled", "flexible", "modular"]
_NOUN = ["framework", "method", "approach", "architecture", "model", "pipeline", "benchmark", "algorithm",
         "system", "strategy", "paradigm", "toolkit"]

_SYL = ("ka lo mi ra te zu an el or ix ve no sa ti qu ber dan gel hol jin kor lam mur nex pol rin sol "
        "tav vor wen xel yor zan chi sho pra gle fli bre dra tri sta cro plu").split()
_CONS = "bcdfghjklmnprstvwz"
_VOW = "aeiou"


def _word(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(_SYL) for _ in range(rng.randint(lo, hi)))


def _name_part(rng: random.Random) -> str:
    n = rng.randint(2, 4)
    s = "".join(rng.choice(_CONS) + rng.choice(_VOW) + (rng.choice(_CONS) if rng.random() < 0.3 else "")
                for _ in range(n))
    return s.capitalize()


@dataclass
class Vocab:
    words: list[str]
    cum: list[float]
    first: list[str]
    last: list[str]
    owners: list[str]


def make_vocab(rng: random.Random) -> Vocab:
    tail = sorted({_word(rng, 2, 4) for _ in range(30000)})
    rng.shuffle(tail)
    words = list(dict.fromkeys(_HEAD)) + tail
    # Zipf-like weights: the real vocabulary dominates, the synthetic tail gives rare, distinctive terms.
    cum = list(itertools.accumulate(1.0 / (r + 8) ** 0.9 for r in range(len(words))))
    first = sorted({_name_part(rng) for _ in range(4000)})
    last = sorted({_name_part(rng) for _ in range(40000)})
    owners = sorted({_word(rng, 1, 3) + rng.choice(["", "-lab", "-ai", "ml", "-group", str(rng.randint(1, 99))])
                     for _ in range(20000)})
    return Vocab(words, cum, first, last, owners)


def method_name(rng: random.Random, v: Vocab) -> str:
    """An acronym (DRCT), CamelCase (FlashAttention), hyphenated (Glocal-IB) or versioned (ViTok-2) name."""
    r = rng.random()
    if r < 0.3:
        s = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") for _ in range(rng.randint(3, 6)))
    elif r < 0.6:
        s = "".join(w.capitalize() for w in (_word(rng, 1, 2), rng.choice(_HEAD[:200]).split("-")[0]))
    elif r < 0.85:
        s = _word(rng, 2, 3).capitalize() + "-" + "".join(rng.choice("ABCDEFGHIKLMNPRSTVX") for _ in range(2))
    else:
        s = _word(rng, 2, 3).capitalize() + rng.choice(["", "-"]) + str(rng.randint(1, 9))
    return s


def _sentence(rng: random.Random, v: Vocab, n: int) -> str:
    ws = rng.choices(v.words, cum_weights=v.cum, k=n)
    for i in range(0, n, 3):
        ws[i] = rng.choice(_FILLER)
    s = " ".join(ws)
    return s[0].upper() + s[1:] + "."


@dataclass
class Synth:
    arxiv: str
    title: str
    abstract: str
    authors: list[str]
    date: dt.date
    upvotes: int
    repo: str | None
    keywords: list[str]
    method: str | None


def papers(n: int, seed: int = SEED) -> Iterator[Synth]:
    """n papers, the same for the same seed."""
    rng = random.Random(seed)
    v = make_vocab(rng)
    start = dt.date(2016, 1, 1)
    span = (dt.date(2025, 12, 31) - start).days
    per_month: dict[str, int] = {}
    for _ in range(n):
        date = start + dt.timedelta(days=rng.randrange(span))
        ym = f"{date.year % 100:02d}{date.month:02d}"
        per_month[ym] = per_month.get(ym, 0) + 1
        arxiv = f"{ym}.{per_month[ym]:05d}"
        has_name = rng.random() < 0.7
        method = method_name(rng, v) if has_name else None
        tw = rng.randint(6, 15)
        body = rng.choices(v.words, cum_weights=v.cum, k=tw - (1 if method else 0))
        body = [w.capitalize() if rng.random() < 0.5 else w for w in body]
        title = (f"{method}: " if method and rng.random() < 0.7 else "") + " ".join(body)
        title = title[0].upper() + title[1:]
        target = rng.randint(150, 300)
        sents: list[str] = []
        count = 0
        intro_at = rng.randint(0, 2)
        while count < target:
            if method and len(sents) == intro_at:
                topic = " ".join(rng.choices(v.words, cum_weights=v.cum, k=3))
                if rng.random() < 0.5:
                    s = f"In this paper, we propose {method}, a {rng.choice(_ADJ)} {rng.choice(_NOUN)} for {topic}."
                else:
                    s = (f"We introduce a {rng.choice(_ADJ)} {rng.choice(_NOUN)} for {topic} "
                         f"({method}) that {rng.choice(_FILLER)} {rng.choice(v.words[:300])}.")
            else:
                s = _sentence(rng, v, rng.randint(12, 28))
            sents.append(s)
            count += s.count(" ") + 1
        n_auth = min(12, 1 + int(rng.expovariate(0.35)))
        authors = [f"{rng.choice(v.first)} {rng.choice(v.last)}" for _ in range(n_auth)]
        upvotes = min(int(rng.paretovariate(1.3)) - 1, 5000)
        repo = None
        if rng.random() < 0.4:
            name = method or "-".join(rng.choices(v.words[:400], k=2))
            repo = f"{rng.choice(v.owners)}/{name}"
        keywords = [" ".join(rng.choices(v.words, cum_weights=v.cum, k=rng.randint(1, 3)))
                    for _ in range(rng.randint(3, 8))]
        yield Synth(arxiv, title, " ".join(sents), authors, date, upvotes, repo, keywords, method)


def hf_item(p: Synth) -> dict[str, object]:
    """The HF daily_papers item shape."""
    ts = f"{p.date.isoformat()}T17:59:{int(p.arxiv[-2:]) % 60:02d}.000Z"
    paper: dict[str, object] = {
        "id": p.arxiv,
        "title": p.title,
        "summary": p.abstract,
        "authors": [{"_id": f"a{zlib.crc32(a.encode()) & 0xffffff:06x}", "name": a, "hidden": False}
                    for a in p.authors],
        "publishedAt": ts,
        "upvotes": p.upvotes,
        "ai_keywords": p.keywords,
    }
    if p.repo:
        paper["githubRepo"] = f"https://github.com/{p.repo}"
    return {"paper": paper, "publishedAt": ts, "title": p.title, "numComments": p.upvotes % 7,
            "submittedBy": {"name": "bench", "fullname": "Bench"}, "isAuthorParticipating": False}


def _bib_escape(s: str) -> str:
    return s.replace("{", "").replace("}", "").replace("\\", "")


def bib_key(p: Synth, used: set[str]) -> str:
    last = "".join(c for c in p.authors[0].split()[-1].lower() if c.isalnum())
    first = next((w.lower() for w in p.title.replace(":", " ").split() if len(w) > 3 and w.isalpha()), "paper")
    base = f"{last}{p.date.year}{first}"
    key, i = base, 0
    while key in used:
        i += 1
        key = f"{base}{chr(96 + i) if i < 27 else i}"
    used.add(key)
    return key


def bib_entry(p: Synth, key: str) -> str:
    fields = [
        ("title", p.title),
        ("author", " and ".join(p.authors)),
        ("year", str(p.date.year)),
        ("eprint", p.arxiv),
        ("archivePrefix", "arXiv"),
        ("url", f"https://arxiv.org/abs/{p.arxiv}"),
        ("abstract", p.abstract),
    ]
    body = ",\n".join(f"  {k} = {{{_bib_escape(v)}}}" for k, v in fields)
    return f"@article{{{key},\n{body}\n}}\n\n"


def write_corpus(n: int, out: Path, seed: int = SEED) -> dict[str, object]:
    """Write daily_papers.json and refs.bib (plus truth.json for the client's queries) under out."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    used: set[str] = set()
    truth: list[dict[str, object]] = []
    stride = max(1, n // 2000)
    with (out / "daily_papers.json.tmp").open("w", encoding="utf-8") as fj, \
            (out / "refs.bib.tmp").open("w", encoding="utf-8") as fb:
        fj.write("[\n")
        for i, p in enumerate(papers(n, seed)):
            if i:
                fj.write(",\n")
            fj.write(json.dumps(hf_item(p), ensure_ascii=False))
            key = bib_key(p, used)
            fb.write(bib_entry(p, key))
            if i % stride == 0:
                truth.append({"arxiv": p.arxiv, "title": p.title, "method": p.method, "authors": p.authors[:2],
                              "bib_key": key, "repo": p.repo, "upvotes": p.upvotes})
        fj.write("\n]\n")
    (out / "daily_papers.json.tmp").replace(out / "daily_papers.json")
    (out / "refs.bib.tmp").replace(out / "refs.bib")
    (out / "truth.json").write_text(json.dumps(truth))
    meta = {"papers": n, "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
            "json_bytes": (out / "daily_papers.json").stat().st_size, "bib_bytes": (out / "refs.bib").stat().st_size}
    (out / "meta.json").write_text(json.dumps(meta))
    return meta


def corpus_dir(n: int) -> Path:
    return HERE / "corpus" / str(n)


def ensure_corpus(n: int, seed: int = SEED) -> Path:
    """The corpus for n papers, generated once (meta.json marks a complete one)."""
    d = corpus_dir(n)
    meta = d / "meta.json"
    if meta.is_file() and json.loads(meta.read_text()).get("seed") == seed:
        return d
    print(f"generating {n:,} papers in {d} ...", file=sys.stderr, flush=True)
    m = write_corpus(n, d, seed)
    print(f"  {m['seconds']} s, JSON {int(m['json_bytes']) / 1e6:.0f} MB, .bib {int(m['bib_bytes']) / 1e6:.0f} MB",
          file=sys.stderr, flush=True)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000", help="comma-separated paper counts")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    for s in args.sizes.split(","):
        ensure_corpus(int(s), args.seed)


if __name__ == "__main__":
    main()
