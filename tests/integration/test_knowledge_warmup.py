"""The action server embeds the legal knowledge base and the routing examples before it says it is ready, so
the first driver's question after staff change an entry is answered at once instead of timing out."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np

from bureau.deps import build_deps, embed_knowledge
from foundation.embedding import DIMENSIONS
from foundation.settings import PROJECT_ROOT, load_settings


def _small_content(tmp_path: Path) -> Path:
    """The project's content with one legal file (six entries), to keep the embedding short."""
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    for path in (content / "legal").glob("*.yml"):
        if path.name != "seizure_and_towing.yml":
            path.unlink()
    return content


def test_the_knowledge_is_embedded_at_start_and_read_back_afterwards(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        load_settings(), content_dir=_small_content(tmp_path), embedding_cache=tmp_path / "embeddings"
    )
    embed_knowledge(settings)
    files = {path: path.stat().st_mtime_ns for path in (tmp_path / "embeddings").glob("*.npy")}
    assert len(files) == 3  # the entries' questions, their answers, the routing examples

    embed_knowledge(settings)  # a restart with unchanged content reads the files, writes nothing
    assert {path: path.stat().st_mtime_ns for path in (tmp_path / "embeddings").glob("*.npy")} == files

    deps = build_deps(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'app.db'}"))
    try:
        assert deps.legal.decide("被扣的车怎么取回来").kind in {"answer", "choose"}
        assert all(np.load(path).shape[1] == DIMENSIONS for path in files)
    finally:
        deps.engine.dispose()
