"""How well drivers' questions find their legal entry, for the retrieval in bureau/legal_kb.py (TF-IDF over
character 1-3-grams mixed with e5 sentence embeddings) against TF-IDF alone:

- on the held-out paraphrases (tests/legal/heldout.yml, labelled by entry): top-1 / top-3, and a search of
  the decision rule's thresholds. The thresholds in bureau/legal_kb.py were chosen here, on this set only.
- with --independent, once, on tests/legal/independent_questions*.yml (labelled by the articles an answer
  should cite, or the referral, or "none"): the answer / choose / none split and how many answerable
  questions were answered directly by an entry citing an expected article. Never tune on it.

    .venv/bin/python -m benchmarks.legal_retrieval [--independent] [--out FILE.md]
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from benchmarks.common import RESULTS_DIR, table, write_report
from bureau import legal_kb
from bureau.legal_kb import Basis, Decision, LegalEntry, LegalKb, decide, load_kb
from foundation.settings import PROJECT_ROOT, load_settings

HELD_OUT = PROJECT_ROOT / "tests" / "legal" / "heldout.yml"
INDEPENDENT_DIR = PROJECT_ROOT / "tests" / "legal"
Ranked = list[tuple[LegalEntry, float]]
ANSWER_GRID = [round(0.45 + 0.025 * i, 3) for i in range(13)]
CLOSE_GRID = [0.02, 0.04, 0.06, 0.08, 0.10]


@dataclass(frozen=True)
class Split:
    right: float  # answered with the expected entry
    wrong: float  # answered with another entry
    choice_has_it: float
    choice_misses_it: float
    none: float
    uncovered_answered: float
    uncovered_choices: float

    @property
    def merit(self) -> float:
        """What the search maximises: right answers, with a wrong one or an uncovered one answered costing two."""
        return self.right - 2 * self.wrong - self.uncovered_answered


def held_out() -> tuple[list[tuple[str, str]], list[str]]:
    raw = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    return [(p["text"], p["entry"]) for p in raw["paraphrases"]], list(raw["unanswerable"])


def lexical_ranked(kb: LegalKb, questions: list[str]) -> list[Ranked]:
    """TF-IDF with keywords alone, the method before embeddings (scores on its own scale)."""
    out = []
    for question in questions:
        scores = kb.lexical_scores(question)
        order = np.argsort(-scores, kind="stable")[:3]
        out.append([(kb.entries[i], float(scores[i])) for i in order])
    return out


def split(decisions: list[Decision], expected: list[str], uncovered: list[Decision]) -> Split:
    counts: Counter[str] = Counter()
    for decision, want in zip(decisions, expected, strict=True):
        ids = [entry.id for entry in decision.entries]
        if decision.kind == "answer":
            counts["right" if ids[0] == want else "wrong"] += 1
        elif decision.kind == "choose":
            counts["choice_has_it" if want in ids else "choice_misses_it"] += 1
        else:
            counts["none"] += 1
    n, m = len(expected), max(len(uncovered), 1)
    kinds = Counter(d.kind for d in uncovered)
    shares = {k: counts[k] / n for k in ("right", "wrong", "choice_has_it", "choice_misses_it", "none")}
    return Split(**shares, uncovered_answered=kinds["answer"] / m, uncovered_choices=kinds["choose"] / m)


def top_k(ranked: list[Ranked], expected: list[str], k: int) -> float:
    return sum(want in [e.id for e, _ in r[:k]] for r, want in zip(ranked, expected, strict=True)) / len(expected)


def search(ranked: list[Ranked], expected: list[str], uncovered: list[Ranked]) -> list[tuple[float, float, Split]]:
    """Every (answer_at, close) of the grid, choices offered from answer_at - 0.1; best merit first."""
    results = []
    for answer_at in ANSWER_GRID:
        for close in CLOSE_GRID:

            def rule(r: Ranked, a: float = answer_at, c: float = close) -> Decision:
                return decide(r, a, c, a - 0.1)

            s = split([rule(r) for r in ranked], expected, [rule(r) for r in uncovered])
            results.append((answer_at, close, s))
    return sorted(results, key=lambda row: row[2].merit, reverse=True)


def _split_row(label: str, s: Split) -> tuple[str, ...]:
    values = (s.right, s.wrong, s.choice_has_it, s.choice_misses_it, s.none, s.uncovered_answered)
    return (label, *(f"{v:.2f}" for v in values))


SPLIT_HEAD = (
    "",
    "answered right",
    "answered wrong",
    "choices have it",
    "choices miss it",
    "none",
    "uncovered answered",
)


def held_out_report(kb: LegalKb) -> list[str]:
    paraphrases, unanswerable = held_out()
    texts, expected = [t for t, _ in paraphrases], [e for _, e in paraphrases]
    hybrid, hybrid_uncovered = kb.ranked_many(texts), kb.ranked_many(unanswerable)
    lexical = lexical_ranked(kb, texts)
    lines = [
        "## Held-out paraphrases (tests/legal/heldout.yml)",
        "",
        f"{len(kb.entries)} entries; {len(paraphrases)} paraphrases written by someone who saw the entries' answers"
        f" but not their questions; {len(unanswerable)} questions the base does not cover.",
        "",
        *table(
            ("ranking", "top-1", "top-3"),
            [
                (name, f"{top_k(r, expected, 1):.2f}", f"{top_k(r, expected, 3):.2f}")
                for name, r in (
                    ("TF-IDF char 1-3-grams + keywords (before)", lexical),
                    ("hybrid: TF-IDF + e5 questions + e5 answer (in use)", hybrid),
                )
            ],
        ),
        "",
        "Decision rule: answer when the best leads the next by `close` or more and scores `answer_at` or more;"
        " offer the close ones when the lead is smaller and the best scores `answer_at - 0.1` or more; else"
        " say so. Best ten of the grid by merit = right - 2 x wrong - uncovered answered:",
        "",
    ]
    rows = [
        _split_row(f"answer_at {a:.3f}, close {c:.2f}", s)
        for a, c, s in search(hybrid, expected, hybrid_uncovered)[:10]
    ]
    lines += table(("thresholds", *SPLIT_HEAD[1:]), rows)
    in_use = split(
        [decide(r) for r in hybrid], expected, [decide(r) for r in hybrid_uncovered]
    )  # the constants in legal_kb.py
    lines += [
        "",
        f"In use (answer_at {legal_kb.ANSWER_AT}, close {legal_kb.CLOSE}, choices_at {legal_kb.CHOICES_AT}):",
        "",
        *table(SPLIT_HEAD, [_split_row("held-out", in_use)]),
    ]
    return lines


def cites(entry: LegalEntry, item: dict) -> bool:
    """An answer is right when its entry cites one of the expected articles, or makes the expected referral.

    A fact file's section is named with or without its note in brackets (二、受理范围 or 二、受理范围（…）)."""
    if "referral" in item:
        return (entry.referral or "").lower() == str(item["referral"]).lower()
    cited = {(b.source, b.heading) for b in entry.basis}
    expected = (Basis("", e["source"], str(e["article"]), "") for e in item.get("expect") or ())
    return any((e.source, e.heading) in cited for e in expected)


def independent_report(kb: LegalKb, path: Path) -> list[str]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    decisions = [decide(r) for r in kb.ranked_many([item["text"] for item in items])]
    answerable = [(item, d) for item, d in zip(items, decisions, strict=True) if not item.get("none")]
    uncovered = [d for item, d in zip(items, decisions, strict=True) if item.get("none")]
    kinds = Counter(d.kind for _, d in answerable)
    right = sum(d.kind == "answer" and cites(d.entries[0], item) for item, d in answerable)
    in_choices = sum(d.kind == "choose" and any(cites(e, item) for e in d.entries) for item, d in answerable)
    n = len(answerable)
    rows = [
        ("answered directly, entry cites an expected article (or referral)", f"{right}", f"{right / n:.2f}"),
        ("answered directly, other entry", f"{kinds['answer'] - right}", f"{(kinds['answer'] - right) / n:.2f}"),
        ("offered a choice that has a right entry", f"{in_choices}", f"{in_choices / n:.2f}"),
        (
            "offered a choice without one",
            f"{kinds['choose'] - in_choices}",
            f"{(kinds['choose'] - in_choices) / n:.2f}",
        ),
        ("said not sure, person offered", f"{kinds['none']}", f"{kinds['none'] / n:.2f}"),
    ]
    none_kinds = Counter(d.kind for d in uncovered)
    return [
        f"## Independent questions ({path.relative_to(PROJECT_ROOT)}), scored once, never tuned on",
        "",
        f"{len(items)} questions written by someone who never saw the knowledge base, labelled by the articles an"
        f" answer should cite: {n} answerable (with articles or a referral), {len(uncovered)} that the texts do"
        " not answer.",
        "",
        *table(("answerable questions", "count", "share"), rows),
        "",
        *table(
            ("questions the texts do not answer", "count"),
            [(k, str(none_kinds[k])) for k in ("answer", "choose", "none")],
        ),
    ]


def report(kb: LegalKb, independent: list[Path] | None) -> str:
    """The held-out report, or with `independent` the independent sets' (their own file: scored rarely)."""
    if independent is None:
        sections = held_out_report(kb)
    else:
        sections = [line for path in independent for line in [*independent_report(kb, path), ""]]
    return "\n".join(["# Legal retrieval", "", *sections]).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="default: results/legal_retrieval.md or legal_independent.md")
    parser.add_argument(
        "--independent",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="score independent sets instead (rarely); no FILE: every tests/legal/independent_questions*.yml",
    )
    args = parser.parse_args(argv)
    independent = args.independent
    if independent == []:
        independent = sorted(INDEPENDENT_DIR.glob("independent_questions*.yml"))
    out = args.out or RESULTS_DIR / ("legal_independent.md" if independent is not None else "legal_retrieval.md")
    data = PROJECT_ROOT / "content"
    kb = load_kb(data / "legal", data / "legal_texts", None, load_settings().embedding_cache)
    text = report(kb, independent)
    write_report(out, text)
    print(text)


if __name__ == "__main__":
    main()
