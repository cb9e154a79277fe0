"""The reference mean: the average embedding of the bot's own complaint training examples (nlu/).

All complaint embeddings share a strong common direction ("a complaint about transport"), which squeezes
cosine similarities into a narrow band; removing that mean before comparing spreads them out (measured:
held-out ARI 0.50 → 0.65). The mean comes from the training data, not from the week, so a week of one
complaint is treated like a week of a thousand, and group means stay comparable from week to week.

Regenerate after large changes to nlu/: `.venv/bin/python -m complaints.digest.reference`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from complaints import embedding
from complaints.config import PROJECT_ROOT

REFERENCE_FILE = PROJECT_ROOT / "data" / "digest" / "reference_mean.npy"
NLU_DIR = PROJECT_ROOT / "nlu"
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def complaint_examples(nlu_dir: Path = NLU_DIR) -> list[str]:
    """The complaint examples of the NLU training data, entity annotations removed."""
    examples: list[str] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if block.get("intent") != "complaint":
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append(_ANNOTATION.sub(r"\1", line[2:]))
    return examples


def compute_reference(nlu_dir: Path = NLU_DIR) -> np.ndarray:
    return embedding.embed(complaint_examples(nlu_dir)).mean(axis=0).astype(np.float32)


def load_reference(path: Path = REFERENCE_FILE) -> np.ndarray:
    vector = np.load(path)
    if vector.shape != (embedding.DIMENSIONS,):
        raise ValueError(f"{path}: expected a vector of {embedding.DIMENSIONS} numbers, got shape {vector.shape}")
    return vector.astype(np.float32)


if __name__ == "__main__":
    reference = compute_reference()
    np.save(REFERENCE_FILE, reference)
    print(f"{REFERENCE_FILE}: mean of {len(complaint_examples())} complaint examples")
