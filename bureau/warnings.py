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
LEXICON_NAME = re.compile(r"[a-z_][a-z0-9_]*")
LEXICON_REF = re.compile(r"\{([a-z_][a-z0-9_]*)\}")  # {hit_verb}; regex counts such as {0,6} start with a digit
MAX_NESTING = 4
FRAMING_MODES = ("suppress", "keep_first_person", "ignore")
# plates, phone and ID numbers, and long digit runs are read as one opaque token, so a plate ending in
# 12345 followed by "我要投诉" never reads as "打12345投诉" and no pattern runs through a number
_IDENTIFIER = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]\s*[A-Za-z]\s*[·•.\-]?\s*[A-Za-z0-9]{4,6}"
    r"|(?:尾号|车牌号?|牌照|车号)\s*[:：]?\s*[A-Za-z0-9·•.\-]{3,8}"
    r"|[A-Za-z][·•.\-]?\d{3,}"
    r"|(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}"
    r"|\(?0\d{2,3}\)?[\s-]?\d{7,8}"
    r"|\d{17}[\dXx]"
    r"|\d{6,}"
)
IDENTIFIER_MARK = "▢"


class WarningRulesError(ValueError):
    """content/warnings.yml is malformed."""


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
class Framing:
    """A question about a rule or a report of someone else's past event (年检…会不会判, 新闻说…是真的假的) near a hit."""

    pattern: re.Pattern[str]
    first_person: re.Pattern[str] | None = None
    window: int = 12

    def covers(self, text: str, match: re.Match[str], mode: str) -> bool:
        around = text[max(0, match.start() - self.window) : match.end() + self.window]
        if mode == "ignore" or self.pattern.search(around) is None:
            return False
        return not (mode == "keep_first_person" and self.first_person and self.first_person.search(around))


@dataclass(frozen=True)
class WarningCategory:
    id: str
    label: str
    grade: int
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    negatable: bool = True
    driver_notice: str = ""
    framing: str = "suppress"

    def first_match(
        self, text: str, negation: re.Pattern[str] | None, window: int, framing: Framing | None = None
    ) -> str | None:
        """The first pattern match not covered by an exclude, not negated just before (if negatable) nor framed."""
        excluded = [m.span() for rx in self.exclude for m in rx.finditer(text)]
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                if any(start < match.end() and match.start() < end for start, end in excluded):
                    continue
                if self.negatable and negation is not None and _negated(text, match.start(), negation, window):
                    continue
                if framing is not None and framing.covers(text, match, self.framing):
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
    framing: Framing | None = None

    def normalise(self, text: str) -> str:
        """NFKC, identifiers masked, lower case, traditional -> simplified, no whitespace: the form patterns
        are written for (one message at a time: nothing joins two messages)."""
        folded = _IDENTIFIER.sub(IDENTIFIER_MARK, unicodedata.normalize("NFKC", text))
        folded = folded.lower().translate(self.traditional)
        return "".join(folded.split())

    def assess(self, text: str) -> Assessment | None:
        """The warning for a driver's message, most severe grade first; None if nothing is flagged."""
        normal = self.normalise(text)
        hits = []
        for category in self.categories:
            matched = category.first_match(normal, self.negation, self.negation_window, self.framing)
            if matched is not None:
                hits.append(WarningHit(category.id, category.label, category.grade, matched, category.driver_notice))
        if not hits:
            return None
        hits.sort(key=lambda hit: hit.grade)
        return Assessment(grade=hits[0].grade, hits=tuple(hits))


def _expand(pattern: str, lexicons: Mapping[str, list[str]], where: str, depth: int = 0) -> str:
    """Replace each {name} by a non-capturing group of that lexicon's words (lexicons may use lexicons)."""

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in lexicons:
            raise WarningRulesError(f"{where}: unknown lexicon {{{name}}} in {pattern!r}")
        if depth >= MAX_NESTING:
            raise WarningRulesError(f"{where}: lexicon {{{name}}} nests deeper than {MAX_NESTING} (a cycle?)")
        words = sorted(lexicons[name], key=len, reverse=True)  # longest first: the hit shows the whole word
        return "(?:" + "|".join(_expand(word, lexicons, where, depth + 1) for word in words) + ")"

    return LEXICON_REF.sub(group, pattern)


def _compile(pattern: object, where: str, lexicons: Mapping[str, list[str]] | None = None) -> re.Pattern[str]:
    text = _expand(str(pattern), lexicons or {}, where)
    try:
        return re.compile(text)
    except re.error as error:
        raise WarningRulesError(f"{where}: bad regex {pattern!r}: {error}") from None


def _lexicons(raw: Any, path: Path) -> dict[str, list[str]]:
    table = raw or {}
    if not isinstance(table, dict):
        raise WarningRulesError(f"{path}: lexicons must map a name to a list of words")
    lexicons: dict[str, list[str]] = {}
    for name, words in table.items():
        where = f"{path}: lexicons.{name}"
        if not isinstance(name, str) or not LEXICON_NAME.fullmatch(name):
            raise WarningRulesError(f"{where}: a lexicon name is lower-case letters, digits and _")
        if not isinstance(words, list) or not words or any(not isinstance(w, str | int) or w == "" for w in words):
            raise WarningRulesError(f"{where}: expected a non-empty list of words")
        lexicons[name] = [str(word) for word in words]
    for name in lexicons:  # each lexicon alone must expand and compile, so an error names it
        _compile(f"{{{name}}}", f"{path}: lexicons.{name}", lexicons)
    return lexicons


def _category(item: Any, where: str, lexicons: Mapping[str, list[str]]) -> WarningCategory:
    if not isinstance(item, dict):
        raise WarningRulesError(f"{where}: expected a mapping with {', '.join(REQUIRED)}")
    missing = [key for key in REQUIRED if item.get(key) in (None, "", [])]
    if missing:
        raise WarningRulesError(f"{where}: missing {', '.join(missing)}")
    grade = item["grade"]
    if isinstance(grade, bool) or grade not in (1, 2, 3):
        raise WarningRulesError(f"{where}: grade must be 1, 2 or 3, not {grade!r}")
    framing = str(item.get("framing") or "suppress")
    if framing not in FRAMING_MODES:
        raise WarningRulesError(f"{where}: framing must be one of {', '.join(FRAMING_MODES)}, not {framing!r}")
    return WarningCategory(
        id=str(item["id"]),
        label=str(item["label"]),
        grade=int(grade),
        patterns=tuple(_compile(p, where, lexicons) for p in item["patterns"]),
        exclude=tuple(_compile(p, where, lexicons) for p in item.get("exclude") or ()),
        negatable=bool(item.get("negatable", True)),
        driver_notice=str(item.get("driver_notice") or ""),
        framing=framing,
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
    lexicons = _lexicons(raw.get("lexicons"), path)
    categories: list[WarningCategory] = []
    for index, item in enumerate(items):
        name = item.get("id") if isinstance(item, dict) else None
        category = _category(item, f"{path}: categories[{index}] ({name})", lexicons)
        if any(seen.id == category.id for seen in categories):
            raise WarningRulesError(f"{path}: categories[{index}] ({name}): duplicate id")
        categories.append(category)
    negation, framing, first_person = raw.get("negation"), raw.get("framing"), raw.get("first_person")
    person = _compile(first_person, f"{path}: first_person", lexicons) if first_person else None
    window = int(raw.get("framing_window", 12))
    return WarningRules(
        categories=tuple(categories),
        traditional=_traditional(raw.get("traditional"), path),
        negation=_compile(negation, f"{path}: negation", lexicons) if negation else None,
        negation_window=int(raw.get("negation_window", 4)),
        framing=Framing(_compile(framing, f"{path}: framing", lexicons), person, window) if framing else None,
    )
