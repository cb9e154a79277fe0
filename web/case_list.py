"""The case list's filters, read from the query string and turned into one SQL query (a year of cases is
filtered and paged by the database, not in Python)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from bureau.deadlines import overdue_condition
from bureau.stats import local_day_window
from foundation.enums import CaseKind, CaseState
from storage.models import Case
from storage.web_access import Viewer

PAGE_SIZE = 50


class FilterError(ValueError):
    """A filter value that cannot be read; the message (Chinese) is shown above the list."""


@dataclass(frozen=True)
class CaseFilters:
    unit: str | None = None
    kind: CaseKind | None = None
    state: CaseState | None = None
    overdue: bool = False
    urgent: bool = False
    start: date | None = None
    end: date | None = None
    page: int = 1
    errors: tuple[str, ...] = field(default=())

    def query_string(self, page: int | None = None) -> str:
        values = {
            "unit": self.unit or "",
            "kind": self.kind.value if self.kind else "",
            "state": self.state.name if self.state else "",
            "overdue": "1" if self.overdue else "",
            "urgent": "1" if self.urgent else "",
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "page": str(page or self.page),
        }
        return urlencode({k: v for k, v in values.items() if v})


def _date(raw: str, name: str, errors: list[str]) -> date | None:
    if not raw.strip():
        return None
    text = raw.strip().replace("/", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"{name}“{raw.strip()[:20]}”不是日期，请写成 2026-11-01。")
        return None


def read_filters(params: dict[str, str]) -> CaseFilters:
    """Filters from the query string; what cannot be read is left out and named in `errors`."""
    errors: list[str] = []
    kind = state = None
    if raw := params.get("kind", "").strip():
        try:
            kind = CaseKind(raw)
        except ValueError:
            errors.append("没有这种案件类型。")
    if raw := params.get("state", "").strip():
        state = CaseState.__members__.get(raw)
        if state is None:
            errors.append("没有这种案件状态。")
    start, end = _date(params.get("from", ""), "起始日期", errors), _date(params.get("to", ""), "截止日期", errors)
    if start and end and start > end:
        errors.append("起始日期晚于截止日期，已对调。")
        start, end = end, start
    page = params.get("page", "1").strip()
    return CaseFilters(
        unit=params.get("unit", "").strip()[:64] or None,
        kind=kind,
        state=state,
        overdue=params.get("overdue") == "1",
        urgent=params.get("urgent") == "1",
        start=start,
        end=end,
        page=max(int(page), 1) if page.isdigit() and len(page) < 7 else 1,
        errors=tuple(errors),
    )


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Supervisors see every case; staff see the cases the staff group sees (those posted to it)."""
    if viewer.is_supervisor:
        return Case.id.is_not(None)
    return Case.escalated_at.is_not(None)


def _conditions(filters: CaseFilters, viewer: Viewer, tz: ZoneInfo, now: datetime) -> list[ColumnElement[bool]]:
    found = [visible_to(viewer)]
    if filters.unit:
        found.append(Case.unit == filters.unit)
    if filters.kind:
        found.append(Case.kind == filters.kind)
    if filters.state:
        found.append(Case.state == filters.state)
    if filters.urgent:
        found.append(Case.urgent.is_(True))
    if filters.overdue:
        found.append(overdue_condition(now))
    lower, upper = local_day_window(filters.start, filters.end, tz)
    if lower is not None:
        found.append(Case.created_at >= lower)
    if upper is not None:
        found.append(Case.created_at < upper)
    return found


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    total: int
    page: int
    pages: int


def list_cases(session: Session, filters: CaseFilters, viewer: Viewer, tz: ZoneInfo, now: datetime) -> CasePage:
    conditions = _conditions(filters, viewer, tz, now)
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(filters.page, pages)
    query: Select[tuple[Case]] = (
        select(Case).where(*conditions).order_by(Case.created_at.desc(), Case.id.desc()).limit(PAGE_SIZE)
    )
    cases = list(session.scalars(query.offset((page - 1) * PAGE_SIZE)))
    return CasePage(cases, total, page, pages)


def units(session: Session) -> list[str]:
    return list(session.scalars(select(Case.unit).distinct().order_by(Case.unit)))
