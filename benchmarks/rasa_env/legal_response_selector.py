"""Rasa ResponseSelector as an alternative to the legal retrieval (bureau/legal_kb.py).

Usage (from the project root, with the Rasa environment's interpreter):

    rasa-env/.venv/bin/python -m benchmarks.rasa_env.legal_response_selector \
        [--epochs 60 100] [--out benchmarks/results/legal_response_selector.md]

The script does not import application code; it reads the YAML files directly.

1. Builds a temporary Rasa 3.6 NLU training set: one retrieval intent
   ``legal/<id>`` per entry of content/legal/*.yml (the entry's questions as
   examples) plus the intents of data/nlu/smalltalk.yml and data/nlu/service_request.yml
   copied as they are (so DIET has non-legal intents to separate). A temporary
   domain lists the responses ``utter_legal/<id>`` (text = the entry's answer).
2. Trains NLU only (``rasa.model_training.train_nlu``) with a pipeline like
   config.yml (Jieba, word counts, char_wb 1-4 counts, DIET without transformer)
   plus ``ResponseSelector(retrieval_intent: legal)`` for each epoch setting.
3. Loads each model with ``Agent.load`` and parses the held-out paraphrases and
   the unanswerable questions of tests/legal/heldout.yml, reading
   ``result["response_selector"]["legal"]["ranking"]``.
4. Writes a markdown report and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import glob
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import load_average, median, write_report
from benchmarks.rasa_env.nlu_cv import configure_environment  # quiet logs, no telemetry, no disk cache

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RETRIEVAL_INTENT = "legal"
OTHER_NLU_FILES = ("data/nlu/smalltalk.yml", "data/nlu/service_request.yml")
THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)
SEED = 42


@dataclass
class RunResult:
    """Measurements for one ResponseSelector setting."""

    epochs: int
    train_seconds: float = 0.0
    parse_seconds: float = 0.0
    # (gold id, ranked ids, ranked confidences, predicted intent) per paraphrase
    paraphrases: list[tuple[str, list[str], list[float], str]] = field(default_factory=list)
    # (top confidence, predicted intent) per unanswerable question
    unanswerable: list[tuple[float, str]] = field(default_factory=list)
    error: str | None = None


# --------------------------------------------------------------------------
# Environment and data
# --------------------------------------------------------------------------


def load_entries() -> list[dict[str, Any]]:
    """All legal KB entries from content/legal/*.yml."""
    entries: list[dict[str, Any]] = []
    for path in sorted(glob.glob(str(PROJECT_ROOT / "content" / "legal" / "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            entries.extend(yaml.safe_load(handle).get("entries") or [])
    return entries


def load_other_intents() -> list[dict[str, Any]]:
    """Intent blocks of the non-legal NLU files, copied as they are."""
    blocks: list[dict[str, Any]] = []
    for rel in OTHER_NLU_FILES:
        with open(PROJECT_ROOT / rel, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        blocks.extend(item for item in data.get("nlu") or [] if "intent" in item)
    return blocks


def load_heldout() -> tuple[list[dict[str, str]], list[str]]:
    """Held-out paraphrases ({text, entry}) and unanswerable questions."""
    with open(PROJECT_ROOT / "tests" / "legal" / "heldout.yml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return list(data["paraphrases"]), list(data["unanswerable"])


def examples_block(texts: Sequence[str]) -> str:
    """Rasa's ``examples: |`` literal: one ``- text`` per line."""
    return "".join(f"- {' '.join(str(t).split())}\n" for t in texts)


class _Literal(str):
    """String dumped as a YAML block literal."""


def _literal_representer(dumper: yaml.Dumper, value: _Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.add_representer(_Literal, _literal_representer)


def write_training_files(
    entries: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], work: Path
) -> tuple[Path, Path, int, int]:
    """Write nlu.yml and domain.yml; return paths and example counts (legal, other)."""
    nlu: list[dict[str, Any]] = []
    n_legal = 0
    for entry in entries:
        questions = [q for q in entry["questions"] if str(q).strip()]
        n_legal += len(questions)
        nlu.append({"intent": f"{RETRIEVAL_INTENT}/{entry['id']}", "examples": _Literal(examples_block(questions))})
    n_other = 0
    for block in other:
        texts = [line[2:] for line in str(block["examples"]).splitlines() if line.startswith("- ")]
        n_other += len(texts)
        nlu.append({"intent": block["intent"], "examples": _Literal(str(block["examples"]))})
    nlu_path = work / "nlu.yml"
    nlu_path.write_text(
        yaml.dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False, width=10_000),
        encoding="utf-8",
    )
    domain = {
        "version": "3.1",
        "intents": [RETRIEVAL_INTENT, *dict.fromkeys(block["intent"] for block in other)],
        "responses": {
            f"utter_{RETRIEVAL_INTENT}/{entry['id']}": [{"text": " ".join(str(entry["answer"]).split())}]
            for entry in entries
        },
    }
    domain_path = work / "domain.yml"
    domain_path.write_text(yaml.dump(domain, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")
    return nlu_path, domain_path, n_legal, n_other


def config_for(epochs: int) -> dict[str, Any]:
    """Pipeline like config.yml (char_wb 1-4 as in the brief) + ResponseSelector."""
    return {
        "recipe": "default.v1",
        "language": "zh",
        "assistant_id": "legal-response-selector-benchmark",
        "pipeline": [
            {"name": "JiebaTokenizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {
                "name": "DIETClassifier",
                "epochs": 60,
                "number_of_transformer_layers": 0,
                "entity_recognition": False,
                "random_seed": SEED,
            },
            {
                "name": "ResponseSelector",
                "retrieval_intent": RETRIEVAL_INTENT,
                "epochs": epochs,
                "number_of_transformer_layers": 0,
                "random_seed": SEED,
            },
        ],
    }


# --------------------------------------------------------------------------
# Training and prediction
# --------------------------------------------------------------------------


async def _parse_all(agent: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    return [await agent.parse_message(text) for text in texts]


def strip_prefix(key: str) -> str:
    """``legal/<id>`` -> ``<id>``."""
    prefix = f"{RETRIEVAL_INTENT}/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def run_setting(
    epochs: int,
    nlu_path: Path,
    domain_path: Path,
    work: Path,
    paraphrases: Sequence[dict[str, str]],
    unanswerable: Sequence[str],
) -> RunResult:
    """Train one model and parse the held-out questions."""
    import rasa.model_training
    from rasa.core.agent import Agent

    result = RunResult(epochs=epochs)
    run_dir = work / f"rs{epochs}"
    run_dir.mkdir()
    config_path = run_dir / "config.yml"
    config_path.write_text(yaml.dump(config_for(epochs), allow_unicode=True, sort_keys=False), encoding="utf-8")

    start = time.perf_counter()
    model_path = rasa.model_training.train_nlu(
        config=str(config_path), nlu_data=str(nlu_path), output=str(run_dir), domain=str(domain_path)
    )
    result.train_seconds = time.perf_counter() - start
    if not model_path:
        raise RuntimeError(f"training failed for epochs={epochs}")

    agent = Agent.load(str(model_path))
    start = time.perf_counter()
    parsed = asyncio.run(_parse_all(agent, [p["text"] for p in paraphrases] + list(unanswerable)))
    result.parse_seconds = time.perf_counter() - start

    for index, parse in enumerate(parsed):
        selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
        ranking = selector.get("ranking") or []
        ids = [strip_prefix(str(r.get("intent_response_key"))) for r in ranking]
        confs = [float(r.get("confidence") or 0.0) for r in ranking]
        intent = str((parse.get("intent") or {}).get("name"))
        if index < len(paraphrases):
            result.paraphrases.append((paraphrases[index]["entry"], ids, confs, intent))
        else:
            result.unanswerable.append((confs[0] if confs else 0.0, intent))
    return result


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def share(count: int, total: int) -> float:
    return count / total if total else float("nan")


def top_k(result: RunResult, k: int) -> float:
    hits = sum(1 for gold, ids, _, _ in result.paraphrases if gold in ids[:k])
    return share(hits, len(result.paraphrases))


def render(results: Sequence[RunResult], info: dict[str, Any]) -> str:
    n_para = info["n_paraphrases"]
    n_unans = info["n_unanswerable"]
    lines = [
        "# Rasa ResponseSelector on the legal held-out set",
        "",
        f"- Date: {info['started']:%Y-%m-%d %H:%M} (total run {info['elapsed'] / 60:.1f} min); "
        f"machine: {os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}, "
        f"Rasa {info['rasa_version']}). Run with `nice -n 19` and one TF/OMP thread next to a CI job, "
        f"so timings are indicative (load average at start {info['load_start']}, end {info['load_end']}).",
        f"- Training data (temporary, built by benchmarks/rasa_env/legal_response_selector.py): "
        f"{info['n_entries']} retrieval intents `legal/<id>` from content/legal/*.yml with "
        f"{info['n_legal']} questions, plus {info['n_other']} examples of "
        f"{info['n_other_intents']} non-legal intents copied from {', '.join(OTHER_NLU_FILES)}.",
        "- Pipeline: JiebaTokenizer; CountVectorsFeaturizer (word); CountVectorsFeaturizer "
        "char_wb 1-4; DIETClassifier (0 transformer layers, 60 epochs, no entities); "
        "ResponseSelector (retrieval_intent legal, 0 transformer layers — the default in 3.6 — "
        f"epochs as listed). random_seed {SEED}; training cache off; NLU only.",
        f"- Held-out: tests/legal/heldout.yml, {n_para} paraphrases and {n_unans} unanswerable "
        "questions, never used for training. Top-k read from "
        '`result["response_selector"]["legal"]["ranking"]`.',
        "- Training time = wall clock of `rasa.model_training.train_nlu` "
        "(featurization + DIET + ResponseSelector + packaging).",
        "",
        "## Summary",
        "",
        "| config | training time | top-1 | top-3 | notes |",
        "|---|---|---|---|---|",
        "| TF-IDF char 1-3-grams + keywords (in use, benchmarks/results/legal_retrieval.md) "
        "| none (index built at start) | 0.72 | 0.93 | reference |",
    ]
    for r in results:
        if r.error:
            lines.append(f"| ResponseSelector {r.epochs} epochs | – | – | – | failed: {r.error} |")
            continue
        legal_intent = sum(1 for *_, intent in r.paraphrases if intent == RETRIEVAL_INTENT)
        notes = (
            f"DIET intent `legal` on {share(legal_intent, n_para):.0%} of paraphrases; "
            f"parse {1000 * r.parse_seconds / max(1, n_para + n_unans):.0f} ms/message"
        )
        lines.append(
            f"| ResponseSelector {r.epochs} epochs | {r.train_seconds:.0f} s "
            f"| {top_k(r, 1):.2f} | {top_k(r, 3):.2f} | {notes} |"
        )

    lines += [
        "",
        "## Confidence thresholds (top response confidence)",
        "",
        "`answered right/wrong` = share of the paraphrases whose top response has confidence ≥ t "
        "and is / is not the gold entry; `uncovered answered` = share of the unanswerable questions "
        "whose top response has confidence ≥ t (i.e. would get a wrong answer).",
        "",
        "| config | threshold | answered right | answered wrong | uncovered answered |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if r.error:
            continue
        for t in info["thresholds"]:
            right = sum(1 for g, ids, c, _ in r.paraphrases if c and c[0] >= t and ids[0] == g)
            wrong = sum(1 for g, ids, c, _ in r.paraphrases if c and c[0] >= t and ids[0] != g)
            unans = sum(1 for c, _ in r.unanswerable if c >= t)
            lines.append(
                f"| ResponseSelector {r.epochs} epochs | {t:.2f} | {share(right, n_para):.2f} "
                f"| {share(wrong, n_para):.2f} | {share(unans, n_unans):.2f} |"
            )

    lines += ["", "## Confidence distributions", ""]
    for r in results:
        if r.error:
            continue
        correct = sorted(c[0] for g, ids, c, _ in r.paraphrases if c and ids[0] == g)
        wrong = sorted(c[0] for g, ids, c, _ in r.paraphrases if c and ids[0] != g)
        unans = sorted(c for c, _ in r.unanswerable)
        lines.append(
            f"- {r.epochs} epochs: median top confidence — right {median(correct):.2f}, "
            f"wrong {median(wrong):.2f}, unanswerable {median(unans):.2f}; "
            f"unanswerable predicted intent `legal` by DIET: "
            f"{share(sum(1 for _, i in r.unanswerable if i == RETRIEVAL_INTENT), n_unans):.0%}."
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[60, 100], help="ResponseSelector epochs")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "benchmarks" / "results" / "legal_response_selector.md"))
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    import rasa

    started = dt.datetime.now()
    load_start = load_average()
    t0 = time.perf_counter()
    entries = load_entries()
    other = load_other_intents()
    paraphrases, unanswerable = load_heldout()
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="legal_rs_") as tmp:
        work = Path(tmp)
        nlu_path, domain_path, n_legal, n_other = write_training_files(entries, other, work)
        print(
            f"training data: {len(entries)} legal intents / {n_legal} questions, {n_other} other examples", flush=True
        )
        for epochs in args.epochs:
            try:
                result = run_setting(epochs, nlu_path, domain_path, work, paraphrases, unanswerable)
            except Exception as exc:  # report the failure, keep the other settings
                result = RunResult(epochs=epochs, error=f"{type(exc).__name__}: {exc}")
            results.append(result)
            if result.error:
                print(f"  {epochs} epochs failed: {result.error}", flush=True)
            else:
                print(
                    f"  {epochs} epochs: top-1 {top_k(result, 1):.3f}, top-3 {top_k(result, 3):.3f}, "
                    f"train {result.train_seconds:.0f}s",
                    flush=True,
                )
    info = {
        "started": started,
        "elapsed": time.perf_counter() - t0,
        "load_start": load_start,
        "load_end": load_average(),
        "rasa_version": rasa.__version__,
        "n_entries": len(entries),
        "n_legal": n_legal,
        "n_other": n_other,
        "n_other_intents": len({b["intent"] for b in other}),
        "n_paraphrases": len(paraphrases),
        "n_unanswerable": len(unanswerable),
        "thresholds": args.thresholds,
    }
    report = render(results, info)
    write_report(Path(args.out), report)
    print(report)
    return 0 if all(not r.error for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
