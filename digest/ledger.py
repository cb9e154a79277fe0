"""The supervision ledger (督办台账, seed measure 11): high-frequency issues followed until closed (销号).

A group that recurs in a later week is matched to its open item by the same rule that builds groups (the
average similarity of the two means reaches the grouping threshold); the item's count and history grow and
no second item is opened. A closed item whose issue comes back as high-frequency is reopened.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.analysis import Group, WeekAnalysis
from foundation.enums import LedgerState
from foundation.settings import DigestSettings
from foundation.workdays import WorkCalendar
from storage.models import LedgerEntry, LedgerItem

DEFAULT_OWNER = "局政策法规科"  # keeps the ledger (DESIGN.md §3) and owns what no single unit owns
GROWTH_BASE = 2  # growth counts from a base of at least two complaints (1 → 2 is noise, not a trend)


class LedgerError(LookupError):
    """A ledger item that does not exist, or an action its state does not allow."""


def is_high_frequency(group: Group, rules: DigestSettings) -> bool:
    """At least `hf_reporters` distinct reporters this week, or grown by `hf_growth` on last week (from at
    least two complaints) with at least `hf_growth_min_reporters` reporters."""
    if group.photo_only:
        return False
    if group.reporters >= rules.hf_reporters:
        return True
    grown = group.previous_size >= GROWTH_BASE and group.size >= (1 + rules.hf_growth) * group.previous_size
    return grown and group.reporters >= rules.hf_growth_min_reporters


def _mean(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def _owner(group: Group) -> str:
    units = Counter(i.unit for i in group.items if i.unit).most_common(1)
    return units[0][0] if units else DEFAULT_OWNER


def _numbers(session: Session, year: int) -> Iterator[str]:
    """DB-2026-001, DB-2026-002, … after the year's last item (one scheduler numbers them; the unique
    column stops a second one)."""
    prefix = f"DB-{year}-"
    count = session.scalar(select(func.count()).where(LedgerItem.number.like(f"{prefix}%"))) or 0
    return (f"{prefix}{n:03d}" for n in itertools.count(count + 1))


def update_ledger(
    session: Session,
    analysis: WeekAnalysis,
    rules: DigestSettings,
    threshold: float,
    calendar: WorkCalendar,
    now: datetime,
) -> None:
    """Mark high-frequency groups, match groups to items, open new items; all in the caller's transaction."""
    week = analysis.week.label
    groups = [g for g in analysis.groups if not g.photo_only]
    for group in groups:
        group.high_frequency = is_high_frequency(group, rules)
    items = list_items(session)
    open_items = [i for i in items if i.state is LedgerState.open]
    closed_items = [i for i in items if i.state is LedgerState.closed]
    # every recurring group updates its open item, high-frequency this week or not; several groups of a
    # week can be fragments of one issue, and all of them go to its item
    for item, matched in _matches(groups, open_items, threshold).items():
        _record_week(item, matched, week, "seen")
    waiting = [g for g in groups if g.high_frequency and g.ledger_number is None]
    for item, matched in _matches(waiting, closed_items, threshold).items():
        item.state = LedgerState.open
        item.deadline = calendar.add_working_days(now, rules.ledger_working_days)
        item.closed_at = None
        _record_week(item, matched, week, "reopened")
    numbers = _numbers(session, analysis.week.year)
    for group in [g for g in waiting if g.ledger_number is None]:
        item = LedgerItem(
            number=next(numbers),
            title=group.label[:128],
            owner_unit=_owner(group),
            deadline=calendar.add_working_days(now, rules.ledger_working_days),
            state=LedgerState.open,
            first_week=week,
            last_week=week,
            complaints=0,
            centroid=np.zeros_like(group.mean, dtype=np.float32).tobytes(),
            created_at=now,
            topic_id=group.topic.id if group.topic is not None else None,
        )
        session.add(item)
        _record_week(item, [group], week, "opened")
        group.ledger_new = True
    session.flush()


def _matches(groups: list[Group], items: list[LedgerItem], threshold: float) -> dict[LedgerItem, list[Group]]:
    """Each group to the item it is most similar to, when that similarity reaches `threshold`."""
    found: dict[LedgerItem, list[Group]] = {}
    if not groups or not items:
        return found
    sims = np.stack([g.mean for g in groups]) @ np.stack([_mean(i.centroid) for i in items]).T
    for group, row in zip(groups, sims, strict=True):
        best = int(row.argmax())
        if row[best] >= threshold:
            found.setdefault(items[best], []).append(group)
    return found


def _record_week(item: LedgerItem, groups: list[Group], week: str, action: str) -> None:
    size = sum(g.size for g in groups)
    weighted = sum(g.mean * g.size for g in groups)
    total = item.complaints + size
    merged = (_mean(item.centroid) * item.complaints + weighted) / max(total, 1)
    item.centroid = np.asarray(merged, dtype=np.float32).tobytes()
    item.complaints = total
    item.last_week = week
    for group in groups:
        group.ledger_number = item.number
    reporters = sum(g.reporters for g in groups)
    item.history.append(LedgerEntry(week=week, action=action, size=size, reporters=reporters))


ItemChange = Callable[[Session, str, str, str, datetime], LedgerItem]


def find_item(session: Session, number: str) -> LedgerItem:
    item = session.scalar(select(LedgerItem).where(LedgerItem.number == number.strip().upper()))
    if item is None:
        raise LedgerError(f"台账中没有 {number.strip()}")
    return item


def close_item(session: Session, number: str, actor: str, note: str, now: datetime) -> LedgerItem:
    """销号: an item is closed with a note saying what was done."""
    if not note.strip():
        raise LedgerError("销号需要写明整改情况，例如：/xiaohao DB-2026-001 已增派人员，称重设备已校准")
    item = find_item(session, number)
    if item.state is LedgerState.closed:
        raise LedgerError(f"{item.number} 已于 {item.closed_at:%Y-%m-%d} 销号")
    item.state = LedgerState.closed
    item.closed_at = now
    item.closed_by = actor
    item.close_note = note.strip()
    session.add(LedgerEntry(item_id=item.id, at=now, action="closed", actor=actor, note=note.strip()))
    return item


def set_measures(session: Session, number: str, actor: str, measures: str, now: datetime) -> LedgerItem:
    if not measures.strip():
        raise LedgerError("请写明整改措施，例如：/measures DB-2026-001 每日校秤并公示")
    item = find_item(session, number)
    item.measures = measures.strip()
    session.add(LedgerEntry(item_id=item.id, at=now, action="measures", actor=actor, note=measures.strip()))
    return item


def list_items(session: Session, state: LedgerState | None = None) -> list[LedgerItem]:
    query = select(LedgerItem).order_by(LedgerItem.id)
    if state is not None:
        query = query.where(LedgerItem.state == state)
    return list(session.scalars(query))
