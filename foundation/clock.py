"""Time helpers: all stored times are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; treat them as the UTC we stored."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
