"""Embeddings of fixed lists are computed once and read back from disk until the list changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foundation.embedding import DIMENSIONS, embed_cached


def test_a_list_is_embedded_once_and_a_changed_list_again(tmp_path: Path) -> None:
    first = embed_cached(["超限一吨罚多少钱", "运输证丢了怎么补办"], tmp_path)
    assert first.shape == (2, DIMENSIONS) and len(list(tmp_path.glob("*.npy"))) == 1
    np.testing.assert_array_equal(embed_cached(["超限一吨罚多少钱", "运输证丢了怎么补办"], tmp_path), first)
    embed_cached(["超限一吨罚多少钱"], tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2  # a different list is a different file; no temporary left


def test_a_damaged_cache_file_is_recomputed(tmp_path: Path) -> None:
    embed_cached(["罚款在哪交"], tmp_path)
    (cached,) = tmp_path.glob("*.npy")
    np.save(cached, np.zeros((3, 2), dtype=np.float32))  # wrong shape: not trusted
    again = embed_cached(["罚款在哪交"], tmp_path)
    assert again.shape == (1, DIMENSIONS) and abs(float(np.linalg.norm(again[0])) - 1.0) < 1e-3
