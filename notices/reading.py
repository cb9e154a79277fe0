"""One photo read: OCR, the fields (personal data masked), the checks and the deadlines, as one Reading.

Only masked fields are kept; the raw text of the photo leaves this module nowhere."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from PIL import Image

from foundation.masks import scrub_document
from notices.checks import Finding, Verdict, check
from notices.deadlines import Deadlines, deadlines
from notices.fields import Citation, NoticeFields, extract
from notices.law import Library
from notices.layout import rows
from notices.ocr import OcrEngine, UnreadableImage, open_photo

PENALTY_WORDS = ("处罚", "罚款", "决定书", "通知书", "执法", "检测单")
MIN_ROWS = 3  # fewer rows than this is not a document


class Status(StrEnum):
    read = "read"  # the key fields were read: the answer and the checks
    unreadable = "unreadable"  # looks like a notice, but key fields could not be read: a sharper photo please
    not_a_notice = "not_a_notice"  # no notice in the photo
    two_pages = "two_pages"  # more than one notice in one photo


@dataclass(frozen=True)
class Reading:
    status: Status
    fields: NoticeFields = field(default_factory=NoticeFields)
    findings: tuple[Finding, ...] = ()
    deadlines: Deadlines | None = None
    missing: tuple[str, ...] = ()  # key fields that could not be read
    cpu_seconds: float = 0.0
    engine: str = ""

    @property
    def flagged(self) -> bool:
        return any(f.verdict is Verdict.flag for f in self.findings)


KEY_FIELDS = {"issued": "日期", "basis": "处罚依据（法规和条款）", "amount": "罚款金额"}


def masked(fields: NoticeFields) -> NoticeFields:
    """The fields with names, ID numbers, phones and plates replaced by placeholders."""
    return replace(
        fields,
        facts=scrub_document(fields.facts) if fields.facts else None,
        review_body=scrub_document(fields.review_body) if fields.review_body else None,
        litigation_court=scrub_document(fields.litigation_court) if fields.litigation_court else None,
    )


def _missing(fields: NoticeFields) -> tuple[str, ...]:
    needed = dict(KEY_FIELDS)
    if fields.doc_type and "责令改正" in fields.doc_type:
        needed.pop("amount")  # an order to correct carries no fine
    return tuple(label for name, label in needed.items() if not getattr(fields, name))


def _status(text_rows: list[str], fields: NoticeFields) -> Status:
    text = "".join(text_rows)
    looks_like = fields.doc_type is not None or sum(word in text for word in PENALTY_WORDS) >= 2
    if len(text_rows) < MIN_ROWS or not looks_like:
        return Status.not_a_notice
    if fields.doc_numbers_seen > 1 or fields.titles_seen > 1:
        return Status.two_pages
    return Status.unreadable if _missing(fields) else Status.read


def interpret(text_rows: list[str], library: Library) -> Reading:
    """A Reading from the rows of text a photo holds (the OCR already done)."""
    fields = masked(extract(text_rows))
    status = _status(text_rows, fields)
    if status is not Status.read:
        return Reading(status, fields if status is Status.unreadable else NoticeFields(), missing=_missing(fields))
    assert fields.issued is not None
    return Reading(status, fields, tuple(check(fields, library)), deadlines(fields.issued, fields.amount))


def _score(reading: Reading) -> int:
    order = {Status.read: 3, Status.two_pages: 2, Status.unreadable: 1, Status.not_a_notice: 0}
    return order[reading.status] * 10 - len(reading.missing)


def read_image(image: Image.Image, engine: OcrEngine, library: Library) -> Reading:
    """Read the photo; a page that yields no notice is tried once more upside down."""
    started = time.process_time()
    reading = interpret(rows(engine.lines(image)), library)
    if reading.status in (Status.not_a_notice, Status.unreadable):
        turned = interpret(rows(engine.lines(image.rotate(180))), library)
        if _score(turned) > _score(reading):
            reading = turned
    return replace(reading, cpu_seconds=time.process_time() - started, engine=engine.name)


def read_photo(data: bytes, engine: OcrEngine, library: Library) -> Reading:
    """Read a photo's bytes; bytes that are no image are a photo without a notice."""
    try:
        image = open_photo(data)
    except UnreadableImage:
        return Reading(Status.not_a_notice, engine=engine.name)
    return read_image(image, engine, library)


def to_json(reading: Reading) -> dict[str, Any]:
    """What is stored on the attachment: masked fields, findings, deadlines (dates as ISO strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data = asdict(reading)
    data["status"] = reading.status.value
    data["findings"] = [{"verdict": f.verdict.value, "text": f.text} for f in reading.findings]
    result: dict[str, Any] = plain(data)
    return result


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def from_json(data: dict[str, Any]) -> Reading:
    """A stored reading back as a Reading (for the staff's case card)."""
    raw = dict(data.get("fields") or {})
    for name in ("violated", "basis"):
        raw[name] = tuple(Citation(c["law"], c["article"], c.get("item")) for c in raw.get(name) or [])
    raw["measures"] = tuple(raw.get("measures") or ())
    raw["issued"] = _day(raw.get("issued"))
    d = data.get("deadlines")
    return Reading(
        status=Status(data["status"]),
        fields=NoticeFields(**raw),
        findings=tuple(Finding(Verdict(f["verdict"]), f["text"]) for f in data.get("findings") or []),
        deadlines=Deadlines(
            _day(d["review_by"]) or date.min,
            _day(d["litigation_by"]) or date.min,
            _day(d.get("pay_by")),
            d.get("surcharge_per_day"),
            d.get("surcharge_cap"),
        )
        if d
        else None,
        missing=tuple(data.get("missing") or ()),
        cpu_seconds=float(data.get("cpu_seconds") or 0.0),
        engine=str(data.get("engine") or ""),
    )
