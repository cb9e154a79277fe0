"""`complaints import FILE`: complaints received on other channels (12328 line, letters, walk-ins, the
WeChat account) as CSV, XLSX, XLS (Excel 97-2003) or JSON Lines.

Re-importing a file adds nothing twice (each row has a key: its channel and external id, or a hash of its
channel, time and text); bad rows are reported with their line numbers and the good rows still go in.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.import_files import read_rows
from digest.records import reporter_pseudonym, try_embed
from foundation import embedding
from foundation.clock import utcnow
from storage.models import ComplaintRecord

DEFAULT_CHANNEL = "其他渠道"
MAX_TEXT = 4000
BATCH = 256
CLOCK_SKEW = timedelta(hours=1)

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


class ImportProgress(Protocol):
    """Told how far an import is: rows read, then rows stored (embedding them is the slow part)."""

    def read(self, rows: int) -> None: ...

    def storing(self, total: int) -> None: ...

    def stored(self, rows: int) -> None: ...


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


def import_file(
    session: Session,
    path: Path,
    tz: ZoneInfo,
    key: bytes,
    channel: str | None = None,
    encoding: str | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Read, check and store the rows of `path`; embeddings are computed here, once, for new rows."""
    rows, used = read_rows(path, encoding)
    report = ImportReport(encoding=used)
    now = utcnow()
    seen: dict[str, int] = {}
    fresh: list[Row] = []
    for line, values in rows:
        report.rows += 1
        if progress is not None:
            progress.read(1)
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
    if progress is not None:
        progress.storing(len(fresh))
    for first in range(0, len(fresh), BATCH):
        batch = fresh[first : first + BATCH]
        report.added += _store(session, batch, report)
        if progress is not None:
            progress.stored(len(batch))
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
