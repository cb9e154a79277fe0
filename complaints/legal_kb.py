"""The legal knowledge base (data/legal/*.yml): entries that answer drivers' questions, each resting on
articles quoted word for word from the legal texts (data/legal_texts/), checked when the bot starts."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

import yaml

REQUIRED = ("id", "topic", "questions", "answer", "basis", "effective", "next_steps")
BASIS_REQUIRED = ("law", "source", "article", "quote")
MIN_QUESTIONS = 3
UNHEADED = "原文"  # a quoted passage of a fact file that has no article headings
DISCLAIMER = "以上为一般性法律信息，不代替对您个案的处理意见；需要针对您的情况咨询，可以回复“人工”。"
_PUNCTUATION = set("，。？！?!,.、：:；;“”\"'（）() 　\t\n")
# function words carry no topic; dropping them keeps "怎么样" from matching every question that has it
_FUNCTION_CHARS = set("的了吗呢啊吧呀嘛哦我你是在有个么怎什能可以要会就还都也这那啥咋")


class LegalDataError(ValueError):
    """A knowledge-base file is malformed or cites what the legal texts do not say."""


@dataclass(frozen=True)
class Basis:
    law: str
    source: str
    article: str
    quote: str


@dataclass(frozen=True)
class LegalEntry:
    id: str
    topic: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    basis: tuple[Basis, ...]
    effective: str
    next_steps: str
    referral: str | None = None
    to_complete: str | None = None

    @property
    def code(self) -> str:
        """A short stable key for button payloads (Telegram allows 64 bytes of callback data)."""
        return hashlib.sha1(self.id.encode()).hexdigest()[:8]

    def render(self, referral_channel: str | None = None) -> str:
        """The reasoned answer: the rule, its basis quoted, what the driver may do, and the caveat."""
        lines = [escape(self.answer)]
        for basis in self.basis:
            article = "" if basis.article == UNHEADED else escape(basis.article)
            lines.append(f"依据：《{escape(basis.law)}》{article}（{escape(self.effective)}起施行）：")
            lines.append(f"<blockquote>{escape(basis.quote)}</blockquote>")
        if referral_channel:
            lines.append(f"这类事项请找：{escape(referral_channel)}。")
        lines.append(f"您可以：{escape(self.next_steps)}")
        lines.append(DISCLAIMER)
        return "\n".join(lines)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text)


class LegalTexts:
    """The law files the knowledge base may quote."""

    def __init__(self, folder: Path) -> None:
        self._texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}
        self._flat = {name: _normalise(text) for name, text in self._texts.items()}

    def problem(self, basis: Basis) -> str | None:
        """Why `basis` is not in the texts, or None when it is."""
        if basis.source not in self._texts:
            return f"source {basis.source!r} is not one of the legal texts"
        if basis.article != UNHEADED and not re.search(
            rf"^\s*{re.escape(basis.article)}(?=[\s　])", self._texts[basis.source], re.MULTILINE
        ):
            return f"{basis.article} is not an article of {basis.source}"
        if _normalise(basis.quote) not in self._flat[basis.source]:
            return f"the quote is not word for word in {basis.source}: {basis.quote[:30]}…"
        return None


def _grams(text: str) -> Counter[str]:
    chars = [c for c in text.lower() if c not in _PUNCTUATION and c not in _FUNCTION_CHARS]
    grams: Counter[str] = Counter(chars)
    grams.update("".join(chars[i : i + 2]) for i in range(len(chars) - 1))
    grams.update("".join(chars[i : i + 3]) for i in range(len(chars) - 2))
    return grams


# Set on the held-out phrasings (tests/legal/heldout.yml, benchmarks/results/legal_retrieval.md): answer at
# once only when the best entry is clearly ahead; offer the best three when it is close; else say so.
ANSWER_AT = 0.60
MARGIN = 0.12
CHOICES_AT = 0.30


@dataclass(frozen=True)
class Decision:
    """'answer' (one entry), 'choose' (up to three for the driver to pick) or 'none' (say so honestly)."""

    kind: str
    entries: tuple[LegalEntry, ...] = ()


@dataclass(frozen=True)
class LegalKb:
    entries: tuple[LegalEntry, ...]

    def __post_init__(self) -> None:
        documents = [_grams(q) for e in self.entries for q in e.questions]
        df: Counter[str] = Counter(g for d in documents for g in d)
        total = max(len(documents), 1)
        object.__setattr__(self, "_idf", {g: math.log((1 + total) / (1 + n)) + 1 for g, n in df.items()})
        vectors = [tuple(self._vector(q) for q in e.questions) for e in self.entries]
        object.__setattr__(self, "_vectors", vectors)

    def _vector(self, text: str) -> dict[str, float]:
        idf: dict[str, float] = self._idf  # type: ignore[attr-defined]
        weights = {g: (1 + math.log(n)) * idf.get(g, 0.0) for g, n in _grams(text).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def ranked(self, question: str, limit: int = 3) -> list[tuple[LegalEntry, float]]:
        """Entries by how well one of their questions (TF-IDF over character 1-3-grams) and keywords match."""
        asked = self._vector(question)
        scored = []
        for entry, vectors in zip(self.entries, self._vectors, strict=True):  # type: ignore[attr-defined]
            similarity = max(sum(w * v.get(g, 0.0) for g, w in asked.items()) for v in vectors)
            hits = sum(1 for word in entry.keywords if word in question)
            scored.append((entry, similarity + 0.08 * min(hits, 2)))
        return sorted(scored, key=lambda pair: pair[1], reverse=True)[:limit]

    def decide(self, question: str) -> Decision:
        ranked = self.ranked(question, 3)
        if not ranked or ranked[0][1] < CHOICES_AT:
            return Decision("none")
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if ranked[0][1] >= ANSWER_AT and ranked[0][1] - runner_up >= MARGIN:
            return Decision("answer", (ranked[0][0],))
        return Decision("choose", tuple(entry for entry, score in ranked if score >= CHOICES_AT))

    def by_code(self, code: str) -> LegalEntry | None:
        return next((entry for entry in self.entries if entry.code == code), None)


def _entry(raw: dict, where: str, texts: LegalTexts) -> LegalEntry:
    missing = [key for key in REQUIRED if not raw.get(key)]
    if missing:
        raise LegalDataError(f"{where}: missing {', '.join(missing)}")
    questions = tuple(str(q).strip() for q in raw["questions"])
    if len(questions) < MIN_QUESTIONS:
        raise LegalDataError(f"{where}: needs at least {MIN_QUESTIONS} questions")
    basis = []
    for index, item in enumerate(raw["basis"]):
        absent = [key for key in BASIS_REQUIRED if not (item or {}).get(key)]
        if absent:
            raise LegalDataError(f"{where}: basis[{index}]: missing {', '.join(absent)}")
        cited = Basis(*(str(item[key]).strip() for key in BASIS_REQUIRED))
        if problem := texts.problem(cited):
            raise LegalDataError(f"{where}: basis[{index}]: {problem}")
        basis.append(cited)
    return LegalEntry(
        id=str(raw["id"]),
        topic=str(raw["topic"]),
        questions=questions,
        keywords=tuple(map(str, raw.get("keywords") or ())),
        answer=str(raw["answer"]).strip(),
        basis=tuple(basis),
        effective=str(raw["effective"]),
        next_steps=str(raw["next_steps"]).strip(),
        referral=str(raw["referral"]) if raw.get("referral") else None,
        to_complete=str(raw["to_complete"]).strip() if raw.get("to_complete") else None,
    )


def load_kb(folder: Path, texts_folder: Path, referral_keys: set[str] | None = None) -> LegalKb:
    """Every entry of every file in `folder`, checked against the legal texts; errors name file and entry."""
    texts = LegalTexts(texts_folder)
    entries: list[LegalEntry] = []
    seen_ids: dict[str, str] = {}
    seen_questions: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise LegalDataError(f"{path}: {exc}") from exc
        for index, item in enumerate(raw.get("entries") or []):
            where = f"{path}: entries[{index}] ({(item or {}).get('id')})"
            entry = _entry(item or {}, where, texts)
            if entry.id in seen_ids:
                raise LegalDataError(f"{where}: duplicate id, also in {seen_ids[entry.id]}")
            if entry.referral and referral_keys is not None and entry.referral.lower() not in referral_keys:
                raise LegalDataError(f"{where}: unknown referral {entry.referral!r}")
            for question in entry.questions:
                key = _normalise(question).rstrip("？?")
                if key in seen_questions:
                    raise LegalDataError(f"{where}: duplicate question {question!r}, also in {seen_questions[key]}")
                seen_questions[key] = entry.id
            seen_ids[entry.id] = path.name
            entries.append(entry)
    if not entries:
        raise LegalDataError(f"{folder}: no entries")
    return LegalKb(tuple(entries))
