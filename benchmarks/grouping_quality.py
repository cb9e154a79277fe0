"""Which grouping method, and which threshold: measured on labelled complaint sets.

    .venv/bin/python -m benchmarks.grouping_quality [--write benchmarks/results/grouping_quality.md]

tests/digest/grouping_dev.yml is the calibration set (the threshold is chosen on it);
tests/digest/grouping_heldout.yml, written by another author, is only scored (per week, as the digest
sees it). Methods: character n-gram TF-IDF, e5 embeddings as they are ("passage: " and "query: "
prefixes), e5 centred on the week's own mean, e5 centred on the reference mean (the chosen method), and a
mix of centred e5 and TF-IDF; all clustered with average linkage stopped at a threshold.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, v_measure_score

from benchmarks.common import PROJECT_ROOT as ROOT
from benchmarks.common import write_report
from digest.grouping import THRESHOLD, centre, cluster
from digest.reference import load_reference, load_references
from foundation import embedding

DEV = ROOT / "tests" / "digest" / "grouping_dev.yml"
HELDOUT = ROOT / "tests" / "digest" / "grouping_heldout.yml"
PLATEAU = (0.2, 0.22, 0.25, 0.28, 0.3, 0.32, 0.35, 0.38, 0.4)
THRESHOLDS = np.round(np.arange(0.0, 0.96, 0.01), 2)


@dataclass(frozen=True)
class Week:
    name: str
    texts: list[str]
    topics: list[str]


def load(path: Path) -> list[Week]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data["items"]
    weeks = sorted({item.get("week", 1) for item in items})
    out = []
    for week in weeks:
        chosen = [i for i in items if i.get("week", 1) == week]
        name = path.stem if len(weeks) == 1 else f"{path.stem} week {week}"
        out.append(Week(name, [str(i["text"]) for i in chosen], [str(i["topic"]) for i in chosen]))
    return out


def tfidf(texts: list[str]) -> np.ndarray:
    vectoriser = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    return vectoriser.fit_transform([embedding.normalise_text(t) for t in texts]).toarray().astype(np.float32)


def tfidf_23(texts: list[str]) -> np.ndarray:
    vectoriser = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, min_df=1)
    return vectoriser.fit_transform([embedding.normalise_text(t) for t in texts]).toarray().astype(np.float32)


def referenced(texts: list[str]) -> np.ndarray:
    return centre(embedding.embed(texts), load_reference())


def by_script(texts: list[str]) -> np.ndarray:
    return load_references().centre(embedding.embed(texts), texts)


def mixed(alpha: float) -> Callable[[list[str]], np.ndarray]:
    def build(texts: list[str]) -> np.ndarray:
        e5 = by_script(texts)
        return np.hstack([np.sqrt(alpha) * e5, np.sqrt(1 - alpha) * tfidf(texts)]).astype(np.float32)

    return build


METHODS: dict[str, Callable[[list[str]], np.ndarray]] = {
    "tfidf char 1-3": tfidf,
    "tfidf char 2-3": tfidf_23,
    "e5 passage": lambda texts: embedding.embed(texts, prefix="passage"),
    "e5 query": embedding.embed,
    "e5 query, centred on the week's mean": lambda texts: centre(embedding.embed(texts)),
    "e5 query, centred on the reference mean": referenced,
    "**e5 query, centred on the reference mean of its script (chosen)**": by_script,
    "e5 centred by script + tfidf 1-3 (0.7/0.3)": mixed(0.7),
}


def scores(vectors: np.ndarray, topics: list[str], threshold: float) -> tuple[float, float, int]:
    labels = cluster(vectors, threshold).labels
    return adjusted_rand_score(topics, labels), v_measure_score(topics, labels), int(labels.max()) + 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    dev = load(DEV)
    held = load(HELDOUT)
    lines = [
        "# Grouping quality",
        "",
        f"Calibration: {DEV.name} ({sum(len(w.texts) for w in dev)} complaints, "
        f"{len(set(dev[0].topics))} topics). Held out: {HELDOUT.name} "
        f"({', '.join(f'{len(w.texts)} / {len(set(w.topics))} topics' for w in held)}), scored only.",
        "",
        "| method | threshold (chosen on dev) | dev ARI | dev V | held-out ARI (per week) | held-out V (per week) "
        "| best held-out ARI at any threshold |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, build in METHODS.items():
        dev_vectors = [build(w.texts) for w in dev]
        held_vectors = [build(w.texts) for w in held]
        curve = [
            (t, np.mean([scores(v, w.topics, t)[0] for v, w in zip(dev_vectors, dev, strict=True)])) for t in THRESHOLDS
        ]
        best_t = max(curve, key=lambda c: c[1])[0]
        dev_ari, dev_v = np.mean(
            [scores(v, w.topics, best_t)[:2] for v, w in zip(dev_vectors, dev, strict=True)], axis=0
        )
        held_scores = [scores(v, w.topics, best_t) for v, w in zip(held_vectors, held, strict=True)]
        oracle = max(
            np.mean([scores(v, w.topics, t)[0] for v, w in zip(held_vectors, held, strict=True)]) for t in THRESHOLDS
        )
        row = (
            f"| {name} | {best_t:.2f} | {dev_ari:.3f} | {dev_v:.3f} | "
            f"{' / '.join(f'{s[0]:.3f}' for s in held_scores)} | {' / '.join(f'{s[1]:.3f}' for s in held_scores)} "
            f"| {oracle:.3f} |"
        )
        print(row, flush=True)
        lines.append(row)
    chosen = [scores(by_script(w.texts), w.topics, THRESHOLD) for w in held]
    lines += [
        "",
        f"The product uses the chosen method at threshold {THRESHOLD:.2f} (digest.grouping.THRESHOLD): "
        "held-out ARI "
        + " / ".join(f"{s[0]:.3f}" for s in chosen)
        + ", V-measure "
        + " / ".join(f"{s[1]:.3f}" for s in chosen)
        + ".",
        "",
        "Held-out ARI of the chosen method across thresholds (how flat the plateau is):",
        "",
        "| threshold | " + " | ".join(f"{t:.2f}" for t in PLATEAU) + " |",
        "|---|" + "---|" * len(PLATEAU),
        "| held-out ARI (mean of weeks) | "
        + " | ".join(f"{np.mean([scores(by_script(w.texts), w.topics, t)[0] for w in held]):.3f}" for t in PLATEAU)
        + " |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        write_report(args.write, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
