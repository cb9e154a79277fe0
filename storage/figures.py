"""Counts for monitoring: cases opened so far and cases past their handling deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.desk import OPEN_STATES
from storage.models import Case


def cases_opened(session: Session) -> int:
    """Every case ever filed (merged and closed ones included): a counter that only grows."""
    return int(session.scalar(select(func.count(Case.id))) or 0)


def cases_overdue(session: Session, now: datetime) -> int:
    """Open cases past their handling-opinion deadline (处理意见, 5 working days; urgent ones sooner)."""
    query = select(func.count(Case.id)).where(Case.state.in_(OPEN_STATES), Case.opinion_due < now)
    return int(session.scalar(query) or 0)
