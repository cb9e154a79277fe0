"""How well drivers' paraphrases find their legal entry: top-1 / top-3 on held-out phrasings, and how often
a question the base does not cover is answered anyway, for the retrieval in complaints/legal_kb.py
(TF-IDF over character 1-3-grams + keywords) against a plain character-bigram cosine baseline.

    .venv/bin/python benchmarks/legal_retrieval.py [--out benchmarks/results/legal_retrieval.md]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from complaints.config import PROJECT_ROOT
from complaints.legal_kb import LegalEntry, LegalKb, load_kb

HELD_OUT = PROJECT_ROOT / "tests" / "legal" / "heldout.yml"
Ranker = Callable[[str], list[tuple[LegalEntry, float]]]


@dataclass(frozen=True)
class Scores:
    top1: float
    top3: float
    answered_right: float  # paraphrases answered with the right entry at the threshold
    answered_wrong: float  # paraphrases answered with a wrong entry at the threshold
    unanswerable_answered: float  # questions outside the base that got an answer anyway


def held_out() -> tuple[list[tuple[str, str]], list[str]]:
    raw = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    return [(p["text"], p["entry"]) for p in raw["paraphrases"]], list(raw["unanswerable"])


def bigram_ranker(kb: LegalKb) -> Ranker:
    """The first release's method: cosine of character unigram+bigram counts, best question wins."""

    def grams(text: str) -> Counter[str]:
        chars = [c for c in text if c.strip() and c not in "，。？！?!,.、"]
        counted = Counter(chars)
        counted.update(a + b for a, b in zip(chars, chars[1:], strict=False))
        return counted

    def cosine(a: Counter[str], b: Counter[str]) -> float:
        dot = sum(n * b[g] for g, n in a.items())
        norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
        return dot / norm if norm else 0.0

    indexed = [(e, [grams(q) for q in e.questions]) for e in kb.entries]

    def rank(question: str) -> list[tuple[LegalEntry, float]]:
        asked = grams(question)
        scored = [(e, max(cosine(asked, g) for g in gs)) for e, gs in indexed]
        return sorted(scored, key=lambda pair: pair[1], reverse=True)[:3]

    return rank


def evaluate(rank: Ranker, threshold: float, paraphrases: list[tuple[str, str]], unanswerable: list[str]) -> Scores:
    top1 = top3 = right = wrong = 0
    for text, expected in paraphrases:
        ranked = rank(text)
        ids = [entry.id for entry, _ in ranked]
        top1 += ids[:1] == [expected]
        top3 += expected in ids[:3]
        if ranked and ranked[0][1] >= threshold:
            right += ids[0] == expected
            wrong += ids[0] != expected
    answered = sum(1 for text in unanswerable if (r := rank(text)) and r[0][1] >= threshold)
    n = len(paraphrases)
    return Scores(top1 / n, top3 / n, right / n, wrong / n, answered / max(len(unanswerable), 1))


def report(kb: LegalKb) -> str:
    paraphrases, unanswerable = held_out()
    methods: dict[str, tuple[Ranker, list[float]]] = {
        "TF-IDF char 1-3-grams + keywords (in use)": (lambda q: kb.ranked(q, 3), [0.25, 0.30, 0.35, 0.40]),
        "char-bigram cosine (first release)": (bigram_ranker(kb), [0.35, 0.42, 0.50]),
    }
    lines = [
        "# Legal retrieval on held-out phrasings",
        "",
        f"{len(kb.entries)} entries; {len(paraphrases)} held-out paraphrases written by someone who saw the entries'"
        f" answers but not their questions; {len(unanswerable)} questions the base does not cover.",
        "",
        "| method | threshold | top-1 | top-3 | answered right | answered wrong | uncovered answered |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (rank, thresholds) in methods.items():
        for threshold in thresholds:
            s = evaluate(rank, threshold, paraphrases, unanswerable)
            lines.append(
                f"| {name} | {threshold:.2f} | {s.top1:.2f} | {s.top3:.2f} | {s.answered_right:.2f} |"
                f" {s.answered_wrong:.2f} | {s.unanswerable_answered:.2f} |"
            )
    lines += ["", "## The decision rule in use (complaints/legal_kb.py)", "", decision_table(kb, paraphrases, unanswerable)]
    return "\n".join(lines) + "\n"


def decision_table(kb: LegalKb, paraphrases: list[tuple[str, str]], unanswerable: list[str]) -> str:
    """Answer outright / offer three to pick from / say it honestly: how often each happens, and how right."""
    counts: Counter[str] = Counter()
    for text, expected in paraphrases:
        decision = kb.decide(text)
        ids = [entry.id for entry in decision.entries]
        if decision.kind == "answer":
            counts["answered right" if ids[0] == expected else "answered wrong"] += 1
        elif decision.kind == "choose":
            counts["choices include it" if expected in ids else "choices miss it"] += 1
        else:
            counts["no answer, a person offered"] += 1
    uncovered = Counter(kb.decide(text).kind for text in unanswerable)
    rows = ["| held-out paraphrases | share |", "|---|---|"]
    rows += [f"| {name} | {n / len(paraphrases):.2f} |" for name, n in sorted(counts.items())]
    rows += ["", "| uncovered questions | share |", "|---|---|"]
    names = {"answer": "answered anyway", "choose": "offered choices", "none": "said so, person offered"}
    rows += [f"| {names[kind]} | {n / len(unanswerable):.2f} |" for kind, n in sorted(uncovered.items())]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "legal_retrieval.md")
    args = parser.parse_args()
    data = PROJECT_ROOT / "data"
    text = report(load_kb(data / "legal", data / "legal_texts"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
