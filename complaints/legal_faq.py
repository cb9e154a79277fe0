"""Answers to common legal questions, each resting on a quoted article (data/legal_faq.yml)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

import yaml

REQUIRED = ("id", "questions", "answer", "law", "article", "source", "quote", "effective", "next_steps")
MATCH_THRESHOLD = 0.42
DISCLAIMER = "以上为一般性法律信息，不代替对您个案的处理意见；需要针对您的情况咨询，可以回复“人工”。"


class LegalDataError(ValueError):
    """data/legal_faq.yml is malformed."""


@dataclass(frozen=True)
class LegalEntry:
    id: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    law: str
    article: str
    source: str
    quote: str
    effective: str
    next_steps: str

    def render(self) -> str:
        """The reasoned answer: the rule, its basis quoted, what the driver may do, and the caveat."""
        return "\n".join(
            [
                escape(self.answer),
                f"依据：《{escape(self.law)}》{escape(self.article)}（{escape(self.effective)}起施行）：",
                f"<blockquote>{escape(self.quote)}</blockquote>",
                f"您可以：{escape(self.next_steps)}",
                DISCLAIMER,
            ]
        )


def _bigrams(text: str) -> Counter[str]:
    chars = [c for c in text.lower() if not c.isspace() and c not in "，。？！?!,.、：:；;"]
    grams = Counter("".join(pair) for pair in zip(chars, chars[1:], strict=False))
    grams.update(chars)
    return grams


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class LegalFaq:
    entries: tuple[LegalEntry, ...]

    def best_match(self, question: str) -> tuple[LegalEntry, float] | None:
        """The entry answering `question`, if one matches well enough (else None: never guess)."""
        asked = _bigrams(question)
        best: tuple[LegalEntry, float] | None = None
        for entry in self.entries:
            similarity = max(_cosine(asked, _bigrams(q)) for q in entry.questions)
            hits = sum(1 for word in entry.keywords if word in question)
            score = similarity + 0.15 * min(hits, 2)
            if best is None or score > best[1]:
                best = (entry, score)
        return best if best is not None and best[1] >= MATCH_THRESHOLD else None


def load_faq(path: Path) -> LegalFaq:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = []
    for index, item in enumerate(raw.get("entries") or []):
        missing = [key for key in REQUIRED if not item.get(key)]
        if missing:
            raise LegalDataError(f"{path}: entries[{index}] ({item.get('id')}): missing {', '.join(missing)}")
        entries.append(
            LegalEntry(
                id=str(item["id"]),
                questions=tuple(map(str, item["questions"])),
                keywords=tuple(map(str, item.get("keywords") or ())),
                answer=str(item["answer"]),
                law=str(item["law"]),
                article=str(item["article"]),
                source=str(item["source"]),
                quote=str(item["quote"]),
                effective=str(item["effective"]),
                next_steps=str(item["next_steps"]),
            )
        )
    return LegalFaq(entries=tuple(entries))
