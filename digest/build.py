"""Building a week's digest: group, update the ledger, render, and store it all in one transaction.

A crash anywhere before the commit leaves nothing behind (no digest, no groups, no ledger change); the
unique week column makes a second build of the same week fail instead of writing it twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bureau.deps import Deps
from digest.analysis import RECENT_WEEKS, Group, WeekAnalysis, analyse
from digest.grouping import THRESHOLD
from digest.labels import attach_topics
from digest.ledger import list_items, update_ledger
from digest.records import embed_missing
from digest.reference import load_references
from digest.render import render_chart, render_html, render_workbook
from digest.weeks import Week
from foundation import embedding
from foundation.settings import DigestSettings
from foundation.workdays import WorkCalendar
from storage.models import ComplaintRecord, Digest, DigestGroup, DigestMember, LedgerItem

logger = logging.getLogger(__name__)


MEMBER_BATCH = 20_000


class WeekAlreadyBuilt(RuntimeError):
    """The week's digest is in the database already; it is never built twice."""


@dataclass(frozen=True)
class DigestContext:
    rules: DigestSettings
    tz: ZoneInfo
    calendar: WorkCalendar
    staff_chat_id: int | None

    @property
    def threshold(self) -> float:
        return self.rules.threshold if self.rules.threshold is not None else THRESHOLD

    @property
    def method(self) -> str:
        return f"{embedding.MODEL} centred, average link >= {self.threshold:.2f}"


def context(deps: Deps) -> DigestContext:
    settings = deps.settings
    return DigestContext(settings.digest, settings.timezone, deps.calendar, settings.staff_chat_id)


@dataclass(frozen=True)
class BuiltDigest:
    week: Week
    html: str
    chart_png: bytes
    xlsx: bytes
    digest_id: int | None  # None for a dry run
    payload: dict[str, Any]


def stored(session: Session, week: Week) -> Digest | None:
    return session.scalar(select(Digest).where(Digest.week == week.label))


def build_week(
    sessions: sessionmaker[Session], week: Week, ctx: DigestContext, now: datetime, dry_run: bool = False
) -> BuiltDigest:
    """Build `week`; with `dry_run` nothing is stored and the ledger is left as it was."""
    start, end = week.shift(-RECENT_WEEKS).starts(ctx.tz), week.ends(ctx.tz)
    with sessions.begin() as session:
        filled = embed_missing(session, start, end)
    if filled:
        logger.info("Embedded %d complaint(s) stored without a vector", filled)
    refs = load_references()
    session = sessions()
    try:
        if stored(session, week) is not None:
            raise WeekAlreadyBuilt(f"the digest of {week.label} is already built")
        analysis = analyse(session, week, ctx.tz, refs, ctx.threshold, now)
        attach_topics(session, analysis.groups, week.label, ctx.threshold)
        update_ledger(session, analysis, ctx.rules, ctx.threshold, ctx.calendar, now)
        items = list_items(session)
        html = render_html(analysis, items, ctx.staff_chat_id, now, ctx.tz)
        chart = render_chart(analysis)
        xlsx = render_workbook(analysis, items, ctx.tz)
        payload = to_payload(week, ctx.method, analysis)
        digest_id = None
        if dry_run:
            session.rollback()
        else:
            digest_id = _store(session, analysis, ctx, html, chart, xlsx, now)
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise WeekAlreadyBuilt(f"the digest of {week.label} was built by another process") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return BuiltDigest(week, html, chart, xlsx, digest_id, payload)


def _store(
    session: Session, analysis: WeekAnalysis, ctx: DigestContext, html: str, chart: bytes, xlsx: bytes, now: datetime
) -> int:
    week = analysis.week
    digest = Digest(
        week=week.label,
        starts_at=week.starts(ctx.tz),
        ends_at=week.ends(ctx.tz),
        complaints=analysis.total,
        method=ctx.method,
        html=html,
        chart_png=chart,
        xlsx=xlsx,
        built_at=now,
    )
    session.add(digest)
    session.flush()  # the unique week: a second builder fails here, before any group is written
    ledger_ids = dict(
        session.execute(
            select(LedgerItem.number, LedgerItem.id).where(
                LedgerItem.number.in_({g.ledger_number for g in analysis.groups if g.ledger_number})
            )
        )
        .tuples()
        .all()
    )
    rows = [
        DigestGroup(
            digest_id=digest.id,
            rank=rank,
            label=group.label[:128],
            size=group.size,
            reporters=group.reporters,
            previous_size=group.previous_size,
            is_new=group.is_new,
            high_frequency=group.high_frequency,
            ledger_item_id=ledger_ids.get(group.ledger_number or ""),
            topic_id=group.topic.id if group.topic is not None else None,
            details=_details(group),
            centroid=np.asarray(group.mean, dtype=np.float32).tobytes(),
        )
        for rank, group in enumerate(analysis.groups, start=1)
    ]
    session.add_all(rows)
    session.flush()  # one batched INSERT … RETURNING for all groups
    batch: list[dict[str, int]] = []
    for row, group in zip(rows, analysis.groups, strict=True):
        batch += [{"group_id": row.id, "record_id": item.record_id} for item in group.items]
        if len(batch) >= MEMBER_BATCH:
            session.execute(insert(DigestMember), batch)
            batch = []
    if batch:
        session.execute(insert(DigestMember), batch)
    return digest.id


def _summary(group: Group) -> dict[str, Any]:
    """A group as `--json` shows it, without its members; stored with the group, so a digest read back
    from the database shows the same."""
    return {
        "label": group.label,
        "size": group.size,
        "reporters": group.reporters,
        "previous_size": group.previous_size,
        "is_new": group.is_new,
        "high_frequency": group.high_frequency,
        "ledger": group.ledger_number,
        "photo_only": group.photo_only,
        "stations": [name for name, _ in group.stations],
        "units": [name for name, _ in group.units],
        "open_cases": group.open_cases,
        "overdue_cases": group.overdue_cases,
    }


def _details(group: Group) -> dict[str, Any]:
    return {
        "summary": _summary(group),
        "station_counts": group.stations[:20],
        "unit_counts": group.units[:20],
        "categories": group.categories[:20],
        "channels": group.channels[:20],
        "quotes": group.quotes,
        "cases": [c.number for c in group.cases[:200]],
        "recent_size": group.recent_size,
        "ledger_new": group.ledger_new,
    }


def to_payload(week: Week, method: str, analysis: WeekAnalysis) -> dict[str, Any]:
    """What `--json` writes: the groups with their member complaints' ids."""
    groups = [_summary(g) | {"members": g.member_ids()} for g in analysis.groups]
    return {"week": week.label, "method": method, "complaints": analysis.total, "groups": groups}


def read_stored(session: Session, week: Week) -> BuiltDigest | None:
    """A built week as it was stored (for `complaints digest` on a week already done)."""
    digest = stored(session, week)
    if digest is None:
        return None
    members: dict[int, list[str]] = {}
    query = (
        select(DigestMember.group_id, ComplaintRecord.external_id, ComplaintRecord.id)
        .join(ComplaintRecord, DigestMember.record_id == ComplaintRecord.id)
        .join(DigestGroup, DigestMember.group_id == DigestGroup.id)
        .where(DigestGroup.digest_id == digest.id)
        .order_by(ComplaintRecord.received_at, ComplaintRecord.id)
    )
    for group_id, external, record_id in session.execute(query):
        members.setdefault(group_id, []).append(external or f"record:{record_id}")
    groups = [group.details["summary"] | {"members": members.get(group.id, [])} for group in digest.groups]
    payload = {"week": week.label, "method": digest.method, "complaints": digest.complaints, "groups": groups}
    return BuiltDigest(week, digest.html, digest.chart_png, digest.xlsx, digest.id, payload)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
