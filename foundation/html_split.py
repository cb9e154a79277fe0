"""Cutting a long HTML message (Telegram's subset: b, i, u, s, a, code, pre, blockquote, tg-spoiler) into
pieces that each fit a limit, at paragraph, line or sentence ends where possible, never inside a tag or an
entity, with the tags that are open at a cut closed before it and opened again after it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"<[^<>]*>|&#?\w+;|.", re.S)
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][\w-]*)")
_SENTENCE_END = set("。！？!?；;")
MIN_FILL = 0.5  # a preferred break is taken only if the piece is at least this full


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Piece:
    opening: list[str]  # tags open when the piece starts (reopened at its start)
    tokens: list[str] = field(default_factory=list)


def _tag(token: str) -> tuple[bool, str] | None:
    """(is_closing, name) for a tag token, None for text and entities."""
    if not token.startswith("<"):
        return None
    match = _TAG.match(token)
    return (match.group(1) == "/", match.group(2).lower()) if match else None


def _tag_name(token: str) -> str:
    """The name of a tag token as written ("" for anything else)."""
    match = _TAG.match(token)
    return match.group(2) if match else ""


def _closers(stack: list[str]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


def _priority(tokens: list[str], index: int) -> int:
    """How good a cut after tokens[index] is: paragraph 3, line 2, sentence 1, anything else 0."""
    token = tokens[index]
    if token == "\n":
        return 3 if index > 0 and tokens[index - 1] == "\n" else 2
    return 1 if token in _SENTENCE_END else 0


def split_html(text: str, limit: int) -> list[str]:
    """Pieces of `text`, each at most `limit` UTF-16 units, that read the same when shown one after another."""
    if utf16_length(text) <= limit:
        return [text]
    tokens = _TOKEN.findall(text)
    pieces: list[str] = []
    stack: list[str] = []
    start = 0
    while start < len(tokens):
        cut, stack_at_cut = _next_cut(tokens, start, list(stack), limit)
        body = "".join(stack) + "".join(tokens[start:cut]) + _closers(stack_at_cut)
        pieces.append(body.strip("\n"))
        start, stack = cut, stack_at_cut
        while start < len(tokens) and tokens[start] == "\n":
            start += 1
    return [piece for piece in pieces if piece]


def _next_cut(tokens: list[str], start: int, stack: list[str], limit: int) -> tuple[int, list[str]]:
    """The index to cut before, and the tags open there."""
    length = utf16_length("".join(stack))
    best: tuple[int, int, list[str]] | None = None  # (priority, cut, stack)
    latest: tuple[int, list[str]] | None = None
    index = start
    while index < len(tokens):
        token = tokens[index]
        tag = _tag(token)
        if tag is not None:
            closing, name = tag
            if closing and name in [_tag_name(open_tag).lower() for open_tag in stack]:
                while stack and _tag_name(stack.pop()).lower() != name:
                    pass
            elif not closing:
                stack.append(token)
        length += utf16_length(token)
        if length + utf16_length(_closers(stack)) > limit:
            break
        index += 1
        latest = (index, list(stack))
        priority = _priority(tokens, index - 1)
        if priority and (best is None or priority >= best[0]) and length >= limit * MIN_FILL:
            best = (priority, index, list(stack))
    if index >= len(tokens):
        return len(tokens), stack
    if best is not None:
        return best[1], best[2]
    if latest is None:  # a single token longer than the limit: let it through on its own
        return start + 1, stack
    return latest
