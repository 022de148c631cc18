"""The index's one schema: every column and table of a built index, by name and kind.

`build.IndexBuilder.finish` returns a `Columns`; `persist` saves and loads one field by field, choosing the file
layout from the field's type (a StrArray, a Postings table, a Bloom filter or a numpy array), so that a new column
is added here once and nowhere else. `core.Index` is a `Columns` with the lookups on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt

from paperlens.core.model import Repo
from paperlens.index.store import Bloom, IdArray, Postings, StrArray

FORMAT_VERSION = 14  # 14: typo signatures (name_fz_sigs, word_fz_sigs); 13: all-mpnet-base-v2 vectors (768 wide)


@dataclass(eq=False)
class Columns:
    """Columns per paper id (ids in prior order: upvotes, then recency) plus the posting tables."""

    n: int
    keys: StrArray
    titles: StrArray
    methods: StrArray
    authors: StrArray  # short form: "Ada Lovelace et al.", "3 authors"
    repo_names: StrArray
    arxiv: StrArray
    year: npt.NDArray[np.int16]
    upvotes: npt.NDArray[np.int32]
    rec_span: npt.NDArray[np.int64]  # per paper id: [start, end) of its record in `records`
    key_order: IdArray  # ids sorted by key (by_key without decoding every key)
    # Names (method names, keys, repo identifiers, arXiv ids) in matching form, and their display form and flags.
    names: Postings
    name_display: StrArray
    name_flags: npt.NDArray[np.uint8]
    bloom_names: Bloom
    bloom_prefixes: Bloom
    # Title, author, organisation words.
    words: Postings
    name_tops: Postings  # short prefix -> its best ids (see build.prefix_tops)
    word_tops: Postings
    # Typo matching: terms regrouped by (first character, length); spans keyed "c:len" (see build.length_buckets)
    name_fz_terms: StrArray
    word_fz_terms: StrArray
    name_fz_spans: Postings
    word_fz_spans: Postings
    name_fz_sigs: npt.NDArray[np.uint64]  # per fz term its character-count signature (typo.py)
    word_fz_sigs: npt.NDArray[np.uint64]
    # Related papers: content terms -> papers with weights, and per paper its terms (CSR).
    rel: Postings
    rel_idf: npt.NDArray[np.float32]
    rel_telling: npt.NDArray[np.bool_]  # per term: worth showing as a reason (semantic.telling)
    rel_w: npt.NDArray[np.float16]  # aligned with rel.ids: the paper's weight for the term
    doc_term_off: npt.NDArray[np.int64]
    doc_term_ids: npt.NDArray[np.int32]
    doc_term_w: npt.NDArray[np.float16]
    # Per paper id its all-mpnet-base-v2 vector (dense.py); (0, DIM) unless every paper has one (every large index).
    dense: npt.NDArray[np.float16]
    # The full records (one JSON line a paper: the Paper and its aliases) and the repos they link.
    records: bytes | Path = field(repr=False)
    repos: dict[str, Repo] = field(repr=False)

    @staticmethod
    def column_names() -> list[str]:
        """The persisted fields, in schema order (`n`, the records and the repos are stored apart)."""
        return [f.name for f in fields(Columns) if f.name not in ("n", "records", "repos")]
