"""A small random MPNet in the layout of the all-mpnet-base-v2 zip (config.json, model.safetensors, tokenizer.json,
and the pooling module's own config.json deeper down), so that the encoder's loading and forward pass run in the
tests without the 438 MB model. Its vectors mean nothing; they have the real model's width (768) so that they
compare with the shipped ones. `split` cuts the zip into pieces, as the model's five part packages ship it."""

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


def make_tiny_encoder(path: Path, hidden: int = 768, positions: int = 386, seed: int = 0) -> Path:
    """Write the model zip to path (one layer, two heads, `positions` positions: a longer input would fail)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(["[CLS]", "[PAD]", "[SEP]", "[UNK]", *WORDS, "##s", "##ing", "##ed"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 0), ("[SEP]", 2)])
    rng = np.random.default_rng(seed)
    inter = 64

    def w(*shape: int, half: bool = False) -> np.ndarray:
        a = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        return a.astype(np.float16) if half else a

    t: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": w(len(vocab), hidden, half=True),  # F16 read too
        "embeddings.position_embeddings.weight": w(positions, hidden),
        "encoder.relative_attention_bias.weight": w(32, 2) * 10,  # (buckets, heads): felt, unlike 0.1
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
        "embeddings.position_ids": np.arange(positions, dtype=np.int64)[None],  # a buffer, not a weight
    }
    p = "encoder.layer.0."
    for name, (o, i) in {"attention.attn.q": (hidden, hidden), "attention.attn.k": (hidden, hidden),
                         "attention.attn.v": (hidden, hidden), "attention.attn.o": (hidden, hidden),
                         "intermediate.dense": (inter, hidden), "output.dense": (hidden, inter)}.items():
        t[p + name + ".weight"], t[p + name + ".bias"] = w(o, i), w(o)
    for ln in ("attention.LayerNorm", "output.LayerNorm"):
        t[p + ln + ".weight"], t[p + ln + ".bias"] = np.ones(hidden, np.float32), np.zeros(hidden, np.float32)
    cfg = {"model_type": "mpnet", "hidden_size": hidden, "num_attention_heads": 2, "num_hidden_layers": 1,
           "max_position_embeddings": positions, "pad_token_id": 1, "layer_norm_eps": 1e-5,
           "relative_attention_num_buckets": 32}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("tiny/1_Pooling/config.json", json.dumps({"word_embedding_dimension": hidden}))
        z.writestr("tiny/config.json", json.dumps(cfg))
        z.writestr("tiny/model.safetensors", _safetensors(t))
        z.writestr("tiny/tokenizer.json", tok.to_str())
    return path


def split(path: Path, parts: int) -> list[Path]:
    """The zip cut into `parts` pieces (path.001, path.002, ...), as the part packages hold it."""
    data = path.read_bytes()
    size = -(-len(data) // parts)
    out = []
    for i in range(parts):
        piece = path.with_name(f"{path.name}.{i + 1:03d}")
        piece.write_bytes(data[i * size:(i + 1) * size])
        out.append(piece)
    return out
