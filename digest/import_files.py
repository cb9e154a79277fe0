"""Reading a file of complaints from other channels into numbered rows of named columns: CSV (UTF-8 or
GB18030), XLSX, XLS (Excel 97-2003) or JSON Lines. What the rows mean is digest/importer.py's business."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

# Accepted column names (matched case-insensitively, spaces ignored); the first is the canonical one.
# A row number (序号) is not an external id: two exports of one channel both start at 1.
COLUMNS: dict[str, tuple[str, ...]] = {
    "text": (
        "text",
        "content",
        "complaint",
        "message",
        "description",
        "body",
        "内容",
        "投诉内容",
        "诉求内容",
        "问题描述",
        "描述",
        "来电内容",
        "诉求",
        "投诉",
        "反映内容",
        "投诉描述",
        "来信内容",
        "事项内容",
    ),
    "received_at": (
        "received_at",
        "time",
        "date",
        "datetime",
        "received",
        "received_time",
        "created_at",
        "timestamp",
        "时间",
        "受理时间",
        "来电时间",
        "日期",
        "收到时间",
        "登记时间",
        "投诉时间",
        "受理日期",
        "来信日期",
    ),
    "channel": ("channel", "source", "渠道", "来源", "受理渠道", "投诉渠道"),
    "station": ("station", "place", "location", "站点", "地点", "场所", "发生地点", "地址"),
    "plate": ("plate", "plate_number", "车牌", "车牌号", "车牌号码"),
    "phone": ("phone", "mobile", "tel", "电话", "联系电话", "手机", "手机号", "联系方式"),
    "reporter": ("reporter", "name", "投诉人", "联系人", "姓名", "来电人", "来信人"),
    "unit": ("unit", "department", "单位", "承办单位", "责任单位", "被投诉单位", "部门"),
    "external_id": (
        "external_id",
        "id",
        "complaint_id",
        "ticket",
        "ticket_id",
        "ref",
        "编号",
        "工单号",
        "单号",
        "工单编号",
        "投诉编号",
    ),
    "has_photo": ("has_photo", "photo", "图片", "附件", "照片"),
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns); nothing was imported."""


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: UTF-8 (with or without BOM), else GB18030 (a superset of
    GBK and GB2312, what Excel on a Chinese Windows saves), else a clear error."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise ImportFileError(f"文件无法按 {encoding} 解码：{exc}") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"  # Excel's "Unicode text"
    for candidate in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # NULs: a UTF-16/32 file without its byte order mark
            return text, candidate
    raise ImportFileError(
        "文件编码无法识别（既不是 UTF-8，也不是 GBK/GB18030）。请在 Excel 中“另存为”并选择“CSV UTF-8（逗号分隔）”，"
        "或用 --encoding 指定编码（例如 --encoding big5）后重新导入。"
    )


@cache
def _aliases() -> dict[str, str]:
    return {alias.lower(): name for name, aliases in COLUMNS.items() for alias in aliases}


def _column(header: object) -> str | None:
    """Our name for a column header or JSON key (case and spaces ignored), None if we do not use it."""
    return _aliases().get(re.sub(r"\s+", "", str(header or "")).lower())


def _header_map(headers: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = _column(header)
        if name and name not in found:
            found[name] = index
    missing = [name for name in ("text", "received_at") if name not in found]
    if missing:
        shown = "、".join(str(h) for h in headers if h) or "（空）"
        needed = "；".join(f"{n}：{'/'.join(COLUMNS[n][:4])}" for n in missing)
        raise ImportFileError(
            f"缺少必需的列（{needed}）。文件的表头是：{shown[:200]}。"
            "如果表头是乱码，文件可能是其他编码（如繁体 Big5）：请另存为“CSV UTF-8”，或用 --encoding 指定。"
        )
    return found


def _csv_rows(text: str) -> Iterator[tuple[int, list[Any]]]:
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for values in reader:
            yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:  # e.g. a cell over the csv module's size limit: the rest cannot be read
        raise ImportFileError(f"第 {start} 行起无法按 CSV 读取（{exc}）；请检查该行后重新导入") from exc


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a damaged or non-xlsx file
        raise ImportFileError(f"无法读取 Excel 文件（请保存为 .xlsx 格式）：{exc}") from exc
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def _xls_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """Rows of an Excel 97-2003 workbook's first sheet; date cells as datetimes, like openpyxl gives them."""
    import xlrd

    try:
        book = xlrd.open_workbook(path, on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, CompDocError, struct errors for damaged files
        raise ImportFileError(f"无法读取 .xls 文件（文件损坏，或不是 Excel 97-2003 格式）：{exc}") from exc
    try:
        sheet = book.sheet_by_index(0)
        for index in range(sheet.nrows):
            yield index + 1, [_xls_value(cell, book.datemode) for cell in sheet.row(index)]
    finally:
        book.release_resources()


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return str(cell.value)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    return cell.value


def _table(path: Path, encoding: str | None) -> tuple[Iterator[tuple[int, dict[str, Any]]], str | None]:
    """Rows as (line number, {column: value}) for CSV/TSV, XLSX and XLS, plus the encoding used."""
    suffix = path.suffix.lower()
    used: str | None = None
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
    elif suffix == ".xls":
        rows = _xls_rows(path)
    else:
        text, used = decode(path.read_bytes(), encoding)
        rows = _csv_rows(text)
    first = next(rows, None)
    if first is None:
        raise ImportFileError("文件是空的")
    columns = _header_map(first[1])

    def mapped() -> Iterator[tuple[int, dict[str, Any]]]:
        for line, values in rows:
            if not any(str(v).strip() for v in values if v is not None):
                continue
            yield line, {name: values[i] if i < len(values) else None for name, i in columns.items()}

    return mapped(), used


def _jsonl(path: Path, encoding: str | None) -> tuple[Iterator[tuple[int, dict[str, Any] | str]], str]:
    text, used = decode(path.read_bytes(), encoding)

    def rows() -> Iterator[tuple[int, dict[str, Any] | str]]:
        for line, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield line, f"不是有效的 JSON：{exc.msg}"
                continue
            if not isinstance(value, dict):
                yield line, "每行应是一个 JSON 对象"
                continue
            columns = {name: v for k, v in value.items() if (name := _column(k))}
            yield line, columns

    return rows(), used


def read_rows(path: Path, encoding: str | None) -> tuple[Iterator[tuple[int, dict[str, Any] | str]], str | None]:
    if not path.exists():
        raise ImportFileError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl(path, encoding)
    if suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xls"):
        table, used = _table(path, encoding)
        return iter(table), used
    raise ImportFileError(f"不支持的文件类型 {suffix or '（无扩展名）'}：请使用 .csv、.xlsx、.xls 或 .jsonl")
