"""What benchmarks/rasa_env/nlu_cv.py measures, how it is scored, and its markdown report.

Split out of nlu_cv.py unchanged: the records of a run, the metrics (macro-F1, accuracy, the simulated
FallbackClassifier) and the report's tables.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.common import mean, stdev

CORE_INTENTS: tuple[str, ...] = ("complaint", "legal_question", "service_request")
AMBIGUITY_THRESHOLDS: tuple[float, ...] = (0.0, 0.05, 0.1)


@dataclass
class Prediction:
    """One parsed message: gold label, predicted label and confidences."""

    text: str
    gold: str
    predicted: str
    confidence: float
    runner_up_confidence: float


@dataclass
class Scores:
    """Classification scores for one set of predictions."""

    core_macro_f1: float
    all_macro_f1: float
    accuracy: float


@dataclass
class ThresholdRow:
    """Effect of a simulated FallbackClassifier on held-out predictions."""

    threshold: float
    ambiguity: float
    share_fallback: float
    accuracy_answered: float
    wrong_answered: int
    answered: int


@dataclass
class CandidateResult:
    """Everything measured for one candidate config."""

    name: str
    config_path: str
    fold_scores: list[Scores] = field(default_factory=list)
    fold_train_seconds: list[float] = field(default_factory=list)
    holdout: Scores | None = None
    full_train_seconds: float = 0.0
    holdout_per_intent_f1: dict[str, float] = field(default_factory=dict)
    thresholds: list[ThresholdRow] = field(default_factory=list)
    holdout_errors: list[Prediction] = field(default_factory=list)
    independent: dict[str, Scores] = field(default_factory=dict)
    parse_cpu_ms: float = float("nan")
    error: str | None = None


@dataclass
class RunInfo:
    """Facts about one benchmark run, printed in the report header."""

    started: dt.datetime
    n_folds: int
    n_train: int
    n_holdout: int
    thresholds: Sequence[float]
    data_fingerprint: str
    leaked: dict[str, int]
    load_start: str
    independent_sizes: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


def score(predictions: Sequence[Prediction]) -> Scores:
    """Macro-F1 over the core intents, macro-F1 over all gold intents, accuracy."""
    from sklearn.metrics import accuracy_score, f1_score

    gold = [p.gold for p in predictions]
    pred = [p.predicted for p in predictions]
    all_labels = sorted(set(gold))
    core = [label for label in CORE_INTENTS if label in all_labels]
    return Scores(
        core_macro_f1=float(f1_score(gold, pred, labels=core, average="macro", zero_division=0)),
        all_macro_f1=float(f1_score(gold, pred, labels=all_labels, average="macro", zero_division=0)),
        accuracy=float(accuracy_score(gold, pred)),
    )


def per_intent_f1(predictions: Sequence[Prediction]) -> dict[str, float]:
    """F1 for every gold intent (for the detail section of the report)."""
    from sklearn.metrics import f1_score

    gold = [p.gold for p in predictions]
    pred = [p.predicted for p in predictions]
    labels = sorted(set(gold))
    values = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    return {label: float(value) for label, value in zip(labels, values, strict=True)}


def threshold_sweep(
    predictions: Sequence[Prediction],
    thresholds: Sequence[float],
    ambiguities: Sequence[float] = AMBIGUITY_THRESHOLDS,
) -> list[ThresholdRow]:
    """Simulate FallbackClassifier(threshold, ambiguity_threshold).

    A message falls back when its top confidence is below ``threshold`` or the
    gap to the runner-up is below ``ambiguity`` (Rasa's rule). For the rest we
    report the accuracy and the number of wrong confident answers.
    """
    rows = []
    total = len(predictions)
    for ambiguity in ambiguities:
        for threshold in thresholds:
            answered = [
                p
                for p in predictions
                if p.confidence >= threshold and (p.confidence - p.runner_up_confidence) >= ambiguity
            ]
            wrong = sum(1 for p in answered if p.predicted != p.gold)
            rows.append(
                ThresholdRow(
                    threshold=threshold,
                    ambiguity=ambiguity,
                    share_fallback=1.0 - len(answered) / total if total else 0.0,
                    accuracy_answered=(1.0 - wrong / len(answered) if answered else float("nan")),
                    wrong_answered=wrong,
                    answered=len(answered),
                )
            )
    return rows


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def summary_table(results: Sequence[CandidateResult], thresholds: Sequence[float]) -> str:
    """Main markdown table: CV metrics, held-out metrics, independent sets, timings, fallback share."""
    independent = sorted({name for r in results for name in r.independent})
    head = (
        "| candidate | CV core F1 | CV all F1 | CV acc | train s/fold | full train s | parse CPU ms/msg "
        "| HO core F1 | HO acc "
        + " ".join(f"| independent {name} core F1" for name in independent)
        + " ".join(f"| <{t:.1f} share (acc above)" for t in thresholds)
        + " |"
    )
    sep = "|" + "---|" * (9 + len(independent) + len(thresholds))
    lines = [head, sep]
    for r in results:
        if r.error or r.holdout is None:
            lines.append(f"| {r.name} | failed: {r.error} |")
            continue
        core = [s.core_macro_f1 for s in r.fold_scores]
        plain = [row for row in r.thresholds if row.ambiguity == 0.0]
        cv_cells = (
            [
                f"{mean(core):.3f} ± {stdev(core):.3f}",
                f"{mean([s.all_macro_f1 for s in r.fold_scores]):.3f}",
                f"{mean([s.accuracy for s in r.fold_scores]):.3f}",
                f"{mean(r.fold_train_seconds):.1f}",
            ]
            if r.fold_scores
            else ["–"] * 4  # --folds 0: held-out only
        )
        cells = [
            r.name,
            *cv_cells,
            f"{r.full_train_seconds:.1f}",
            f"{r.parse_cpu_ms:.1f}",
            f"{r.holdout.core_macro_f1:.3f}",
            f"{r.holdout.accuracy:.3f}",
            *(f"{r.independent[n].core_macro_f1:.3f}" if n in r.independent else "–" for n in independent),
        ] + [f"{row.share_fallback:.0%} ({row.accuracy_answered:.3f})" for row in plain]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def threshold_details(results: Sequence[CandidateResult]) -> str:
    """Per-candidate fallback simulation incl. ambiguity_threshold."""
    parts = []
    for r in results:
        if r.error or not r.thresholds:
            continue
        parts.append(f"#### {r.name}\n")
        parts.append("| threshold | ambiguity | fallback share | acc of answered | wrong answered / answered |")
        parts.append("|---|---|---|---|---|")
        for row in r.thresholds:
            parts.append(
                f"| {row.threshold:.1f} | {row.ambiguity:.2f} "
                f"| {row.share_fallback:.1%} | {row.accuracy_answered:.3f} "
                f"| {row.wrong_answered} / {row.answered} |"
            )
        per_intent = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r.holdout_per_intent_f1.items()))
        parts.append(f"\nHeld-out F1 per intent: {per_intent}\n")
        parts.append(f"Held-out errors (gold → predicted: count (confidences)): {error_pairs(r.holdout_errors)}\n")
    return "\n".join(parts)


def error_pairs(errors: Sequence[Prediction]) -> str:
    """Summarise misclassifications as gold→predicted pairs with confidences.

    Message texts are deliberately left out so that held-out messages are not
    copied into the training data by accident.
    """
    pairs: dict[tuple[str, str], list[float]] = {}
    for p in errors:
        pairs.setdefault((p.gold, p.predicted), []).append(p.confidence)
    if not pairs:
        return "none"
    ordered = sorted(pairs.items(), key=lambda item: -len(item[1]))
    return "; ".join(
        f"{gold}→{pred}: {len(confs)} ({', '.join(f'{c:.2f}' for c in sorted(confs))})"
        for (gold, pred), confs in ordered
    )


def render_report(
    results: Sequence[CandidateResult],
    info: RunInfo,
    elapsed: float,
    load_end: str,
    fingerprint_end: str,
) -> str:
    """Assemble the markdown results document."""
    thresholds = info.thresholds
    cv = (
        f"{info.n_folds}-fold stratified CV with fixed seed (same folds for every candidate)"
        if info.n_folds > 1
        else "no CV (held-out only)"
    )
    leaked = sum(info.leaked.values())
    changed = (
        ""
        if fingerprint_end == info.data_fingerprint
        else f" **Training files changed during the run (now {fingerprint_end}); "
        f"all candidates still used the snapshot loaded at the start.**"
    )
    return "\n".join(
        [
            "# NLU pipeline cross-validation",
            "",
            f"- Date: {info.started:%Y-%m-%d %H:%M} (total run {elapsed / 60:.1f} min)",
            f"- Machine: {os.cpu_count()} cores ({platform.machine()}, "
            f"Python {platform.python_version()}); other work was running at "
            f"the same time, so timings are indicative (load average at "
            f"start {info.load_start}, end {load_end}). One training at a time.",
            f"- Data: {info.n_train} training examples (data/nlu/*.yml, fingerprint "
            f"{info.data_fingerprint}), {cv}; held-out: {info.n_holdout} messages "
            f"(tests/nlu/holdout_*.yml), not used for training.{changed}",
            "- Independent sets (tests/nlu/independent/, never trained or tuned on, scored once a choice is made): "
            + (", ".join(f"{k} {v}" for k, v in sorted(info.independent_sizes.items())) or "not scored in this run"),
            f"- Held-out messages that also occur verbatim in the training data "
            f"(whitespace/case ignored): {leaked}"
            + (f" ({', '.join(f'{k} {v}' for k, v in sorted(info.leaked.items()))})" if leaked else ""),
            "- Core F1 = macro-F1 over complaint, legal_question, "
            "service_request (per-class F1 in the 12-way problem, averaged). "
            "CV values are means over folds (± sample std for core F1).",
            "- FallbackClassifier removed during evaluation; `<t share (acc "
            "above)` = share of held-out messages whose top confidence is "
            "below t, and accuracy of the remaining ones.",
            "- Timings: wall clock of `rasa.model_training.train_nlu` "
            "(featurization + training + packaging), training cache disabled. Each training text's e5 embedding is "
            "computed once per run and reused (benchmarks/rasa_env/nlu_baseline.py), so the training seconds of e5 "
            "candidates leave most embedding out: the whole-model training time is measured with `make train` "
            "(docs/nlu.md). Parse CPU = process CPU time of `Agent.parse_message` per held-out message, one at a "
            "time (held-out texts are embedded when parsed).",
            "",
            "## Summary",
            "",
            summary_table(results, thresholds),
            "",
            "## Fallback simulation on held-out (threshold × ambiguity_threshold)",
            "",
            threshold_details(results),
        ]
    )
