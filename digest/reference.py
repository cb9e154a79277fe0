"""The reference mean: the average embedding of the bot's own complaint training examples (data/nlu/).

All complaint embeddings share a strong common direction ("a complaint about transport"), which squeezes
cosine similarities into a narrow band; removing that mean before comparing spreads them out (measured:
held-out ARI 0.50 → 0.65). The mean comes from the training data, not from the week, so a week of one
complaint is treated like a week of a thousand, and group means stay comparable from week to week.

Texts written in Latin letters (English, pinyin) share a second direction, their language: without
removing it they group with each other rather than with their issue. They are centred on their own mean,
taken from the English and pinyin complaints of the calibration set (tests/digest/grouping_dev.yml; the
training data has almost none). Measured on the held-out weeks: ARI 0.604 → 0.624 and 0.697 → 0.706, and
English complaints no longer form a group of their own.

Regenerate after large changes: `.venv/bin/python -m digest.reference [CALIBRATION.yml]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from digest.grouping import centre
from foundation import embedding
from foundation.settings import PROJECT_ROOT

REFERENCE_FILE = PROJECT_ROOT / "digest" / "reference_mean.npy"
LATIN_REFERENCE_FILE = PROJECT_ROOT / "digest" / "reference_mean_latin.npy"
CALIBRATION_SET = PROJECT_ROOT / "tests" / "digest" / "grouping_dev.yml"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
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


def is_latin(text: str) -> bool:
    """Mostly Latin letters (English, pinyin): fewer than 30 % of the visible characters are Chinese."""
    visible = _SPACE.sub("", text)
    return bool(visible) and len(_CJK.findall(visible)) < 0.3 * len(visible)


@dataclass(frozen=True)
class References:
    chinese: np.ndarray
    latin: np.ndarray

    def centre(self, raw: np.ndarray, texts: Sequence[str], copy: bool = True) -> np.ndarray:
        """Each text's vector centred on the mean of its script, and renormalised."""
        latin = np.array([is_latin(t) for t in texts], dtype=bool)
        out = np.array(raw, dtype=np.float32, copy=True) if copy else raw
        if latin.any():
            out[latin] = centre(out[latin], self.latin)
            chinese = np.flatnonzero(~latin)
            out[chinese] = centre(out[chinese], self.chinese)
            return out
        return centre(out, self.chinese, copy=False)


def load_references() -> References:
    return References(load_reference(REFERENCE_FILE), load_reference(LATIN_REFERENCE_FILE))


def compute_latin_reference(calibration: Path = CALIBRATION_SET) -> tuple[np.ndarray, int]:
    items = yaml.safe_load(calibration.read_text(encoding="utf-8"))["items"]
    texts = [str(i["text"]) for i in items if is_latin(str(i["text"]))]
    return embedding.embed(texts).mean(axis=0).astype(np.float32), len(texts)


def load_reference(path: Path = REFERENCE_FILE) -> np.ndarray:
    vector: np.ndarray = np.load(path)
    if vector.shape != (embedding.DIMENSIONS,):
        raise ValueError(f"{path}: expected a vector of {embedding.DIMENSIONS} numbers, got shape {vector.shape}")
    return vector.astype(np.float32)


if __name__ == "__main__":
    import sys

    np.save(REFERENCE_FILE, compute_reference())
    print(f"{REFERENCE_FILE}: mean of {len(complaint_examples())} complaint examples")
    latin, count = compute_latin_reference(Path(sys.argv[1]) if len(sys.argv) > 1 else CALIBRATION_SET)
    np.save(LATIN_REFERENCE_FILE, latin)
    print(f"{LATIN_REFERENCE_FILE}: mean of {count} English/pinyin complaints of the calibration set")
