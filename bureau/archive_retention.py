"""Retention of what was derived from drivers' words: imported complaints, weekly digests (message, groups,
workbook) and ledger items. Cases and their messages are handled in storage.privacy."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.export import write_cell
from foundation.enums import LedgerState
from foundation.masks import scrub
from storage.models import Case, ComplaintRecord, Digest, DigestGroup, DigestMember, LedgerItem

# workbook columns that hold drivers' words (case numbers, counts and ids elsewhere stay as they are)
WORDS_COLUMNS = frozenset({"问题", "代表性原话（已脱敏）", "整改措施", "销号说明", "站点", "单位"})


def _changed(old: str | None, new: str | None) -> bool:
    return old != new


def scrub_workbook(xlsx: bytes) -> bytes:
    """The same workbook with the text columns scrubbed."""
    book = load_workbook(io.BytesIO(xlsx))
    for sheet in book:
        headers = {cell.column: cell.value for cell in sheet[1]}
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if headers.get(cell.column) in WORDS_COLUMNS and isinstance(cell.value, str):
                    write_cell(sheet, cell.row, cell.column, scrub(cell.value))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _scrub_details(details: dict[str, Any]) -> dict[str, Any]:
    result = dict(details)
    result["quotes"] = [scrub(q) for q in details.get("quotes") or []]
    if isinstance(details.get("summary"), dict):
        summary = dict(details["summary"])
        for key in ("label", "quotes"):
            if isinstance(summary.get(key), str):
                summary[key] = scrub(summary[key])
            elif isinstance(summary.get(key), list):
                summary[key] = [scrub(q) if isinstance(q, str) else q for q in summary[key]]
        result["summary"] = summary
    return result


def _scrub_digest(digest: Digest) -> bool:
    """Scrub one digest; False if there was nothing left to scrub (scrub leaves its placeholders alone)."""
    html = scrub(digest.html)
    groups = [(group, scrub(group.label), _scrub_details(group.details or {})) for group in digest.groups]
    if html == digest.html and all((g.label, g.details) == (label, d) for g, label, d in groups):
        return False
    digest.html = html
    digest.xlsx = scrub_workbook(digest.xlsx)  # holds the same labels and quotes as the groups
    for group, label, details in groups:
        group.label, group.details = label, details
    return True


def scrub_digests_of(session: Session, reporter_id: int) -> int:
    """An erasure: the digests that quote one of the person's complaints, scrubbed now (not a year on)."""
    quoted = (
        select(Digest)
        .join(DigestGroup, DigestGroup.digest_id == Digest.id)
        .join(DigestMember, DigestMember.group_id == DigestGroup.id)
        .join(ComplaintRecord, ComplaintRecord.id == DigestMember.record_id)
        .join(Case, Case.id == ComplaintRecord.case_id)
        .where(Case.reporter_id == reporter_id)
        .distinct()
    )
    return sum(_scrub_digest(digest) for digest in session.scalars(quoted))


def scrub_archives(session: Session, cutoff: datetime) -> int:
    """Imported complaints received, digests sent and ledger items closed before `cutoff`; returns rows changed."""
    changed = 0
    imported = select(ComplaintRecord).where(ComplaintRecord.case_id.is_(None), ComplaintRecord.received_at < cutoff)
    for record in session.scalars(imported):
        if _changed(record.text, new := scrub(record.text)):
            record.text = new
            changed += 1
    sent = select(Digest).where(Digest.sent_at.is_not(None), Digest.built_at < cutoff)
    changed += sum(_scrub_digest(digest) for digest in session.scalars(sent))
    closed = select(LedgerItem).where(LedgerItem.state == LedgerState.closed, LedgerItem.closed_at < cutoff)
    for item in session.scalars(closed):
        title, measures, note = (
            scrub(item.title),
            item.measures and scrub(item.measures),
            item.close_note and scrub(item.close_note),
        )
        if (title, measures, note) != (item.title, item.measures, item.close_note):
            item.title, item.measures, item.close_note = title, measures, note
            changed += 1
    return changed
