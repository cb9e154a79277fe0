"""Telegram lets a bot post about 20 messages a minute in one group. Every bot worker counts its posts to
the staff group here, in the database they share, so two workers together stay within the limit (a
per-process limiter lets each of them send 20)."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from storage.models import GroupPost

WINDOW = timedelta(minutes=1)
RATE_NAMESPACE = zlib.crc32(b"complaints-group-rate") & 0x7FFFFFFF


def take_slot(session: Session, chat_id: int, per_minute: float, now: datetime) -> float:
    """Record a post now if the last minute has room (0.0), else the seconds to wait before asking again."""
    if session.get_bind().dialect.name == "postgresql":  # one worker at a time counts for this chat
        key = zlib.crc32(str(chat_id).encode()) & 0x7FFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": RATE_NAMESPACE, "key": key})
    recent = select(func.count(), func.min(GroupPost.sent_at)).where(
        GroupPost.chat_id == chat_id, GroupPost.sent_at > now - WINDOW
    )
    count, oldest = session.execute(recent).one()
    if count < per_minute:
        session.add(GroupPost(chat_id=chat_id, sent_at=now))
        return 0.0
    return max(float((oldest + WINDOW - now).total_seconds()), 0.05)


def forget_old(session: Session, now: datetime) -> int:
    """Drop what no longer counts (called now and then)."""
    result = session.execute(delete(GroupPost).where(GroupPost.sent_at <= now - WINDOW))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # DML returns a CursorResult; Session.execute is typed Result
