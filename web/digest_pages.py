"""The weekly digests and the supervision ledger as the dashboard reads them (never the stored PNG or
workbook: only the columns a page shows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from digest.render import STATE_NAMES
from foundation.enums import LedgerState
from storage.models import Digest, DigestGroup, LedgerEntry, LedgerItem
from storage.web_models import TopicLabel

LEDGER_ACTIONS = {
    "opened": "立项",
    "seen": "再次出现",
    "reopened": "重新督办",
    "measures": "填报措施",
    "closed": "销号",
}
TREND_WEEKS = 26


@dataclass(frozen=True)
class DigestRow:
    week: str
    complaints: int
    groups: int
    high_frequency: int
    built_at: datetime


def digest_rows(session: Session) -> list[DigestRow]:
    groups = (
        select(
            DigestGroup.digest_id,
            func.count().label("groups"),
            func.sum(case((DigestGroup.high_frequency.is_(True), 1), else_=0)).label("hf"),
        )
        .group_by(DigestGroup.digest_id)
        .subquery()
    )
    query = (
        select(Digest.week, Digest.complaints, groups.c.groups, groups.c.hf, Digest.built_at)
        .outerjoin(groups, groups.c.digest_id == Digest.id)
        .order_by(Digest.week.desc())
    )
    return [DigestRow(w, c, g or 0, int(h or 0), b) for w, c, g, h, b in session.execute(query)]


def trend_chart(rows: list[DigestRow]) -> dict[str, Any]:
    recent = list(reversed(rows[:TREND_WEEKS]))
    return {
        "id": "weekly_trend",
        "title": "每周投诉件数",
        "labels": [r.week for r in recent],
        "series": [
            {"name": "投诉件数", "values": [r.complaints for r in recent]},
            {"name": "高频问题数", "values": [r.high_frequency for r in recent]},
        ],
    }


@dataclass(frozen=True)
class GroupView:
    rank: int
    label: str
    topic_id: int | None
    renamed: bool
    size: int
    reporters: int
    previous_size: int
    is_new: bool
    high_frequency: bool
    ledger: str | None
    stations: list[str]
    units: list[str]
    quotes: list[str]
    cases: list[str]
    open_cases: int
    overdue_cases: int


@dataclass(frozen=True)
class DigestView:
    week: str
    complaints: int
    method: str
    groups: list[GroupView]
    chart: dict[str, Any]


def digest_view(session: Session, week: str) -> DigestView | None:
    head = session.execute(
        select(Digest.id, Digest.week, Digest.complaints, Digest.method).where(Digest.week == week)
    ).first()
    if head is None:
        return None
    query = (
        select(DigestGroup, TopicLabel.renamed_at, LedgerItem.number)
        .outerjoin(TopicLabel, TopicLabel.id == DigestGroup.topic_id)
        .outerjoin(LedgerItem, LedgerItem.id == DigestGroup.ledger_item_id)
        .where(DigestGroup.digest_id == head.id)
        .order_by(DigestGroup.rank)
    )
    groups = [_group(g, renamed is not None, ledger) for g, renamed, ledger in session.execute(query)]
    top = [g for g in groups if g.topic_id is not None][:10]
    chart = {
        "id": "week_groups",
        "title": "本周与上周对比（前 10 类）",
        "labels": [g.label for g in top],
        "series": [
            {"name": "本周", "values": [g.size for g in top]},
            {"name": "上周", "values": [g.previous_size for g in top]},
        ],
    }
    return DigestView(head.week, head.complaints, head.method, groups, chart)


def _group(group: DigestGroup, renamed: bool, ledger: str | None) -> GroupView:
    details = group.details or {}
    summary = details.get("summary", {})
    return GroupView(
        rank=group.rank,
        label=group.label,
        topic_id=group.topic_id,
        renamed=renamed,
        size=group.size,
        reporters=group.reporters,
        previous_size=group.previous_size,
        is_new=group.is_new,
        high_frequency=group.high_frequency,
        ledger=ledger,
        stations=list(summary.get("stations", []))[:5],
        units=list(summary.get("units", []))[:5],
        quotes=list(details.get("quotes", []))[:3],
        cases=list(details.get("cases", []))[:10],
        open_cases=int(summary.get("open_cases", 0)),
        overdue_cases=int(summary.get("overdue_cases", 0)),
    )


@dataclass(frozen=True)
class LedgerView:
    item: LedgerItem
    title: str
    state: str
    overdue: bool
    entries: list[LedgerEntry]
    chart: dict[str, Any]
    action_names: dict[str, str]


def ledger_views(session: Session, now: datetime) -> list[LedgerView]:
    items = list(session.scalars(select(LedgerItem).order_by(LedgerItem.state, LedgerItem.deadline)))
    labels = dict(session.execute(select(TopicLabel.id, TopicLabel.label)).tuples().all())
    entries: dict[int, list[LedgerEntry]] = {}
    for entry in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)):
        entries.setdefault(entry.item_id, []).append(entry)
    views = []
    for item in items:
        history = entries.get(item.id, [])
        weekly = [e for e in history if e.week and e.size is not None]
        chart = {
            "id": f"ledger_{item.id}",
            "title": "每周件数",
            "labels": [e.week for e in weekly],
            "series": [{"name": "件数", "values": [e.size for e in weekly]}],
        }
        views.append(
            LedgerView(
                item=item,
                title=labels.get(item.topic_id, item.title) if item.topic_id else item.title,
                state=STATE_NAMES[item.state],
                overdue=item.state is LedgerState.open and item.deadline < now,
                entries=history,
                chart=chart,
                action_names=LEDGER_ACTIONS,
            )
        )
    return views
