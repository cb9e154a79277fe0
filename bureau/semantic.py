"""Similarity by meaning between a message and a fixed list of texts (legal questions, routing examples).

The list is embedded on first use, not at start-up, and kept on disk by foundation.embedding.embed_cached,
so a process that never asks pays nothing and a restart with unchanged data pays a file read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from foundation import embedding


class SemanticIndex:
    """Cosine similarities of one message to each of `texts` (e5 "query: " on both sides, or "passage: ")."""

    def __init__(self, texts: tuple[str, ...], cache_dir: Path | None, prefix: str = "query") -> None:
        self.texts = texts
        self._cache_dir = cache_dir
        self._prefix = prefix
        self._vectors: embedding.Vectors | None = None

    def vectors(self) -> embedding.Vectors:
        if self._vectors is None:
            self._vectors = embedding.embed_cached(self.texts, self._cache_dir, self._prefix)
        return self._vectors

    def similarities(self, message: str | embedding.Vectors) -> npt.NDArray[np.float32]:
        """One cosine per text; `message` may be a text or its embedding (to embed it once for several indexes)."""
        asked = embedding.embed([message])[0] if isinstance(message, str) else message
        return self.vectors() @ asked
