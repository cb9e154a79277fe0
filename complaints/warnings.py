"""Graded warnings (分级预警): flag messages about danger to life, violence, hazards, crowds or the media."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REQUIRED = ("id", "label", "grade", "patterns")
CLAUSE_BREAK = re.compile(r"[，。！？；、,.!?;…\n]")


class WarningRulesError(ValueError):
    """data/warnings.yml is malformed."""


@dataclass(frozen=True)
class WarningHit:
    category: str
    label: str
    grade: int
    matched: str
    driver_notice: str = ""


@dataclass(frozen=True)
class Assessment:
    grade: int
    hits: tuple[WarningHit, ...]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(hit.category for hit in self.hits)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(hit.label for hit in self.hits)

    @property
    def driver_notices(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.driver_notice for hit in self.hits if hit.driver_notice))


@dataclass(frozen=True)
class WarningCategory:
    id: str
    label: str
    grade: int
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    negatable: bool = True
    driver_notice: str = ""

    def first_match(self, text: str, negation: re.Pattern[str] | None, window: int) -> str | None:
        """The first pattern match not covered by an exclude and, if negatable, not negated just before."""
        excluded = [m.span() for rx in self.exclude for m in rx.finditer(text)]
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                if any(start < match.end() and match.start() < end for start, end in excluded):
                    continue
                if self.negatable and negation is not None and _negated(text, match.start(), negation, window):
                    continue
                return match.group()
        return None


def _negated(text: str, start: int, negation: re.Pattern[str], window: int) -> bool:
    clause = CLAUSE_BREAK.split(text[max(0, start - window) : start])[-1]
    return negation.search(clause) is not None


@dataclass(frozen=True)
class WarningRules:
    categories: tuple[WarningCategory, ...]
    traditional: Mapping[int, str]
    negation: re.Pattern[str] | None = None
    negation_window: int = 4

    def normalise(self, text: str) -> str:
        """NFKC, lower case, traditional -> simplified, no whitespace: the form patterns are written for."""
        folded = unicodedata.normalize("NFKC", text).lower().translate(self.traditional)
        return "".join(folded.split())

    def assess(self, text: str) -> Assessment | None:
        """The warning for a driver's message, most severe grade first; None if nothing is flagged."""
        normal = self.normalise(text)
        hits = []
        for category in self.categories:
            matched = category.first_match(normal, self.negation, self.negation_window)
            if matched is not None:
                hits.append(WarningHit(category.id, category.label, category.grade, matched, category.driver_notice))
        if not hits:
            return None
        hits.sort(key=lambda hit: hit.grade)
        return Assessment(grade=hits[0].grade, hits=tuple(hits))


def _compile(pattern: object, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern))
    except re.error as error:
        raise WarningRulesError(f"{where}: bad regex {pattern!r}: {error}") from None


def _category(item: Any, where: str) -> WarningCategory:
    if not isinstance(item, dict):
        raise WarningRulesError(f"{where}: expected a mapping with {', '.join(REQUIRED)}")
    missing = [key for key in REQUIRED if item.get(key) in (None, "", [])]
    if missing:
        raise WarningRulesError(f"{where}: missing {', '.join(missing)}")
    grade = item["grade"]
    if isinstance(grade, bool) or grade not in (1, 2, 3):
        raise WarningRulesError(f"{where}: grade must be 1, 2 or 3, not {grade!r}")
    return WarningCategory(
        id=str(item["id"]),
        label=str(item["label"]),
        grade=int(grade),
        patterns=tuple(_compile(p, where) for p in item["patterns"]),
        exclude=tuple(_compile(p, where) for p in item.get("exclude") or ()),
        negatable=bool(item.get("negatable", True)),
        driver_notice=str(item.get("driver_notice") or ""),
    )


def _traditional(raw: Any, path: Path) -> dict[int, str]:
    table = raw or {}
    if not isinstance(table, dict) or any(len(str(key)) != 1 for key in table):
        raise WarningRulesError(f"{path}: traditional must map single characters to their simplified form")
    return str.maketrans({str(key): str(value) for key, value in table.items()})


def load_warnings(path: Path) -> WarningRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = raw.get("categories") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise WarningRulesError(f"{path}: expected a non-empty list under 'categories'")
    categories: list[WarningCategory] = []
    for index, item in enumerate(items):
        name = item.get("id") if isinstance(item, dict) else None
        category = _category(item, f"{path}: categories[{index}] ({name})")
        if any(seen.id == category.id for seen in categories):
            raise WarningRulesError(f"{path}: categories[{index}] ({name}): duplicate id")
        categories.append(category)
    negation = raw.get("negation")
    return WarningRules(
        categories=tuple(categories),
        traditional=_traditional(raw.get("traditional"), path),
        negation=_compile(negation, f"{path}: negation") if negation else None,
        negation_window=int(raw.get("negation_window", 4)),
    )
