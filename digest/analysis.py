"""A week's complaints grouped into recurring issues, with what leadership needs to see per group."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.deadlines import open_deadlines
from digest.grouping import Vectors, assign, cluster
from digest.reference import References
from digest.weeks import Week
from foundation import embedding
from foundation.logs import mask
from storage.desk import OPEN_STATES
from storage.models import Case, ComplaintRecord

RECENT_WEEKS = 4  # a group with similar complaints in these previous weeks is recurring, not new
QUOTES = 3
QUOTE_CHARS = 80
LABEL_CHARS = 22
LABEL_SAMPLE = 5000  # texts used for the week's character statistics when labelling
_CLAUSES = re.compile(r"[，。！？!?,;；：:\n\r\t…~～、]+|\s{2,}")


@dataclass(frozen=True)
class Item:
    """A stored complaint, read as columns (a week can hold a million of them)."""

    record_id: int
    case_id: int | None
    channel: str
    external_id: str | None
    text: str
    reporter_key: str | None
    station: str | None
    unit: str | None
    category: str | None


@dataclass(frozen=True)
class CaseRef:
    number: str
    state: str
    open: bool
    overdue: bool
    topic_id: int | None


@dataclass
class Group:
    label: str
    items: list[Item]
    mean: np.ndarray  # centred space, unnormalised: dot with a vector = its average similarity to the group
    reporters: int
    previous_size: int = 0
    recent_size: int = 0
    photo_only: bool = False
    stations: list[tuple[str, int]] = field(default_factory=list)
    units: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    channels: list[tuple[str, int]] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    cases: list[CaseRef] = field(default_factory=list)
    high_frequency: bool = False
    ledger_number: str | None = None
    ledger_new: bool = False
    topic: Any = None  # its storage.web_models.TopicLabel, once digest.labels.attach_topics has run

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def is_new(self) -> bool:
        """Not seen in the previous weeks, and not an issue already on the ledger."""
        return self.recent_size == 0 and (self.ledger_number is None or self.ledger_new)

    @property
    def change(self) -> int:
        return self.size - self.previous_size

    @property
    def open_cases(self) -> int:
        return sum(c.open for c in self.cases)

    @property
    def overdue_cases(self) -> int:
        return sum(c.overdue for c in self.cases)

    def member_ids(self) -> list[str]:
        """Bot case numbers, or the imported complaints' external ids (record:<id> when they have none)."""
        return [i.external_id or f"record:{i.record_id}" for i in self.items]


@dataclass
class WeekAnalysis:
    week: Week
    total: int
    previous_total: int
    groups: list[Group]  # biggest first; a photo-only group, if any, last


_COLUMNS = (
    ComplaintRecord.id,
    ComplaintRecord.case_id,
    ComplaintRecord.channel,
    ComplaintRecord.external_id,
    ComplaintRecord.text,
    ComplaintRecord.reporter_key,
    ComplaintRecord.station,
    ComplaintRecord.unit,
    ComplaintRecord.category,
    ComplaintRecord.embedding,
)


def _read(session: Session, start: datetime, end: datetime) -> tuple[list[Item], list[bytes | None]]:
    query = (
        select(*_COLUMNS)
        .where(ComplaintRecord.received_at >= start, ComplaintRecord.received_at < end)
        .order_by(ComplaintRecord.received_at, ComplaintRecord.id)
    )
    items: list[Item] = []
    blobs: list[bytes | None] = []
    for row in session.execute(query):
        items.append(Item(*row[:9]))
        blobs.append(row[9])
    return items, blobs


def _vectors(items: Sequence[Item], blobs: list[bytes | None], refs: References) -> Vectors:
    """Centred vectors, zero rows for complaints without text; the stored bytes are released on the way."""
    rows = [i for i, b in enumerate(blobs) if b is not None]
    out = np.zeros((len(blobs), embedding.DIMENSIONS), dtype=np.float32)
    for first in range(0, len(rows), 50_000):
        chunk = rows[first : first + 50_000]
        raw = embedding.from_bytes(
            [blob for i in chunk if (blob := blobs[i]) is not None]
        )  # all of them: rows has no None
        out[chunk] = refs.centre(raw, [items[i].text for i in chunk], copy=False)
        for i in chunk:
            blobs[i] = b""  # present, but no longer held twice
    return out


def analyse(
    session: Session,
    week: Week,
    tz: ZoneInfo,
    refs: References,
    threshold: float,
    now: datetime,
) -> WeekAnalysis:
    items, blobs = _read(session, week.starts(tz), week.ends(tz))
    has_text = np.array([b is not None for b in blobs], dtype=bool)
    vectors = _vectors(items, blobs, refs)
    groups = _group(items, vectors, has_text, threshold)
    previous_total = _compare_with_past(session, week, tz, refs, threshold, groups)
    _describe(session, groups, items, now)
    return WeekAnalysis(week=week, total=len(items), previous_total=previous_total, groups=groups)


def _group(items: list[Item], vectors: Vectors, has_text: np.ndarray, threshold: float) -> list[Group]:
    """Cluster the complaints with text; one driver's repeated identical text counts as one point."""
    text_rows = np.flatnonzero(has_text)
    keys: dict[tuple[str, str], int] = {}
    point_of = np.empty(len(text_rows), dtype=np.int64)
    for n, row in enumerate(text_rows):
        item = items[row]
        key = (item.reporter_key or f"record:{item.record_id}", embedding.normalise_text(item.text))
        point_of[n] = keys.setdefault(key, len(keys))
    first_rows = np.empty(len(keys), dtype=np.int64)
    first_rows[point_of[::-1]] = text_rows[::-1]
    found = cluster(vectors[first_rows], threshold)
    labels = found.labels[point_of]
    groups: list[Group] = []
    for k in range(len(found.sizes)):
        rows = text_rows[labels == k]
        members = [items[r] for r in rows]
        groups.append(Group(label="", items=members, mean=found.means[k], reporters=_reporters(members)))
    groups.sort(key=lambda g: (-g.reporters, -g.size))
    photo_rows = np.flatnonzero(~has_text)
    if len(photo_rows):
        members = [items[r] for r in photo_rows]
        groups.append(
            Group(
                label="仅有图片、没有文字的投诉",
                items=members,
                mean=np.zeros(embedding.DIMENSIONS, np.float32),
                reporters=_reporters(members),
                photo_only=True,
            )
        )
    _label(groups, vectors, items)
    return groups


def _reporters(members: Sequence[Item]) -> int:
    """Distinct people: a driver writing ten times counts once; unknown senders count one each."""
    known = {m.reporter_key for m in members if m.reporter_key}
    return len(known) + sum(1 for m in members if not m.reporter_key)


def _compare_with_past(
    session: Session, week: Week, tz: ZoneInfo, refs: References, threshold: float, groups: list[Group]
) -> int:
    """Last week's size of each group, and whether the issue came up in the previous weeks at all: past
    complaints join a group by the same rule as this week's (average similarity ≥ threshold). Returns
    last week's number of complaints."""
    text_groups = [g for g in groups if not g.photo_only]
    means = np.stack([g.mean for g in text_groups]).astype(np.float32) if text_groups else None
    previous_total = 0
    for back in range(1, RECENT_WEEKS + 1 if means is not None else 2):
        past = week.shift(-back)
        past_items, blobs = _read(session, past.starts(tz), past.ends(tz))
        if back == 1:
            previous_total = len(past_items)
        present = np.array([b is not None for b in blobs], dtype=bool)
        if means is None or not present.any():
            continue
        vectors = _vectors(past_items, blobs, refs)[present]
        joined = assign(vectors, means, threshold)
        counts = np.bincount(joined[joined >= 0], minlength=len(text_groups))
        for group, count in zip(text_groups, counts, strict=True):
            group.recent_size += int(count)
            if back == 1:
                group.previous_size = int(count)
    return previous_total


def _describe(session: Session, groups: list[Group], items: list[Item], now: datetime) -> None:
    case_ids = [i.case_id for i in items if i.case_id is not None]
    cases: dict[int, CaseRef] = {}
    for first in range(0, len(case_ids), 500):
        for case in session.scalars(select(Case).where(Case.id.in_(case_ids[first : first + 500]))):
            is_open = case.state in OPEN_STATES
            overdue = is_open and any(d.due < now for d in open_deadlines(case))
            cases[case.id] = CaseRef(case.number, case.state.value, is_open, overdue, case.topic_id)
    for group in groups:
        group.stations = Counter(i.station for i in group.items if i.station).most_common()
        group.units = Counter(i.unit for i in group.items if i.unit).most_common()
        group.categories = Counter(i.category for i in group.items if i.category).most_common()
        group.channels = Counter(i.channel for i in group.items).most_common()
        group.cases = [cases[i.case_id] for i in group.items if i.case_id in cases]


# ---------------------------------------------------------------------------------------------- labels


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if not text[i : i + 2].isascii()}


def _label(groups: list[Group], vectors: Vectors, items: list[Item]) -> None:
    """A short Chinese phrase per group: the clause of its most central complaint that carries most of
    what sets the group apart (character pairs frequent in the group and rare in the week)."""
    rng = np.random.default_rng(0)
    sample = items if len(items) <= LABEL_SAMPLE else [items[i] for i in rng.choice(len(items), LABEL_SAMPLE, False)]
    week_df = Counter(b for item in sample for b in _bigrams(embedding.normalise_text(item.text)))
    n_week = max(len(sample), 1)
    row_of = {item.record_id: n for n, item in enumerate(items)}
    for group in groups:
        if group.photo_only:
            continue
        texts = [embedding.normalise_text(i.text) for i in group.items[:200]]
        group_df = Counter(b for text in texts for b in _bigrams(text))
        weight = {b: c / len(texts) - week_df.get(b, 0) / n_week for b, c in group_df.items()}
        rows = [row_of[i.record_id] for i in group.items[:200]]
        central = int(np.argmax(vectors[rows] @ group.mean))
        group.label = _phrase(texts[central], weight, group)
        group.quotes = _quotes(group, vectors[rows], texts)


def _phrase(text: str, weight: dict[str, float], group: Group) -> str:
    clauses = [c.strip() for c in _CLAUSES.split(mask(text)) if len(c.strip()) >= 2] or [mask(text).strip()]

    def score(clause: str) -> float:
        return float(sum(max(weight.get(b, 0.0), 0.0) for b in _bigrams(clause)) / max(len(clause), 4) ** 0.5)

    best = max(clauses, key=score)
    if len(best) > LABEL_CHARS:
        best = best[: LABEL_CHARS - 1] + "…"
    counts = Counter(i.station for i in group.items if i.station).most_common(1)
    station = counts[0][0] if counts and counts[0][1] * 2 >= group.size else None
    if station and not _names_place(best, station):
        return f"{station}：{best}"
    return best or "（无文字）"


_PLACE_SUFFIX = re.compile(r"(超限检测站|超限站|检测站|收费站|服务区|停车场|客运站|路口|处|站)$")
_ROAD_CODE = re.compile(r"^[GSXY]\d+")


def _names_place(clause: str, station: str) -> bool:
    """Whether the clause already names the station, e.g. 城北站 for 城北超限检测站."""
    core = _ROAD_CODE.sub("", _PLACE_SUFFIX.sub("", station)) or station
    return core[:4] in clause if len(core) >= 2 else station in clause


def _quotes(group: Group, vectors: Vectors, texts: list[str]) -> list[str]:
    """The most central distinct complaints, with plates, phones and long numbers masked."""
    order = np.argsort(-(vectors @ group.mean), kind="stable")
    quotes: list[str] = []
    seen: set[str] = set()
    for i in order:
        if texts[i] in seen:
            continue
        seen.add(texts[i])
        quote = mask(group.items[i].text.strip())
        quotes.append(quote if len(quote) <= QUOTE_CHARS else quote[: QUOTE_CHARS - 1] + "…")
        if len(quotes) == QUOTES:
            break
    return quotes
