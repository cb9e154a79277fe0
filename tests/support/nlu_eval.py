"""Scoring intent predictions: per-intent F1 and macro-F1 (no sklearn in the app env)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

CORE_INTENTS = ("complaint", "legal_question", "service_request")


def load_examples(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """(text, intent) pairs from Rasa NLU YAML files."""
    pairs: list[tuple[str, str]] = []
    for path in paths:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    pairs.append((text, block["intent"]))
    return pairs


def f1_by_intent(gold: list[str], predicted: list[str], intents: Iterable[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for intent in intents:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == intent and p == intent)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != intent and p == intent)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == intent and p != intent)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores[intent] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return scores


def macro_f1(scores: dict[str, float]) -> float:
    return sum(scores.values()) / len(scores) if scores else 0.0
