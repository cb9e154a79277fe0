"""The catalogue of fixed texts the bot sends (content/texts.yml): loaded once, checked at start-up."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path

import yaml

NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
TELEGRAM_TAGS = frozenset({"b", "strong", "i", "em", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"})


class TextCatalogueError(ValueError):
    """content/texts.yml cannot be used; the message names the file and the entry."""


class _TagCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problem = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problem = self.problem or f"<{tag}> is not a tag Telegram shows"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = self.problem or f"</{tag}> closes a tag that is not open"


def _tag_problem(text: str) -> str:
    checker = _TagCheck()
    checker.feed(text)
    checker.close()
    if checker.open and not checker.problem:
        return f"<{checker.open[-1]}> is never closed"
    return checker.problem


def placeholders(text: str) -> frozenset[str]:
    """The {names} a text expects the code to fill in."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field)


def _check_entry(path: Path, name: object, text: object) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise TextCatalogueError(f"{path}: {name!r}: names are upper-case words joined by _")
    if not isinstance(text, str) or not text.strip():
        raise TextCatalogueError(f"{path}: {name}: the text is empty or not a text")
    try:
        placeholders(text)
    except ValueError as exc:
        raise TextCatalogueError(
            f"{path}: {name}: a {{placeholder}} is broken ({exc}); write {{{{ }}}} for a brace"
        ) from exc
    problem = _tag_problem(text)
    if problem:
        raise TextCatalogueError(f"{path}: {name}: {problem}")
    return text


def load_texts(path: Path, required: Mapping[str, frozenset[str]] | None = None) -> dict[str, str]:
    """Read and check the catalogue; `required` maps each name the code uses to the placeholders it fills."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TextCatalogueError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise TextCatalogueError(f"{path}: expected name: text entries")
    texts = {str(name): _check_entry(path, name, text) for name, text in raw.items()}
    for name, expected in (required or {}).items():
        if name not in texts:
            raise TextCatalogueError(f"{path}: {name}: missing (the bot sends this text)")
        unknown = placeholders(texts[name]) - expected
        if unknown:
            names = "、".join(sorted(f"{{{field}}}" for field in unknown))
            raise TextCatalogueError(
                f"{path}: {name}: {names} is not filled in by the bot; allowed: {sorted(expected)}"
            )
    return texts
