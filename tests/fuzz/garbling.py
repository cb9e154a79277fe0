"""Broken updates (`garbled`: a field of the wrong type, a field missing, nested garbage) and batches as
getUpdates returns them, some delivered twice."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.strategies import BIG_INT_COLUMN, DEFAULT_WORLD, INT64, World, garbage, short_text, update_bodies


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def garbled(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A well-formed update with 1-3 fields broken: a wrong type, a number as text, a list, garbage, or gone."""
    body = copy.deepcopy(draw(bodies))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        key, old = path[-1], parent[path[-1]]
        how = draw(st.sampled_from(["garbage", "garbage", "text", "list", "none", "delete"]))
        if how == "delete" and isinstance(parent, dict):
            del parent[key]
        elif how == "text":
            parent[key] = str(old)  # a chat id or a date as a string
        elif how == "list":
            parent[key] = [old]
        elif how == "none":
            parent[key] = None
        else:
            parent[key] = draw(garbage)
    return body


# ---------------------------------------------------------------- batches as getUpdates returns them


@dataclass
class Entry:
    raw: Any  # what Telegram sent (normally a dict with an update_id)
    well_formed: bool


@st.composite
def batches(draw: st.DrawFn, world: World = DEFAULT_WORLD) -> list[Entry]:
    """A getUpdates result: updates with distinct int ids, some without a usable id, some redelivered."""
    size = draw(st.integers(1, 8))
    ids = draw(st.lists(BIG_INT_COLUMN | st.integers(-5, 5), min_size=size, max_size=size, unique=True))
    entries = []
    for update_id in ids:
        well_formed = draw(st.integers(0, 2)) > 0
        body = draw(update_bodies(world) if well_formed else garbled(update_bodies(world)))
        how = draw(st.sampled_from(["int"] * 6 + ["missing", "garbage", "not a dict"]))
        if how == "int":
            raw: Any = {"update_id": update_id, **body}
        elif how == "missing":
            raw = body
        elif how == "garbage":
            bad_id = draw(st.none() | short_text | st.floats(allow_nan=False) | st.lists(st.integers(), max_size=2))
            raw = {"update_id": bad_id, **body}
        else:
            raw = draw(garbage.filter(lambda g: not isinstance(g, dict)))
        entries.append(Entry(raw, well_formed and how == "int"))
    for index in draw(st.lists(st.integers(0, size - 1), max_size=3)):  # Telegram delivers some again
        entries.append(copy.deepcopy(entries[index]))
    return entries


def int_id(raw: Any) -> int | None:
    """The update id, if it is one a BIGINT holds (Telegram's are far smaller; others are dropped)."""
    value = raw.get("update_id") if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64 else None
