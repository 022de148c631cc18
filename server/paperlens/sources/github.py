"""GitHub repo metadata, README and tree -> Repo with arXiv ids, authors and identifiers."""

from __future__ import annotations

import ast
import base64
import binascii
import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from paperlens.core.ids import find_arxiv_ids, is_new_style, valid_repo
from paperlens.core.model import Paper, Repo
from paperlens.core.text import norm_name
from paperlens.sources.bibtex import BibDocument
from paperlens.sources.http import HttpClient

log = logging.getLogger(__name__)

GITHUB_API = "https://api.github.com"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
RAW = "application/vnd.github.raw+json"

MAX_IDENTIFIERS = 200
MAX_CLASS_FILES = 3

# Code files whose names can be imported or named in code; data, docs, configs and notebooks (whose stems are
# titles like inference_DRCT_6, never written in code) say nothing about the method.
CODE_EXTENSIONS = frozenset(
    ".py .pyx .pyi .c .cc .cpp .cu .cuh .h .hpp .rs .go .jl .java .js .ts .lua .m .r .scala".split()
)

# Path components that name no method: scaffolding, generic module names, common building blocks.
GENERIC_NAMES = frozenset(
    norm_name(w)
    for w in """
    __init__ __main__ setup main utils util utilities helper helpers common misc tools tool scripts script
    test tests testing data dataset datasets dataloader dataloaders loader loaders model models modules module
    layers layer network networks net nets arch archs architecture architectures backbone backbones
    config configs conf confs configuration option options args arguments parser docs doc examples example
    demo demos notebooks readme license requirements version train training trainer eval evaluate evaluation
    inference infer predict prediction run runner launch app api core base lib libs src source pkg package
    experiments experiment exp results logs log checkpoints ckpt weights assets figures images imgs static
    loss losses metric metrics optim optimizer optimizers scheduler schedulers ops op functional functions
    io build install preprocess preprocessing postprocess postprocessing visualization visualize vis plot
    plotting logger logging registry constants const types typing env environment callbacks callback hooks
    benchmark benchmarks bench profile cli interface wrapper wrappers encoder decoder embedding embeddings
    attention transformer transformers resnet vgg unet mlp cnn rnn lstm gru vit bert gpt clip
    """.split()
)

# Well-known projects that repos vendor wholesale: their names would point at the wrong paper.
VENDORED = frozenset(
    norm_name(w)
    for w in """
    llava lm_eval basicsr timm mmcv mmdet mmseg mmengine detectron2 fairseq transformers diffusers ldm taming
    torchvision apex megatron deepspeed peft open_clip segment_anything ultralytics yolov5 nerfstudio
    pytorch_lightning lightning einops third_party thirdparty external externals extern vendor vendored deps
    submodules baselines baseline other_models othermodel othermodels competitors
    """.split()
)

# Top-level classes so common that naming them in code says nothing about which paper is meant.
GENERIC_CLASSES = frozenset(
    norm_name(w)
    for w in """
    Mlp DropPath Upsample Downsample PatchEmbed PatchUnEmbed PatchMerging Attention WindowAttention
    SwinTransformerBlock BasicBlock Bottleneck BasicLayer ResNet VGG Identity LayerNorm RMSNorm Encoder Decoder
    Model Net Network Config Dataset Trainer AverageMeter ProgressMeter ChannelAttention SELayer
    PositionalEncoding FeedForward TransformerBlock Block Embedding Predictor Options Args Arguments Logger
    """.split()
)

# Repo-name words that are venue, year or packaging noise: NeurIPS-25-Glocal-IB -> Glocal-IB.
_REPO_NOISE = frozenset(
    """neurips nips iclr icml cvpr iccv eccv aaai ijcai acl emnlp naacl coling kdd www sigir mm wacv bmvc
    miccai icra iros corl colm tmlr jmlr tpami official pytorch torch tensorflow tf jax code codes
    implementation impl release repo project""".split()
)

_BIB_START = re.compile(r"@\s*([A-Za-z]+)\s*[{(]")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_CLASS_RE = re.compile(r"^class\s+([A-Za-z_]\w*)\s*[(:]", re.M)


# -- fetching -----------------------------------------------------------------------------------------------


def fetch_repo(
    http: HttpClient, full_name: str, base_url: str = GITHUB_API, method_names: Sequence[str] = ()
) -> Repo | None:
    """Metadata, README and tree of one repo, as a Repo; None when the metadata can't be had."""
    if not valid_repo(full_name):
        log.warning("not a GitHub owner/name: %r", full_name)
        return None
    base = base_url.rstrip("/")
    meta = http.get_json(f"{base}/repos/{full_name}", "repo", headers=API_HEADERS)
    if not isinstance(meta, dict):
        log.warning("no metadata for GitHub repo %s", full_name)
        return None
    canonical = meta.get("full_name")
    name = canonical if isinstance(canonical, str) and valid_repo(canonical) else full_name
    branch = _str(meta.get("default_branch"))

    readme = fetch_readme(http, base, name)
    arxiv_ids, entries = parse_readme(readme or "")
    best = best_entry(entries)

    paths: list[str] = []
    if branch:
        paths = fetch_tree_paths(http, base, name, branch)
    names = [name.split("/", 1)[1], *method_names]
    idents = tree_identifiers(paths, names)
    if branch:
        idents = _merge(idents, harvest_classes(http, base, name, branch, paths, names))
    keys = name_keys(names)
    idents.sort(key=lambda i: not _matches(i, keys))  # stable: names containing the method's name lead

    lic = meta.get("license")
    spdx = _str(lic.get("spdx_id")) if isinstance(lic, dict) else None
    stars = meta.get("stargazers_count")
    return Repo(
        full_name=name,
        description=_clip(_str(meta.get("description")), 2000),
        stars=stars if isinstance(stars, int) and not isinstance(stars, bool) else None,
        language=_clip(_str(meta.get("language")), 100),
        license=None if spdx in (None, "NOASSERTION") else spdx,
        default_branch=branch,
        pushed_at=_clip(_str(meta.get("pushed_at")), 40),
        archived=meta.get("archived") is True,
        identifiers=tuple(idents[:MAX_IDENTIFIERS]),
        readme_arxiv_ids=tuple(arxiv_ids[:50]),
        readme_authors=tuple(_clip(a, 200) or "" for a in best.authors[:100]) if best else (),
        readme_title=_clip(best.title, 1000) if best else None,
    )


def _clip(s: str | None, n: int) -> str | None:
    """What is kept of a string from a repo: a 50 MB description must not become a 50 MB library entry."""
    return s[:n] if s is not None else None


def fetch_readme(http: HttpClient, base: str, full_name: str) -> str | None:
    """The README as text (raw media type; the base64 JSON form is decoded too)."""
    text = http.get_text(f"{base}/repos/{full_name}/readme", "readme", RAW, headers=API_HEADERS)
    return None if text is None else decode_content(text)


def fetch_tree_paths(http: HttpClient, base: str, full_name: str, branch: str) -> list[str]:
    """Blob paths of the default branch, recursively."""
    url = f"{base}/repos/{full_name}/git/trees/{quote(branch, safe='')}?recursive=1"
    tree = http.get_json(url, "tree", headers=API_HEADERS)
    if not isinstance(tree, dict) or not isinstance(tree.get("tree"), list):
        log.info("no tree for %s@%s", full_name, branch)
        return []
    if tree.get("truncated"):
        # Giant repos: the first 100k entries are plenty for names; walking subtrees would cost quota.
        log.info("tree of %s is truncated; using the part GitHub sent", full_name)
    return [
        e["path"] for e in tree["tree"]
        if isinstance(e, dict) and e.get("type") == "blob" and isinstance(e.get("path"), str)
    ]


def harvest_classes(
    http: HttpClient, base: str, full_name: str, branch: str, paths: Sequence[str], names: Sequence[str]
) -> list[str]:
    """Top-level class names from the few .py files most likely to hold the method."""
    out: list[str] = []
    keys = name_keys(names)
    for path in pick_class_files(paths, names):
        url = f"{base}/repos/{full_name}/contents/{quote(path)}?ref={quote(branch, safe='')}"
        text = http.get_text(url, "file", RAW, headers=API_HEADERS)
        if text is None:
            continue
        classes = [c for c in top_level_classes(decode_content(text)) if _useful_class(c)]
        out.extend(sorted(classes, key=lambda c: not _matches(c, keys)))  # method-named classes first
    return _merge([], out)


# -- pure parts ---------------------------------------------------------------------------------------------


def decode_content(text: str) -> str:
    """Raw text as is; a contents-API JSON body ({encoding: base64, content}) decoded."""
    s = text.lstrip()
    if not s.startswith("{"):
        return text
    try:
        d = json.loads(s)
    except ValueError:
        return text
    if isinstance(d, dict) and d.get("encoding") == "base64" and isinstance(d.get("content"), str):
        try:
            # GitHub wraps the base64 with newlines; b64decode ignores them only when not validating.
            return base64.b64decode(d["content"]).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            log.warning("undecodable base64 content")
            return ""
    return text


def parse_readme(text: str) -> tuple[list[str], list[Paper]]:
    """arXiv ids (links, arXiv:ID, eprint=; not bare numbers) and the BibTeX entries in a README."""
    ids: list[str] = []
    for found in find_arxiv_ids(text, bare=False):
        if is_new_style(found.value) and found.value not in ids:
            ids.append(found.value)
    entries = bib_entries(text)
    for e in entries:
        if e.arxiv_id and e.arxiv_id not in ids:
            ids.append(e.arxiv_id)
    # Ids in text order would put a "related work" link first; the cited paper's id leads.
    best = best_entry(entries)
    if best and best.arxiv_id:
        ids.remove(best.arxiv_id)
        ids.insert(0, best.arxiv_id)
    return ids, entries


def bib_entries(text: str) -> list[Paper]:
    """BibTeX entries embedded anywhere in Markdown (code fences, indented blocks), read by the .bib reader;
    an entry it cannot read (no title, broken fields) is left out."""
    papers, skipped = BibDocument("\n".join(_bib_blocks(text)), "README").papers()
    for w in skipped:
        log.debug("BibTeX in README: %s", w)
    return papers


def best_entry(entries: Sequence[Paper]) -> Paper | None:
    """The entry that most likely cites the repo's paper: one with an arXiv id, else the first."""
    return next((e for e in entries if e.arxiv_id), entries[0] if entries else None)


def name_keys(names: Iterable[str]) -> list[str]:
    """Normalised forms a path or class may contain: the names, de-noised repo names and acronyms."""
    keys: list[str] = []

    def add(k: str) -> None:
        if len(k) >= 3 and k not in keys and k not in GENERIC_NAMES:
            keys.append(k)

    for name in names:
        add(norm_name(name))
        tokens = [t for t in re.split(r"[^0-9A-Za-z]+", name) if t]
        kept = [t for t in tokens if t.lower() not in _REPO_NOISE and not t.isdigit()]
        add(norm_name("".join(kept)))
        if len(kept) >= 3:  # Cauchy-Schwarz-Information-Bottleneck -> csib
            add("".join(t[0] for t in kept).lower())
    return keys


def tree_identifiers(paths: Iterable[str], method_names: Sequence[str]) -> list[str]:
    """Package, module and file names from a tree that point at the method (precise rather than many)."""
    keys = name_keys(method_names)
    strong: list[str] = []  # names that contain the method's name
    own: list[str] = []  # other specific names inside the method's own top-level package
    for path in paths:
        parts = path.split("/")
        stem, dot, ext = parts[-1].rpartition(".")
        if not dot or f".{ext.lower()}" not in CODE_EXTENSIONS:
            continue
        components = [*parts[:-1], stem]
        if any(_is_test(c) for c in components):
            continue
        vendored = any(norm_name(c) in VENDORED for c in parts[:-1])
        own_pkg = len(parts) > 1 and _matches(parts[0], keys) and not vendored
        for i, comp in enumerate(components):
            if not comp.isidentifier() or norm_name(comp) in GENERIC_NAMES or norm_name(comp) in VENDORED:
                continue
            if _matches(comp, keys):
                strong.append(comp)
            elif own_pkg and i > 0:
                own.append(comp)
    return _merge(strong, own)[:MAX_IDENTIFIERS]


def pick_class_files(paths: Iterable[str], names: Sequence[str], limit: int = MAX_CLASS_FILES) -> list[str]:
    """The .py files most likely to define the method's classes, best first (none when nothing matches)."""
    keys = name_keys(names)
    scored: list[tuple[int, str]] = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        parts = path.split("/")
        stem = parts[-1][:-3]
        if _is_test(stem) or any(_is_test(p) for p in parts[:-1]):
            continue
        s = norm_name(stem)
        score = 0
        if s in keys:
            score = 100
        elif _matches(stem, keys):
            score = 60
        if score and _archish(s):
            score += 20 if "arch" in s else 10  # DRCT_arch.py defines the network; drct_model.py wraps it
        # Only files named after the method: each one costs a request against a small hourly quota.
        if score and stem.isidentifier():
            scored.append((score, path))
    scored.sort(key=lambda t: (-t[0], len(t[1]), t[1]))
    return [p for _, p in scored[:limit]]


def top_level_classes(source: str) -> list[str]:
    """Names of the classes defined at module level (a regex when the file does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return list(dict.fromkeys(_CLASS_RE.findall(source)))
    return list(dict.fromkeys(n.name for n in tree.body if isinstance(n, ast.ClassDef)))


# -- helpers ------------------------------------------------------------------------------------------------


def _matches(name: str, keys: Sequence[str]) -> bool:
    """Does a path component or class name contain one of the keys, at word boundaries for short keys?"""
    n = norm_name(name)
    if not n:
        return False
    tokens = [norm_name(t) for t in _CAMEL.findall(name.replace("-", "_"))]
    for k in keys:
        if n == k or (len(k) >= 5 and k in n):
            return True
        # Short keys (drct, csib) only as whole words: DRCT_arch yes, "abstract" no.
        for i in range(len(tokens)):
            joined = ""
            for t in tokens[i:]:
                joined += t
                if joined == k:
                    return True
                if len(joined) >= len(k):
                    break
    return False


def _archish(normed: str) -> bool:
    return any(w in normed for w in ("arch", "model", "net"))


def _is_test(name: str) -> bool:
    n = name.lower()
    return n.startswith("test") or n.endswith("_test") or n in ("conftest", "tests")


def _useful_class(name: str) -> bool:
    return not name.startswith("_") and norm_name(name) not in GENERIC_CLASSES and len(name) >= 3


def _merge(first: Sequence[str], more: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*first, *more]))


def _bib_blocks(text: str) -> list[str]:
    """Balanced-brace @type{...} blocks; Markdown around them (and '@user' mentions) is never handed over."""
    blocks = []
    pos = 0
    while m := _BIB_START.search(text, pos):
        if m.group(1).lower() in ("comment", "preamble"):
            pos = m.end()
            continue
        open_ch = text[m.end() - 1]
        close_ch = "}" if open_ch == "{" else ")"
        depth, i = 0, m.end() - 1
        while i < len(text):
            c = text[i]
            if c == open_ch or (c == "{" and open_ch == "("):
                depth += 1
            elif c == close_ch or (c == "}" and open_ch == "("):
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if depth != 0:
            break  # unterminated: the rest of the README is not BibTeX
        blocks.append(text[m.start() : i + 1])
        pos = i + 1
    return blocks


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None
