"""Routing accuracy per unit (bureau/routing.py) on a labelled set: the right unit, or the right referral.

    .venv/bin/python -m benchmarks.routing [--set dev|independent] [--out benchmarks/results/routing.md]

tests/routing/dev_routing.yml is for tuning; tests/routing/independent_routing.yml is only measured.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import yaml

from benchmarks.common import table, write_report
from bureau.routing import RoutingTable, load_routing
from foundation.settings import PROJECT_ROOT, load_settings

SETS = {
    "dev": PROJECT_ROOT / "tests" / "routing" / "dev_routing.yml",
    "independent": PROJECT_ROOT / "tests" / "routing" / "independent_routing.yml",
}


def expected(item: dict) -> str:
    return f"转{item['referral']}" if item.get("referral") else str(item["unit"])


def got(table_: RoutingTable, item: dict) -> str:
    route = table_.route(item["kind"], item["text"])
    return f"转{route.referral}" if route.referral else route.unit


def accuracy_table(table_: RoutingTable, items: list[dict]) -> tuple[list[str], float, list[tuple[str, str, str]]]:
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    misses = []
    for item in items:
        want, answer = expected(item), got(table_, item)
        totals[want] += 1
        right[want] += want == answer
        if want != answer:
            misses.append((item["text"], want, answer))
    rows = [(unit, str(n), str(right[unit]), f"{right[unit] / n:.2f}") for unit, n in totals.most_common()]
    overall = sum(right.values()) / max(len(items), 1)
    rows.append(("**all**", str(len(items)), str(sum(right.values())), f"**{overall:.2f}**"))
    return table(("expected unit / referral", "messages", "right", "accuracy"), rows), overall, misses


def report(table_: RoutingTable, name: str, show_misses: bool) -> str:
    items = yaml.safe_load(SETS[name].read_text(encoding="utf-8"))["messages"]
    lines, _overall, misses = accuracy_table(table_, items)
    out = [f"## {SETS[name].relative_to(PROJECT_ROOT)} ({len(items)} messages)", "", *lines]
    if show_misses:
        out += ["", *table(("message", "expected", "routed to"), misses)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="dev")
    parser.add_argument("--misses", action="store_true", help="list the misses (only for the dev set)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings()
    table_ = load_routing(settings.content_dir / "routing.yml", settings.embedding_cache)
    text = report(table_, args.set, args.misses and args.set == "dev")
    if args.out:
        write_report(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
