"""Routing: which unit handles a case, from the staff-edited table in data/routing.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class RoutingTableError(ValueError):
    """data/routing.yml is malformed or breaks the rule of avoidance."""


@dataclass(frozen=True)
class Route:
    unit: str
    category: str
    about: str | None = None  # the unit the complaint is about, which must not handle it (回避)


@dataclass(frozen=True)
class RoutingRule:
    category: str
    kinds: frozenset[str]
    unit: str
    about: str | None
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class RoutingTable:
    units: tuple[str, ...]
    defaults: dict[str, str]
    rules: tuple[RoutingRule, ...]

    def route(self, kind: str, text: str) -> Route:
        """The first rule for `kind` whose keyword is in `text`, else the kind's default unit."""
        lowered = text.lower()
        for rule in self.rules:
            if kind in rule.kinds and any(word.lower() in lowered for word in rule.keywords):
                return Route(unit=rule.unit, category=rule.category, about=rule.about)
        return Route(unit=self.defaults[kind], category="其他")


def _parse_rule(raw: dict, index: int, units: set[str], path: Path) -> RoutingRule:
    where = f"{path}: rules[{index}]"
    missing = {"category", "kinds", "unit", "keywords"} - set(raw)
    if missing:
        raise RoutingTableError(f"{where}: missing {', '.join(sorted(missing))}")
    rule = RoutingRule(
        category=str(raw["category"]),
        kinds=frozenset(raw["kinds"]),
        unit=str(raw["unit"]),
        about=raw.get("about"),
        keywords=tuple(str(k) for k in raw["keywords"]),
    )
    for name in filter(None, (rule.unit, rule.about)):
        if name not in units:
            raise RoutingTableError(f"{where} ({rule.category}): unknown unit {name!r}")
    if rule.about is not None and rule.about == rule.unit:
        raise RoutingTableError(f"{where} ({rule.category}): rule of avoidance: {rule.unit} handles itself")
    return rule


def load_routing(path: Path) -> RoutingTable:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingTableError(f"{path}: {exc}") from exc
    units = tuple(raw.get("units") or ())
    defaults = dict(raw.get("defaults") or {})
    for kind, unit in defaults.items():
        if unit not in units:
            raise RoutingTableError(f"{path}: defaults.{kind}: unknown unit {unit!r}")
    rules = tuple(_parse_rule(r, i, set(units), path) for i, r in enumerate(raw.get("rules") or ()))
    return RoutingTable(units=units, defaults=defaults, rules=rules)
