"""The case ledger (台账) as an Excel workbook, with phone numbers and plates masked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.labels import KIND_NAMES
from bureau.stats import DEFINITIONS, local_day_window
from foundation.logs import mask
from storage.models import Case

TIME_FORMAT = "yyyy-mm-dd hh:mm"
# what makes a spreadsheet read a cell as a formula (tab and CR too, for a copy pasted into a CSV)
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
Value = str | int | float | datetime | None


def mask_personal(text: str | None) -> str | None:
    """Phone numbers, plates and long id numbers masked as in the logs."""
    return None if text is None else mask(text)


def write_cell(sheet: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write one value; text always stays text, never a formula, whoever typed it.

    Text starting with a formula character gets Excel's own quote prefix (what typing `'=1+1` does): the
    words are kept exactly and the cell is not evaluated, not even after it is edited.
    """
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell: Cell = sheet.cell(row=row, column=column, value=cast(Any, value))
    if isinstance(value, datetime):
        cell.number_format = TIME_FORMAT
    elif isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_LEADS):
            cell.quotePrefix = True
    return cell


def export_ledger(
    session: Session, path: Path, tz: ZoneInfo, start: date | None = None, end: date | None = None
) -> int:
    """Write the cases received from `start` to `end` (local days, both included) to `path`; return the row count."""
    lower, upper = local_day_window(start, end, tz)
    query = select(Case).order_by(Case.created_at, Case.id)
    if lower is not None:
        query = query.where(Case.created_at >= lower)
    if upper is not None:
        query = query.where(Case.created_at < upper)
    cases = list(session.scalars(query))
    merged_ids = {case.merged_into_id for case in cases if case.merged_into_id is not None}
    numbers = dict(session.execute(select(Case.id, Case.number).where(Case.id.in_(merged_ids))).tuples().all())

    def local(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)

    columns: list[tuple[str, int, Callable[[Case], Value]]] = [
        ("案件编号", 16, lambda c: c.number),
        ("类型", 10, lambda c: KIND_NAMES[c.kind]),
        ("状态", 10, lambda c: c.state.value),
        ("承办单位", 18, lambda c: c.unit),
        ("类别", 14, lambda c: c.category),
        ("紧急", 6, lambda c: "是" if c.urgent else "否"),
        ("受理时间", 17, lambda c: local(c.created_at)),
        ("转办时限", 17, lambda c: local(c.handoff_due)),
        ("首次反馈时限", 17, lambda c: local(c.first_feedback_due)),
        ("办理时限", 17, lambda c: local(c.opinion_due)),
        ("首次反馈时间", 17, lambda c: local(c.first_feedback_at)),
        ("答复时间", 17, lambda c: local(c.answered_at)),
        ("办结时间", 17, lambda c: local(c.closed_at)),
        ("回访时间", 17, lambda c: local(c.return_visit_at)),
        ("满意度", 10, lambda c: c.rating),
        ("评价", 30, lambda c: mask_personal(c.rating_comment)),
        ("重办次数", 9, lambda c: c.reopen_count),
        ("延期次数", 9, lambda c: c.extension_count),
        ("合并至", 16, lambda c: numbers.get(c.merged_into_id) if c.merged_into_id else None),
        ("转介渠道", 16, lambda c: c.referral),
        ("摘要", 60, lambda c: mask_personal(c.summary)),
    ]
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "案件台账"
    sheet.append([header for header, _, _ in columns])
    for row, case in enumerate(cases, start=2):
        for column, (_, _, value_of) in enumerate(columns, start=1):
            write_cell(sheet, row, column, value_of(case))
    _decorate(sheet, [width for _, width, _ in columns])
    _definitions_sheet(book)
    book.save(path)
    return len(cases)


def _decorate(sheet: Worksheet, widths: list[int]) -> None:
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _definitions_sheet(book: Workbook) -> None:
    sheet = book.create_sheet("指标说明")
    sheet.append(["指标", "定义"])
    for name, definition in DEFINITIONS:
        sheet.append([name, definition])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 100
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
