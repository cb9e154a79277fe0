"""The legal texts a notice may cite (content/legal_texts/), and the penalty articles with their fine ranges
(content/notices/penalties.yml), checked word for word against those texts when loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = re.compile(r"^\d+[a-z]?_(.+?)(?:_\d{4})?\.md$")
ARTICLE_HEADING = re.compile(r"^\s*(第[零一二三四五六七八九十百]+条)(?=[\s　])", re.MULTILINE)


class PenaltyDataError(ValueError):
    """content/notices/penalties.yml is malformed or quotes what the legal texts do not say."""


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class Exemption:
    source: str
    item: str
    name: str
    when: tuple[str, ...] = ()  # words the facts must contain for this entry (an article with several matters)


@dataclass(frozen=True)
class PenaltyArticle:
    id: str
    law: str
    source: str
    article: str
    quote: str
    about: tuple[str, ...]
    minimum: int
    maximum: int
    exemption: Exemption | None = None
    note: str | None = None


class LawTexts:
    """The law files by short name (公路法, 道路运输条例, …) and the article headings each holds."""

    def __init__(self, folder: Path) -> None:
        self._files: dict[str, str] = {}
        self._texts: dict[str, str] = {}
        for path in sorted(folder.glob("*.md")):
            match = FILE_NAME.match(path.name)
            if match:
                self._files[match[1]] = path.name
                self._texts[path.name] = path.read_text(encoding="utf-8")

    def source_of(self, law: str) -> str | None:
        """The file holding `law` (its short name as printed, 中华人民共和国 left off), or None."""
        name = law.removeprefix("中华人民共和国")
        return self._files.get(name)

    def article_text(self, source: str, article: str) -> str | None:
        """The article's first paragraph as the file prints it, or None when the file has no such heading."""
        for line in self._texts.get(source, "").splitlines():
            heading = ARTICLE_HEADING.match(line)
            if heading and heading[1] == article:
                return line.strip()
        return None

    def is_complete(self, source: str) -> bool:
        """True when the file says it holds the whole text (全文), so a missing article does not exist."""
        head = self._texts.get(source, "")[:2000]
        return "全文" in head and "**部分**" not in head

    def holds(self, source: str, words: str) -> bool:
        return _flat(words) in _flat(self._texts.get(source, ""))


def _article(raw: dict[str, Any], where: str, texts: LawTexts) -> PenaltyArticle:
    try:
        exemption = raw.get("exemption")
        article = PenaltyArticle(
            id=str(raw["id"]),
            law=str(raw["law"]),
            source=str(raw["source"]),
            article=str(raw["article"]),
            quote=str(raw["quote"]),
            about=tuple(raw["about"]),
            minimum=int(raw["min"]),
            maximum=int(raw["max"]),
            exemption=Exemption(
                str(exemption["source"]),
                str(exemption["item"]),
                str(exemption["name"]),
                tuple(exemption.get("when") or ()),
            )
            if exemption
            else None,
            note=raw.get("note"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PenaltyDataError(f"{where}: missing or malformed field ({exc})") from exc
    if texts.source_of(article.law) != article.source:
        raise PenaltyDataError(f"{where}: law {article.law!r} is not the file {article.source}")
    if texts.article_text(article.source, article.article) is None:
        raise PenaltyDataError(f"{where}: {article.article} is not an article of {article.source}")
    if not texts.holds(article.source, article.quote):
        raise PenaltyDataError(f"{where}: the quote is not word for word in {article.source}")
    if article.exemption and not texts.holds(article.exemption.source, article.exemption.name):
        raise PenaltyDataError(f"{where}: the exemption entry is not in {article.exemption.source}")
    if not 0 <= article.minimum <= article.maximum:
        raise PenaltyDataError(f"{where}: min must not exceed max")
    return article


@dataclass(frozen=True)
class Library:
    texts: LawTexts
    articles: tuple[PenaltyArticle, ...]

    def penalty_article(self, law: str, article: str) -> PenaltyArticle | None:
        source = self.texts.source_of(law)
        return next((a for a in self.articles if a.source == source and a.article == article), None)


def load_library(texts_folder: Path, penalties_file: Path) -> Library:
    """The legal texts and the penalty articles; raises PenaltyDataError naming the file and entry."""
    texts = LawTexts(texts_folder)
    try:
        raw = yaml.safe_load(penalties_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PenaltyDataError(f"{penalties_file}: {exc}") from exc
    items = raw.get("articles") or []
    articles = tuple(
        _article(item or {}, f"{penalties_file}: articles[{i}] ({(item or {}).get('id')})", texts)
        for i, item in enumerate(items)
    )
    if not articles:
        raise PenaltyDataError(f"{penalties_file}: no articles")
    return Library(texts, articles)


def load_notice_library(content_dir: Path) -> Library:
    """The library as the bot uses it: content/legal_texts/ and content/notices/penalties.yml."""
    return load_library(content_dir / "legal_texts", content_dir / "notices" / "penalties.yml")
