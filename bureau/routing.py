"""Routing: which unit handles a case, by meaning, from the staff-edited table in content/routing.yml.

Unmistakable keywords override; otherwise the case goes to the category whose examples are closest in
meaning (sentence embeddings); too far from all of them, to the kind's default unit. Avoidance (回避): a
complaint that names a unit is never handled by that unit. Traffic-police matters carry a referral (122).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bureau.semantic import SemanticIndex

OTHER = "其他"


class RoutingTableError(ValueError):
    """content/routing.yml is malformed or breaks the rule of avoidance."""


@dataclass(frozen=True)
class Route:
    unit: str
    category: str
    about: str | None = None  # the unit the complaint is about, which must not handle it (回避)
    referral: str | None = None  # not ours: a key of content/referrals.yml (e.g. "122")


@dataclass(frozen=True)
class Unit:
    name: str
    aliases: tuple[str, ...]
    oversight: str  # who handles complaints about this unit


@dataclass(frozen=True)
class Category:
    category: str
    kinds: frozenset[str]
    unit: str | None
    about: str | None
    referral: str | None
    override: tuple[str, ...]
    examples: tuple[str, ...]

    def override_hit(self, text: str) -> bool:
        lowered = text.lower()
        return any(word.lower() in lowered for word in self.override)


class RoutingTable:
    def __init__(
        self,
        units: tuple[Unit, ...],
        defaults: dict[str, str],
        categories: tuple[Category, ...],
        min_similarity: float,
        embedding_cache: Path | None = None,
    ) -> None:
        self.unit_info = {u.name: u for u in units}
        self.units = tuple(self.unit_info)
        self.defaults = defaults
        self.categories = categories
        self.min_similarity = min_similarity
        self._owners = np.array([i for i, c in enumerate(categories) for _ in c.examples])
        self._examples = SemanticIndex(tuple(e for c in categories for e in c.examples), embedding_cache)

    def embed_examples(self) -> None:
        """Embed the categories' examples now (or read them from the cache) instead of at first use."""
        self._examples.vectors()

    def route(self, kind: str, text: str) -> Route:
        """The unit for a case of `kind` described by `text` (avoidance already applied to complaints)."""
        chosen = self._by_keyword(kind, text) or self._by_meaning(kind, text)
        if chosen is not None and chosen.referral and not chosen.override_hit(text) and self.named_units(text):
            chosen = self._by_meaning(kind, text, ours_only=True)  # it names one of our units: it is ours
        if chosen is None:
            route = Route(unit=self.defaults[kind], category=OTHER)
        elif chosen.referral:
            return Route(unit=self.defaults[kind], category=chosen.category, referral=chosen.referral)
        else:
            route = Route(unit=chosen.unit or self.defaults[kind], category=chosen.category, about=chosen.about)
        return self._avoid(route, text) if kind == "complaint" else route

    def named_units(self, text: str) -> list[str]:
        """Units the text names, in table order."""
        lowered = text.lower()
        return [u.name for u in self.unit_info.values() if any(a.lower() in lowered for a in (u.name, *u.aliases))]

    def _by_keyword(self, kind: str, text: str) -> Category | None:
        lowered = text.lower()
        return next((c for c in self.categories if kind in c.kinds and c.override_hit(lowered)), None)

    def _by_meaning(self, kind: str, text: str, ours_only: bool = False) -> Category | None:
        if not text.strip() or not self.categories:
            return None
        similarities = self._examples.similarities(text)
        best = np.full(len(self.categories), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, similarities)
        allowed = [i for i, c in enumerate(self.categories) if kind in c.kinds and not (ours_only and c.referral)]
        if not allowed:
            return None
        top = max(allowed, key=lambda i: best[i])
        return self.categories[top] if best[top] >= self.min_similarity else None

    def _avoid(self, route: Route, text: str) -> Route:
        """No unit handles a complaint that names it: its oversight unit does (and so on, if named too)."""
        named = self.named_units(text)
        if not named:
            return route
        about = route.about if route.about in named else named[0]
        unit, seen = route.unit, {route.unit}
        while unit in named or unit == about:
            unit = self.unit_info[unit].oversight or self.defaults["complaint"]
            if unit in seen:  # every unit in the chain is named: the office decides by hand
                unit = self.defaults["complaint"]
                break
            seen.add(unit)
        return Route(unit=unit, category=route.category, about=about)


def _units(raw: list[Any], path: Path) -> tuple[Unit, ...]:
    units = []
    for index, item in enumerate(raw):
        if isinstance(item, str):  # the old form: a bare name
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            raise RoutingTableError(f"{path}: units[{index}]: needs a name")
        units.append(
            Unit(str(item["name"]), tuple(map(str, item.get("aliases") or ())), str(item.get("oversight") or ""))
        )
    names = {u.name for u in units}
    for index, unit in enumerate(units):
        if unit.oversight and unit.oversight not in names:
            raise RoutingTableError(f"{path}: units[{index}] ({unit.name}): unknown oversight unit {unit.oversight!r}")
        if unit.oversight == unit.name:
            raise RoutingTableError(f"{path}: units[{index}] ({unit.name}): rule of avoidance: oversees itself")
    return tuple(units)


def _category(raw: dict[str, Any], index: int, units: set[str], referrals: set[str] | None, path: Path) -> Category:
    where = f"{path}: categories[{index}]"
    missing = {"category", "kinds", "examples"} - set(raw)
    if missing:
        raise RoutingTableError(f"{where}: missing {', '.join(sorted(missing))}")
    category = Category(
        category=str(raw["category"]),
        kinds=frozenset(raw["kinds"]),
        unit=str(raw["unit"]) if raw.get("unit") else None,
        about=raw.get("about"),
        referral=str(raw["referral"]) if raw.get("referral") else None,
        override=tuple(str(k) for k in raw.get("override") or ()),
        examples=tuple(str(e) for e in raw["examples"]),
    )
    where = f"{where} ({category.category})"
    if (category.unit is None) == (category.referral is None):
        raise RoutingTableError(f"{where}: give either a unit or a referral")
    for name in filter(None, (category.unit, category.about)):
        if name not in units:
            raise RoutingTableError(f"{where}: unknown unit {name!r}")
    if category.about is not None and category.about == category.unit:
        raise RoutingTableError(f"{where}: rule of avoidance: {category.unit} handles itself")
    if category.referral and referrals is not None and category.referral.lower() not in referrals:
        raise RoutingTableError(f"{where}: unknown referral {category.referral!r}")
    if not category.examples:
        raise RoutingTableError(f"{where}: needs examples")
    return category


def load_routing(path: Path, embedding_cache: Path | None = None, referrals: set[str] | None = None) -> RoutingTable:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingTableError(f"{path}: {exc}") from exc
    units = _units(raw.get("units") or [], path)
    names = {u.name for u in units}
    defaults = dict(raw.get("defaults") or {})
    for kind, unit in defaults.items():
        if unit not in names:
            raise RoutingTableError(f"{path}: defaults.{kind}: unknown unit {unit!r}")
    categories = tuple(_category(c, i, names, referrals, path) for i, c in enumerate(raw.get("categories") or ()))
    return RoutingTable(units, defaults, categories, float(raw.get("min_similarity", 0.8)), embedding_cache)
