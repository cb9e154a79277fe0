"""`complaints import FILE`: complaints received on other channels (12328 line, letters, walk-ins, the
WeChat account) as CSV, XLSX or JSON Lines.

Re-importing a file adds nothing twice (each row has a key: its channel and external id, or a hash of its
channel, time and text); bad rows are reported with their line numbers and the good rows still go in.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints import embedding
from complaints.clock import utcnow
from complaints.digest.records import reporter_pseudonym, try_embed
from storage.models import ComplaintRecord

DEFAULT_CHANNEL = "其他渠道"
MAX_TEXT = 4000
BATCH = 256
CLOCK_SKEW = timedelta(hours=1)

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
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d %H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y年%m月%d日",
)
TRUE_WORDS = {"1", "true", "yes", "y", "是", "有"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns); nothing was imported."""


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    encoding: str | None
    rows: int = 0
    added: int = 0
    already: int = 0
    bad: list[BadRow] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    line: int
    key: str
    channel: str
    external_id: str | None
    text: str
    has_photo: bool
    received_at: datetime
    station: str | None
    unit: str | None
    reporter_key: str | None


# ---------------------------------------------------------------------------------------------- reading


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


def _table(path: Path, encoding: str | None) -> tuple[Iterator[tuple[int, dict[str, Any]]], str | None]:
    """Rows as (line number, {column: value}) for CSV/TSV and XLSX, plus the encoding used."""
    suffix = path.suffix.lower()
    used: str | None = None
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
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


# ---------------------------------------------------------------------------------------------- parsing


def parse_time(value: Any, tz: ZoneInfo) -> datetime:
    """A received time from a cell: a datetime (Excel), a date, or text in the formats offices use; a time
    without an offset is local time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        raw = re.sub(r"\s+", " ", str(value or "")).strip()
        if not raw:
            raise ValueError("缺少受理时间")
        moment = _parse_text_time(raw)
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _parse_text_time(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            continue
    raise ValueError(f"时间无法识别：{raw[:40]}（请用 2026-11-20 14:30 这样的格式）")


def _clean(value: Any, limit: int = 128) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text[:limit] or None


def parse_row(line: int, values: dict[str, Any], default_channel: str, tz: ZoneInfo, key: bytes, now: datetime) -> Row:
    """One row, or ValueError with the reason in Chinese."""
    text = (_clean(values.get("text"), MAX_TEXT) or "").replace("\x00", "")
    has_photo = str(values.get("has_photo") or "").strip().lower() in TRUE_WORDS
    if not text and not has_photo:
        raise ValueError("没有投诉内容")
    received_at = parse_time(values.get("received_at"), tz)
    if received_at > now + CLOCK_SKEW:
        raise ValueError(f"受理时间在未来：{received_at:%Y-%m-%d %H:%M}")
    channel = _clean(values.get("channel"), 32) or default_channel
    external_id = _clean(values.get("external_id"))
    if external_id:
        row_key = f"ext:{channel}:{external_id}"
    else:
        fingerprint = f"{channel}|{received_at.isoformat()}|{text}".encode()
        row_key = f"row:{hashlib.sha1(fingerprint).hexdigest()}"
    reporter_key = None
    for kind in ("phone", "plate", "reporter"):
        who = _clean(values.get(kind))
        if who:
            reporter_key = reporter_pseudonym(kind, re.sub(r"[\s·.\-]", "", who).upper(), key)
            break
    return Row(
        line=line,
        key=row_key[:160],
        channel=channel,
        external_id=external_id,
        text=text,
        has_photo=has_photo,
        received_at=received_at,
        station=_clean(values.get("station")),
        unit=_clean(values.get("unit"), 64),
        reporter_key=reporter_key,
    )


# ---------------------------------------------------------------------------------------------- storing


def _rows(path: Path, encoding: str | None) -> tuple[Iterator[tuple[int, dict[str, Any] | str]], str | None]:
    if not path.exists():
        raise ImportFileError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl(path, encoding)
    if suffix in (".csv", ".tsv", ".txt", ".xlsx"):
        table, used = _table(path, encoding)
        return iter(table), used
    if suffix == ".xls":
        raise ImportFileError("不支持旧版 .xls 文件：请在 Excel 中另存为 .xlsx 或 CSV UTF-8 后重新导入")
    raise ImportFileError(f"不支持的文件类型 {suffix or '（无扩展名）'}：请使用 .csv、.xlsx 或 .jsonl")


def import_file(
    session: Session,
    path: Path,
    tz: ZoneInfo,
    key: bytes,
    channel: str | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Read, check and store the rows of `path`; embeddings are computed here, once, for new rows."""
    rows, used = _rows(path, encoding)
    report = ImportReport(encoding=used)
    now = utcnow()
    seen: dict[str, int] = {}
    fresh: list[Row] = []
    for line, values in rows:
        report.rows += 1
        if isinstance(values, str):
            report.bad.append(BadRow(line, values))
            continue
        try:
            row = parse_row(line, values, channel or DEFAULT_CHANNEL, tz, key, now)
        except ValueError as exc:
            report.bad.append(BadRow(line, str(exc)))
            continue
        if row.key in seen:
            what = f"编号 {row.external_id}" if row.external_id else "同一内容"
            report.bad.append(BadRow(line, f"{what}在文件中重复（与第 {seen[row.key]} 行相同），未重复导入"))
            continue
        seen[row.key] = line
        fresh.append(row)
    for first in range(0, len(fresh), BATCH):
        report.added += _store(session, fresh[first : first + BATCH], report)
    return report


def _store(session: Session, rows: list[Row], report: ImportReport) -> int:
    keys = [row.key for row in rows]
    existing = {
        r.dedup_key: r for r in session.scalars(select(ComplaintRecord).where(ComplaintRecord.dedup_key.in_(keys)))
    }
    new_rows = []
    for row in rows:
        stored = existing.get(row.key)
        if stored is None:
            new_rows.append(row)
        elif stored.text == row.text:
            report.already += 1
        else:
            report.bad.append(BadRow(row.line, f"编号 {row.external_id} 已导入过且内容不同，未覆盖已导入的记录"))
    vectors = try_embed([row.text for row in new_rows])
    for row, vector in zip(new_rows, vectors, strict=True):
        session.add(
            ComplaintRecord(
                dedup_key=row.key,
                source="import",
                channel=row.channel,
                external_id=row.external_id,
                text=row.text,
                has_photo=row.has_photo,
                received_at=row.received_at,
                station=row.station,
                unit=row.unit,
                reporter_key=row.reporter_key,
                embedding=vector,
                embedding_model=embedding.MODEL if vector is not None else None,
            )
        )
    session.flush()
    return len(new_rows)
