"""Cross-validate candidate Rasa NLU pipelines and measure held-out quality.

Usage (from the project root, with the Rasa environment's interpreter):

    rasa-env/.venv/bin/python -m benchmarks.rasa_env.nlu_cv \
        [--folds 5] [--configs benchmarks/nlu_configs/*.yml] \
        [--out benchmarks/results/nlu_cv.md] [--thresholds 0.3 0.4 0.5 0.6]

``--folds 0`` skips cross-validation and only runs the held-out evaluation.

For every candidate config the script

1. runs stratified k-fold cross-validation on the training data (data/nlu/*.yml).
   The folds are built once with a fixed seed, so every candidate is scored
   on exactly the same splits (a paired comparison). Each fold is trained
   with Rasa's own ``rasa.model_training.train_nlu`` and scored by parsing
   the fold's test messages with ``Agent.parse_message``;
2. trains once on all training data and evaluates on the concatenated
   held-out files tests/nlu/holdout_*.yml (never used for training), including
   a confidence-threshold sweep used to pick the FallbackClassifier settings,
   and measures the process CPU time of parsing one message;
3. scores that model on each independent set tests/nlu/independent/*.yml
   (``--independent none`` skips them: they are scored once a choice is made).

A plain char TF-IDF + LinearSVC baseline (scikit-learn, no Rasa) is scored on
the same folds and sets (``--no-baseline`` skips it).

FallbackClassifier is removed from the evaluated pipelines so that the raw
confidences of the intent classifier are measured; the threshold sweep then
simulates the fallback. Rasa's training cache is disabled so that the timings
are honest (no reuse of featurizer outputs between folds or candidates).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import glob
import hashlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import load_average
from benchmarks.rasa_env.nlu_baseline import baseline_result, reuse_e5_embeddings
from benchmarks.rasa_env.nlu_cv_report import (
    CandidateResult,
    Prediction,
    RunInfo,
    per_intent_f1,
    render_report,
    score,
    summary_table,
    threshold_sweep,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIDENCE_THRESHOLDS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6)
FALLBACK_COMPONENT = "FallbackClassifier"


# --------------------------------------------------------------------------
# Environment and data
# --------------------------------------------------------------------------


def configure_environment() -> None:
    """Quiet the logs and disable Rasa's on-disk training cache and telemetry."""
    # A cache size of 0 makes Rasa use an in-memory cache only: nothing is
    # written to .rasa/ and no fold can reuse another fold's featurization.
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `complaints run` starts Rasa (app.training)
    logging.basicConfig(level=logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "jieba", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Rasa 3.6 logs every parsed message through structlog at debug level
    # unless structlog is configured explicitly.
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


def fingerprint(folder: Path) -> str:
    """Short hash of the training files, to tell which data a report used."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.yml")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def normalise(text: str) -> str:
    """Lower-case and drop whitespace, for duplicate detection."""
    return "".join(text.split()).lower()


def holdout_leaks(train_examples: Sequence[Any], holdout_examples: Sequence[Any]) -> dict[str, int]:
    """Count held-out messages (per gold intent) that also occur in the training data."""
    seen = {normalise(e.get("text")) for e in train_examples}
    leaks: dict[str, int] = {}
    for example in holdout_examples:
        if normalise(example.get("text")) in seen:
            intent = example.get_full_intent()
            leaks[intent] = leaks.get(intent, 0) + 1
    return leaks


def load_nlu(paths: Sequence[Path]) -> Any:
    """Load and merge Rasa NLU training data from the given files/folders."""
    from rasa.shared.nlu.training_data.loading import load_data

    merged = None
    for path in paths:
        data = load_data(str(path))
        merged = data if merged is None else merged.merge(data)
    if merged is None:
        raise ValueError("no NLU data found")
    return merged


def make_folds(data: Any, n_folds: int, seed: int) -> list[tuple[Any, list[Any]]]:
    """Split intent examples into stratified folds (train data, test examples).

    Regexes and lookup tables are kept in every training split, exactly as
    Rasa's own ``rasa.nlu.test.generate_folds`` does, but with a fixed seed.
    """
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    examples = data.intent_examples
    labels = [example.get_full_intent() for example in examples]
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = []
    for train_idx, test_idx in splitter.split(examples, labels):
        train = TrainingData(
            training_examples=[examples[i] for i in train_idx],
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
        )
        folds.append((train, [examples[i] for i in test_idx]))
    return folds


def write_nlu_yaml(data: Any, path: Path) -> Path:
    """Persist training data as Rasa YAML so train_nlu can read it."""
    path.write_text(data.nlu_as_yaml(), encoding="utf-8")
    return path


def write_eval_config(config_path: Path, target: Path) -> Path:
    """Copy a config without FallbackClassifier (raw confidences are needed)."""
    import rasa.shared.utils.io as rasa_io

    config = rasa_io.read_yaml_file(str(config_path))
    config["pipeline"] = [step for step in config.get("pipeline", []) if step.get("name") != FALLBACK_COMPONENT]
    config.pop("policies", None)
    rasa_io.write_yaml(config, target)
    return target


# --------------------------------------------------------------------------
# Training and prediction
# --------------------------------------------------------------------------


def train_model(config: Path, nlu_file: Path, out_dir: Path) -> tuple[str, float]:
    """Train an NLU model; return the archive path and wall-clock seconds."""
    import rasa.model_training

    start = time.perf_counter()
    model_path = rasa.model_training.train_nlu(config=str(config), nlu_data=str(nlu_file), output=str(out_dir))
    seconds = time.perf_counter() - start
    if not model_path:
        raise RuntimeError(f"training failed for {config}")
    return str(model_path), seconds


async def _parse_all(agent: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Parse messages one by one with a loaded agent."""
    return [await agent.parse_message(text) for text in texts]


def predict(model_path: str, examples: Sequence[Any]) -> tuple[list[Prediction], float]:
    """Run the trained model over examples; top-2 confidences and parse CPU ms per message."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    texts = [example.get("text") for example in examples]
    cpu = time.process_time()
    parsed = asyncio.run(_parse_all(agent, texts))
    cpu_ms = (time.process_time() - cpu) * 1000 / max(len(texts), 1)
    predictions = []
    for example, result in zip(examples, parsed, strict=True):
        ranking = result.get("intent_ranking") or []
        intent = result.get("intent") or {}
        runner_up = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        predictions.append(
            Prediction(
                text=example.get("text"),
                gold=example.get_full_intent(),
                predicted=intent.get("name") or "None",
                confidence=float(intent.get("confidence") or 0.0),
                runner_up_confidence=float(runner_up),
            )
        )
    return predictions, cpu_ms


# --------------------------------------------------------------------------
# Evaluation of one candidate
# --------------------------------------------------------------------------


def evaluate_candidate(
    config_path: Path,
    folds: Sequence[tuple[Any, list[Any]]],
    full_data: Any,
    holdout_examples: Sequence[Any],
    independent: dict[str, list[Any]],
    work_dir: Path,
    thresholds: Sequence[float],
) -> CandidateResult:
    """Cross-validate one config, then train on everything and test held-out.

    With no folds (``--folds 0``) only the held-out evaluation is run.
    """
    result = CandidateResult(name=config_path.stem, config_path=str(config_path))
    eval_config = write_eval_config(config_path, work_dir / "config.yml")

    for index, (train_data, test_examples) in enumerate(folds, start=1):
        fold_dir = work_dir / f"fold{index}"
        fold_dir.mkdir()
        nlu_file = write_nlu_yaml(train_data, fold_dir / "nlu.yml")
        model, seconds = train_model(eval_config, nlu_file, fold_dir)
        fold_scores = score(predict(model, test_examples)[0])
        result.fold_scores.append(fold_scores)
        result.fold_train_seconds.append(seconds)
        log(
            f"  {result.name} fold {index}/{len(folds)}: "
            f"core F1 {fold_scores.core_macro_f1:.3f}, "
            f"acc {fold_scores.accuracy:.3f}, train {seconds:.1f}s"
        )

    full_dir = work_dir / "full"
    full_dir.mkdir()
    nlu_file = write_nlu_yaml(full_data, full_dir / "nlu.yml")
    model, seconds = train_model(eval_config, nlu_file, full_dir)
    holdout_predictions, result.parse_cpu_ms = predict(model, holdout_examples)
    result.full_train_seconds = seconds
    result.holdout = score(holdout_predictions)
    result.holdout_per_intent_f1 = per_intent_f1(holdout_predictions)
    result.thresholds = threshold_sweep(holdout_predictions, thresholds)
    result.holdout_errors = [p for p in holdout_predictions if p.predicted != p.gold]
    for name, examples in independent.items():
        result.independent[name] = score(predict(model, examples)[0])
    log(
        f"  {result.name} held-out: core F1 {result.holdout.core_macro_f1:.3f}, "
        f"acc {result.holdout.accuracy:.3f}, full train {seconds:.1f}s, parse {result.parse_cpu_ms:.1f} ms CPU"
    )
    return result


def log(message: str) -> None:
    """Progress output that is not swallowed by buffering."""
    print(message, flush=True)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="CV folds; 0 = held-out evaluation only")
    parser.add_argument(
        "--configs",
        nargs="+",
        default=[str(PROJECT_ROOT / "benchmarks" / "nlu_configs" / "*.yml")],
        help="candidate config files (globs are expanded)",
    )
    parser.add_argument("--out", default=str(PROJECT_ROOT / "benchmarks" / "results" / "nlu_cv.md"))
    parser.add_argument("--nlu", default=str(PROJECT_ROOT / "data" / "nlu"), help="training data folder")
    parser.add_argument(
        "--holdout",
        default=str(PROJECT_ROOT / "tests" / "nlu" / "holdout_*.yml"),
        help="glob of held-out files",
    )
    parser.add_argument(
        "--independent",
        default=str(PROJECT_ROOT / "tests" / "nlu" / "independent" / "*.yml"),
        help="glob of independent sets, scored after training on everything; 'none' skips them",
    )
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True, help="score the baseline")
    parser.add_argument("--seed", type=int, default=42, help="fold split seed")
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=list(CONFIDENCE_THRESHOLDS),
        help="FallbackClassifier thresholds to simulate on held-out",
    )
    return parser.parse_args(argv)


def expand_configs(patterns: Sequence[str]) -> list[Path]:
    """Expand globs, keep order, drop duplicates."""
    seen: dict[Path, None] = {}
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) or [pattern]
        for match in matches:
            seen.setdefault(Path(match).resolve(), None)
    missing = [p for p in seen if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"config(s) not found: {missing}")
    return list(seen)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the markdown report."""
    args = parse_args(argv)
    configure_environment()
    configs = expand_configs(args.configs)
    holdout_files = [Path(p) for p in sorted(glob.glob(args.holdout))]
    if not holdout_files:
        raise FileNotFoundError(f"no held-out files match {args.holdout}")

    t0 = time.perf_counter()
    nlu_dir = Path(args.nlu)
    data_fingerprint = fingerprint(nlu_dir)
    full_data = load_nlu([nlu_dir])
    holdout_examples = load_nlu(holdout_files).intent_examples
    independent_files = [] if args.independent == "none" else sorted(glob.glob(args.independent))
    independent = {Path(p).stem: load_nlu([Path(p)]).intent_examples for p in independent_files}
    folds = make_folds(full_data, args.folds, args.seed) if args.folds > 1 else []
    info = RunInfo(
        started=dt.datetime.now(),
        n_folds=args.folds,
        n_train=len(full_data.intent_examples),
        n_holdout=len(holdout_examples),
        thresholds=args.thresholds,
        data_fingerprint=data_fingerprint,
        leaked=holdout_leaks(full_data.intent_examples, holdout_examples),
        load_start=load_average(),
        independent_sizes={name: len(examples) for name, examples in independent.items()},
    )
    log(
        f"{len(full_data.intent_examples)} training examples, "
        f"{len(holdout_examples)} held-out, {len(configs)} candidates, "
        f"{args.folds} folds"
    )

    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results: list[CandidateResult] = []
    for config_path in configs:
        log(f"== {config_path.name}")
        with tempfile.TemporaryDirectory(prefix="nlu_cv_") as tmp, reuse_e5_embeddings():
            try:
                result = evaluate_candidate(
                    config_path, folds, full_data, holdout_examples, independent, Path(tmp), args.thresholds
                )
            except Exception as exc:  # keep going with the other candidates
                result = CandidateResult(name=config_path.stem, config_path=str(config_path), error=repr(exc))
                log(f"  failed: {exc!r}")
        results.append(result)
        # Write after every candidate so a long run leaves partial results.
        report = render_report(results, info, time.perf_counter() - t0, load_average(), fingerprint(nlu_dir))
        out_path.write_text(report + "\n", encoding="utf-8")

    if args.baseline:
        log("== baseline (char TF-IDF + LinearSVC)")
        results.append(baseline_result(folds, full_data, holdout_examples, independent))
        out_path.write_text(
            render_report(results, info, time.perf_counter() - t0, load_average(), fingerprint(nlu_dir)) + "\n",
            encoding="utf-8",
        )
    log("")
    log(summary_table(results, args.thresholds))
    log(f"\nwritten to {out_path}")
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
