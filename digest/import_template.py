"""`complaints import --template FILE.xlsx`: a workbook with the columns the importer reads, to fill in."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# (header, required, width, what to write); each header is the first Chinese name the importer accepts
TEMPLATE_COLUMNS: tuple[tuple[str, bool, int, str], ...] = (
    ("工单号", False, 14, "各渠道自己的编号；有了它，同一条再次导入不会重复"),
    ("受理时间", True, 18, "如 2026-11-20 14:30；Excel 的日期时间格式也可以"),
    ("投诉内容", True, 60, "投诉的原话或摘要"),
    ("渠道", False, 12, "如 12328、来信、来访；空着则用 --channel 或“其他渠道”"),
    ("站点", False, 16, "涉及的站点或地点"),
    ("车牌号", False, 12, "只以不可逆的化名保存，用于识别同一投诉人"),
    ("联系电话", False, 14, "只以不可逆的化名保存，用于识别同一投诉人"),
    ("投诉人", False, 10, "只以不可逆的化名保存"),
    ("承办单位", False, 16, "被投诉或承办的单位"),
    ("图片", False, 8, "有图片写“是”"),
)
SHEET = "投诉"


class TemplateError(ValueError):
    """The template cannot be written where asked."""


REQUIRED_FILL = PatternFill("solid", start_color="FFF2CC")


def template_bytes() -> bytes:
    """The template: a sheet with the headers (required ones shaded), and a sheet that explains each column."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = SHEET
    sheet.append([header for header, *_ in TEMPLATE_COLUMNS])
    for column, (cell, (_, required, width, _)) in enumerate(zip(sheet[1], TEMPLATE_COLUMNS, strict=True), start=1):
        cell.font = Font(bold=True)
        if required:
            cell.fill = REQUIRED_FILL
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    for row in range(2, 1002):  # the time column shows what Excel holds as a date-time
        sheet.cell(row=row, column=2).number_format = "yyyy-mm-dd hh:mm"
    notes = book.create_sheet("填写说明")
    notes.append(["列", "必填", "说明"])
    for header, required, _, what in TEMPLATE_COLUMNS:
        notes.append([header, "是" if required else "", what])
    notes.append([])
    notes.append(["只导入第一个工作表（“投诉”）。填好后运行：complaints import 文件名.xlsx --channel 12328"])
    notes.column_dimensions["A"].width, notes.column_dimensions["C"].width = 12, 60
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_template(path: Path) -> None:
    if path.suffix.lower() != ".xlsx":
        raise TemplateError(f"模板是 .xlsx 文件，请用 .xlsx 结尾的文件名（而不是 {path.name}）")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(template_bytes())
