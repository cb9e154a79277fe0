"""The legal knowledge base (content/legal/*.yml): entries that answer drivers' questions, each resting on
articles quoted word for word from the legal texts (content/legal_texts/), checked when the bot starts."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bureau import legal_classifier
from bureau.semantic import SemanticIndex
from foundation.embedding import Vectors, embed, embed_cached

REQUIRED = ("id", "topic", "questions", "answer", "basis", "effective", "next_steps")
BASIS_REQUIRED = ("law", "source", "article", "quote")
MIN_QUESTIONS = 3
# a fact file's passages are cited by the heading of their section (`## 二、受理范围（…）`); the driver sees the
# heading without its trailing note in brackets
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.MULTILINE)
_HEADING_NOTE = re.compile(r"（[^（）]*）$")
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

    @property
    def heading(self) -> str:
        """The article (第三条) or section heading as a driver sees it: without a section's note in brackets."""
        return _HEADING_NOTE.sub("", self.article)


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
    requires: tuple[str, ...] = ()  # words one of which the question must contain for the entry to score fully

    @property
    def code(self) -> str:
        """A short stable key for button payloads (Telegram allows 64 bytes of callback data)."""
        return hashlib.sha1(self.id.encode()).hexdigest()[:8]

    def render(self, referral_channel: str | None = None) -> str:
        """The reasoned answer: the rule, its basis quoted, what the driver may do, and the caveat."""
        # the question answered, in the entry's own words: a driver whose question the base only comes near sees
        # at once that this answers a neighbouring one
        lines = [f"关于“{escape(self.questions[0])}”：", escape(self.answer)]
        cited = self.basis[0].source if self.basis else None  # `effective` is the date of the rule cited first
        for basis in self.basis:
            article = escape(basis.heading)
            dated = f"（{escape(self.effective)}起施行）" if basis.source == cited else ""
            lines.append(f"依据：《{escape(basis.law)}》{article}{dated}：")
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
        self._sections = {name: _sections(text) for name, text in self._texts.items()}

    def problem(self, basis: Basis) -> str | None:
        """Why `basis` is not in the texts, or None when it is.

        `article` is an article that starts a line (第三条) and the quote is anywhere in the file, or the
        heading of a section (a fact file's 二、受理范围（…）) and the quote is inside that section."""
        if basis.source not in self._texts:
            return f"source {basis.source!r} is not one of the legal texts"
        quote = _normalise(basis.quote)
        if basis.article in self._sections[basis.source]:
            if quote not in self._sections[basis.source][basis.article]:
                return (
                    f"the quote is not word for word in section {basis.article} of {basis.source}: {basis.quote[:30]}…"
                )
            return None
        if not re.search(rf"^\s*{re.escape(basis.article)}(?=[\s　])", self._texts[basis.source], re.MULTILINE):
            return f"{basis.article} is neither an article nor a section heading of {basis.source}"
        if quote not in self._flat[basis.source]:
            return f"the quote is not word for word in {basis.source}: {basis.quote[:30]}…"
        return None


def _sections(text: str) -> dict[str, str]:
    """Each heading's section (normalised), up to the next heading of the same or a higher level."""
    headings = list(_HEADING.finditer(text))
    sections = {}
    for index, heading in enumerate(headings):
        level = len(heading.group(1))
        end = next((h.start() for h in headings[index + 1 :] if len(h.group(1)) <= level), len(text))
        sections[heading.group(2)] = _normalise(text[heading.end() : end])
    return sections


def _grams(text: str) -> Counter[str]:
    chars = [c for c in text.lower() if c not in _PUNCTUATION and c not in _FUNCTION_CHARS]
    grams: Counter[str] = Counter(chars)
    grams.update("".join(chars[i : i + 2]) for i in range(len(chars) - 1))
    grams.update("".join(chars[i : i + 3]) for i in range(len(chars) - 2))
    return grams


# Set on the held-out phrasings only (tests/legal/heldout.yml; benchmarks/legal_retrieval.py searches them and
# benchmarks/results/legal_retrieval.md shows the grid): the score mixes meaning (e5 embeddings of the entry's
# questions and of its answer) with the characters shared (TF-IDF); meaning weighs more because drivers word
# the same question in many ways. Embedding cosines of related Chinese texts sit between 0.8 and 1.0, so they
# are stretched to that range before mixing. An entry's likeness to the question is the mean over its
# NEIGHBOURS most similar questions: with a dozen phrasings or more per entry, one stray phrasing of a
# neighbouring entry no longer wins alone (held-out top-1 0.85 -> 0.89).
LEXICAL_WEIGHT = 0.2
QUESTION_WEIGHT = 0.7
ANSWER_WEIGHT = 0.2
COSINE_FLOOR = 0.8
NEIGHBOURS = 2
# answer at once when the best entry scores at least ANSWER_AT and leads the next by CLOSE or more (the best of
# the grid by right - 2 x wrong - uncovered answered); when the
# next is closer than CLOSE and the best is at least CHOICES_AT, the close ones are offered; else say so.
ANSWER_AT = 0.65
CLOSE = 0.04
CHOICES_AT = 0.55
# the entry classifier's probability (bureau/legal_classifier.py) is added with this weight: it separates
# neighbouring entries that the nearest phrasings leave within a hair of each other (held-out top-1 0.92 ->
# 0.95, answered right 0.81 -> 0.88 with close 0.04, the grid's best by merit)
CLASSIFIER_WEIGHT = 0.2
# an entry with `requires` words (the traffic police's twin of one of our entries: 交警罚款怎么交 beside 罚款怎么交)
# loses this much when the question has none of them, so "罚款15天内不交会怎样", asked of a transport bureau, gets
# our rule, and the police entry at most joins a choice
MISSING_REQUIRED = 0.1


def _stretch(cosines: np.ndarray) -> np.ndarray:
    return (cosines - COSINE_FLOOR) / (1 - COSINE_FLOOR)


def _nearest_mean(per_question: np.ndarray, starts: np.ndarray, neighbours: int) -> np.ndarray:
    """Per entry (its questions start at `starts`): the mean of its `neighbours` highest similarities."""
    segments = np.split(per_question, starts[1:])
    return np.array([np.sort(segment)[-neighbours:].mean() for segment in segments], dtype=np.float32)


@dataclass(frozen=True)
class Decision:
    """'answer' (one entry), 'choose' (up to three for the driver to pick) or 'none' (say so honestly)."""

    kind: str
    entries: tuple[LegalEntry, ...] = ()


@dataclass(frozen=True)
class LegalKb:
    entries: tuple[LegalEntry, ...]
    embedding_cache: Path | None = None
    _classifier: legal_classifier.EntryClassifier | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        documents = [_grams(q) for e in self.entries for q in e.questions]
        df: Counter[str] = Counter(g for d in documents for g in d)
        total = max(len(documents), 1)
        object.__setattr__(self, "_idf", {g: math.log((1 + total) / (1 + n)) + 1 for g, n in df.items()})
        vectors = [tuple(self._vector(q) for q in e.questions) for e in self.entries]
        object.__setattr__(self, "_vectors", vectors)
        questions = tuple(q for e in self.entries for q in e.questions)
        sizes = [len(e.questions) for e in self.entries]
        object.__setattr__(self, "_starts", np.cumsum([0, *sizes[:-1]]))
        object.__setattr__(self, "_questions", SemanticIndex(questions, self.embedding_cache))
        answers = tuple(f"{e.topic}：{e.answer}" for e in self.entries)
        object.__setattr__(self, "_answers", SemanticIndex(answers, self.embedding_cache, prefix="passage"))

    def _entry_classifier(self) -> legal_classifier.EntryClassifier:
        """The entry classifier, fitted (or read from the cache) at first use."""
        if self._classifier is None:
            questions = list(self._questions.texts)  # type: ignore[attr-defined]
            labels = [i for i, entry in enumerate(self.entries) for _ in entry.questions]
            vectors = self._questions.vectors()  # type: ignore[attr-defined]
            fitted = legal_classifier.fit_cached(questions, labels, vectors, self.embedding_cache)
            object.__setattr__(self, "_classifier", fitted)
            return fitted
        return self._classifier

    def _entry_probabilities(self, question: str, asked: Vectors) -> np.ndarray:
        """The entry classifier's probability of each entry (none to tell apart with fewer than two entries)."""
        if len(self.entries) < 2:
            return np.zeros(len(self.entries))
        probabilities: np.ndarray = self._entry_classifier().probabilities([question], asked.reshape(1, -1))[0]
        return probabilities

    def _vector(self, text: str) -> dict[str, float]:
        idf: dict[str, float] = self._idf  # type: ignore[attr-defined]
        weights = {g: (1 + math.log(n)) * idf.get(g, 0.0) for g, n in _grams(text).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def lexical_scores(self, question: str) -> np.ndarray:
        """Per entry: the best TF-IDF cosine (character 1-3-grams) over its questions, plus keyword hits."""
        asked = self._vector(question)
        scores = []
        for entry, vectors in zip(self.entries, self._vectors, strict=True):  # type: ignore[attr-defined]
            similarity = max(sum(w * v.get(g, 0.0) for g, w in asked.items()) for v in vectors)
            hits = sum(1 for word in entry.keywords if word in question)
            scores.append(similarity + 0.08 * min(hits, 2))
        return np.array(scores)

    def semantic_scores(self, asked: Vectors) -> tuple[np.ndarray, np.ndarray]:
        """Per entry: the mean cosine of its nearest questions, and the cosine to its answer (`asked` is embedded)."""
        per_question = self._questions.similarities(asked)  # type: ignore[attr-defined]
        nearest = _nearest_mean(per_question, self._starts, NEIGHBOURS)  # type: ignore[attr-defined]
        return nearest, self._answers.similarities(asked)  # type: ignore[attr-defined]

    def scores(self, question: str, asked: Vectors | None = None) -> np.ndarray:
        """The mixed score of every entry; `asked` is the question's embedding when the caller has it."""
        vector = embed([question])[0] if asked is None else asked
        by_question, by_answer = self.semantic_scores(vector)
        return (
            LEXICAL_WEIGHT * self.lexical_scores(question)
            + QUESTION_WEIGHT * _stretch(by_question)
            + ANSWER_WEIGHT * _stretch(by_answer)
            + CLASSIFIER_WEIGHT * self._entry_probabilities(question, vector)
            - MISSING_REQUIRED * self._missing_required(question)
        )

    def _missing_required(self, question: str) -> np.ndarray:
        """1 for each entry whose `requires` words are all absent from the question, else 0."""
        lowered = question.lower()
        return np.array(
            [bool(e.requires) and not any(w.lower() in lowered for w in e.requires) for e in self.entries],
            dtype=np.float32,
        )

    def ranked(self, question: str, limit: int = 3, asked: Vectors | None = None) -> list[tuple[LegalEntry, float]]:
        """Entries by the mixed score, best first."""
        if not question.strip():
            return []
        scores = self.scores(question, asked)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [(self.entries[i], float(scores[i])) for i in order]

    def ranked_many(self, questions: list[str], limit: int = 3) -> list[list[tuple[LegalEntry, float]]]:
        """`ranked` for a fixed list (benchmarks, tests): the list's embeddings are cached like the entries'."""
        vectors = embed_cached(questions, self.embedding_cache)
        return [self.ranked(q, limit, v) for q, v in zip(questions, vectors, strict=True)]

    def decide(self, question: str) -> Decision:
        return decide(self.ranked(question, 3))

    def embed_entries(self) -> None:
        """Embed the entries' questions and answers and fit the entry classifier now (or read them from the cache)."""
        self._questions.vectors()  # type: ignore[attr-defined]
        self._answers.vectors()  # type: ignore[attr-defined]
        if len(self.entries) >= 2:
            self._entry_classifier()

    def by_code(self, code: str) -> LegalEntry | None:
        return next((entry for entry in self.entries if entry.code == code), None)


def decide(
    ranked: list[tuple[LegalEntry, float]],
    answer_at: float = ANSWER_AT,
    close: float = CLOSE,
    choices_at: float = CHOICES_AT,
) -> Decision:
    """Answer when the best entry is clear, offer the entries that are truly close, else say so."""
    if not ranked:
        return Decision("none")
    best = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else -math.inf
    if best - runner_up >= close:
        return Decision("answer", (ranked[0][0],)) if best >= answer_at else Decision("none")
    if best >= choices_at:
        return Decision("choose", tuple(entry for entry, score in ranked if score > best - close))
    return Decision("none")


def _entry(raw: dict[str, Any], where: str, texts: LegalTexts) -> LegalEntry:
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
        requires=tuple(map(str, raw.get("requires") or ())),
    )


def load_kb(
    folder: Path, texts_folder: Path, referral_keys: set[str] | None = None, embedding_cache: Path | None = None
) -> LegalKb:
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
    return LegalKb(tuple(entries), embedding_cache)
