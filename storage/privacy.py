"""Personal data over time: retention of closed cases, a driver's export, and erasure on request.

What is kept: cases are official records of the bureau, so a case itself is never deleted; its personal
parts (fields such as plate or phone, IDs, phones, plates in texts, photos and voice notes, locations) are
replaced by placeholders. The Telegram identity (user id, chat id, name, username, shared phone) is deleted
once none of the person's cases is still being handled. The raw Telegram updates of the inbox are slimmed to
their id after RAW_UPDATE_DAYS, since they repeat names and texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from foundation.enums import CaseState, UpdateStatus
from foundation.masks import scrub, scrub_fields
from storage.models import (
    Attachment,
    Case,
    CaseEvent,
    ComplaintRecord,
    Conversation,
    InboundUpdate,
    Message,
    Reporter,
    ReporterIdentity,
)

FINISHED = (CaseState.closed, CaseState.not_accepted, CaseState.merged)
RAW_UPDATE_DAYS = 30
MESSAGES_BEFORE_CASE = timedelta(days=1)  # the conversation that led to a case began at most this long before
ACTOR = "系统（数据保存期限）"


@dataclass
class PrivacyReport:
    cases: list[str] = field(default_factory=list)  # case numbers pseudonymised
    messages: int = 0
    attachments: int = 0
    identities: int = 0
    raw_updates: int = 0
    tracker_events: int = 0  # Rasa events of earlier sessions trimmed (storage.rasa_tracker.trim)
    archives: int = 0  # imported complaints, digests and ledger items scrubbed (bureau.archive_retention)
    kept_open: list[str] = field(default_factory=list)  # cases still handled: their data waits for the close
    forget_senders: list[str] = field(default_factory=list)  # Rasa trackers to delete

    def merge(self, other: PrivacyReport) -> None:
        self.cases += other.cases
        self.messages += other.messages
        self.attachments += other.attachments
        self.identities += other.identities
        self.raw_updates += other.raw_updates
        self.archives += other.archives
        self.kept_open += other.kept_open
        self.forget_senders += other.forget_senders


# a slimmed update's payload is `{}`; the JSON text of anything else is longer (the same on SQLite and PostgreSQL)
_NOT_SLIMMED = func.length(cast(InboundUpdate.payload, String)) > 2


def _mentions_user(value: Any, user_id: int) -> bool:
    """Whether a Telegram object holds a user (or chat) object with this id anywhere inside."""
    if isinstance(value, dict):
        if value.get("id") == user_id:
            return True
        return any(_mentions_user(v, user_id) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_user(v, user_id) for v in value)
    return False


def _slim_chatless_updates_of(session: Session, user_id: int) -> int:
    """Updates without a chat (blocking the bot, reactions, malformed ones) that name the person."""
    candidates = session.execute(
        select(InboundUpdate.id, InboundUpdate.payload).where(
            InboundUpdate.chat_id.is_(None),
            InboundUpdate.status != UpdateStatus.pending,
            cast(InboundUpdate.payload, String).like(f"%{user_id}%"),
        )
    ).all()
    ids = [row_id for row_id, payload in candidates if _mentions_user(payload, user_id)]
    if ids:
        session.execute(update(InboundUpdate).where(InboundUpdate.id.in_(ids)).values(payload={}))
    return len(ids)


def _finished_at(case: Case) -> datetime:
    return case.closed_at or case.answered_at or case.created_at


def _clear_attachments(session: Session, condition: Any) -> int:
    result = session.execute(
        update(Attachment)
        .where(condition, or_(Attachment.file_id.is_not(None), Attachment.latitude.is_not(None)))
        .values(file_id=None, file_unique_id=None, latitude=None, longitude=None, notice_reading=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # DML returns a CursorResult; Session.execute is typed Result


def _scrub_messages(session: Session, messages: list[Message]) -> int:
    changed = 0
    for message in messages:
        if message.text:
            cleaned = scrub(message.text)
            if cleaned != message.text:
                message.text = cleaned
                changed += 1
        message.entities = None
    ids = [m.id for m in messages]
    if ids:
        changed += _clear_attachments(session, Attachment.message_id.in_(ids))
    return changed


def pseudonymise_case(session: Session, case: Case, now: datetime) -> PrivacyReport:
    """Replace the personal parts of one finished case, and of the messages that led to it."""
    report = PrivacyReport(cases=[case.number])
    case.summary = scrub(case.summary)
    case.fields = scrub_fields(case.fields or {})
    case.answer_text = scrub(case.answer_text) if case.answer_text else None
    case.rating_comment = scrub(case.rating_comment) if case.rating_comment else None
    for event in case.events:
        if event.note:
            event.note = scrub(event.note)
    report.attachments += _clear_attachments(session, Attachment.case_id == case.id)
    for record in session.scalars(select(ComplaintRecord).where(ComplaintRecord.case_id == case.id)):
        record.text = scrub(record.text)
    # the messages from a day before the case to its end, unless a case still kept began meanwhile
    end = _finished_at(case)
    kept = session.scalars(
        select(Case.created_at).where(
            Case.reporter_id == case.reporter_id, Case.id != case.id, Case.pseudonymised_at.is_(None)
        )
    ).all()
    later_kept = [at for at in kept if at > case.created_at - MESSAGES_BEFORE_CASE]
    end = min([end, *(at - MESSAGES_BEFORE_CASE for at in later_kept)])
    messages = session.scalars(
        select(Message).where(
            Message.conversation_id == case.conversation_id,
            Message.created_at >= case.created_at - MESSAGES_BEFORE_CASE,
            Message.created_at <= end,
        )
    ).all()
    report.messages += _scrub_messages(session, list(messages))
    case.pseudonymised_at = now
    session.add(CaseEvent(case_id=case.id, at=now, actor=ACTOR, action="pseudonymised"))
    return report


def _open_cases(session: Session, reporter_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.reporter_id == reporter_id, Case.state.not_in(FINISHED))))


def forget_identity(session: Session, reporter: Reporter) -> PrivacyReport:
    """Delete the Telegram identity and scrub every message of the person (no case of theirs is open)."""
    report = PrivacyReport()
    identity = reporter.identity
    conversation = session.scalars(select(Conversation).where(Conversation.reporter_id == reporter.id)).first()
    if conversation is not None:
        messages = session.scalars(select(Message).where(Message.conversation_id == conversation.id)).all()
        report.messages += _scrub_messages(session, list(messages))
        report.forget_senders.append(conversation.rasa_sender_id)
    if identity is not None:
        chat_id = identity.telegram_chat_id
        slimmed = session.execute(
            update(InboundUpdate)
            .where(InboundUpdate.chat_id == chat_id, InboundUpdate.status != UpdateStatus.pending)
            .values(payload={}, chat_id=None)
        )
        report.raw_updates += int(slimmed.rowcount or 0)  # type: ignore[attr-defined]  # DML returns a CursorResult; Session.execute is typed Result
        report.raw_updates += _slim_chatless_updates_of(session, identity.telegram_user_id)
        session.execute(delete(ReporterIdentity).where(ReporterIdentity.id == identity.id))
        report.identities += 1
    reporter.erase_requested_at = None
    return report


def erase_reporter(session: Session, reporter: Reporter, now: datetime) -> PrivacyReport:
    """A deletion request: finished cases now, the identity too unless a case is still being handled.

    Cases being handled keep what staff need to answer; the request is remembered and completed by the
    retention job when the last of them is finished.
    """
    report = PrivacyReport()
    finished = session.scalars(
        select(Case).where(Case.reporter_id == reporter.id, Case.state.in_(FINISHED), Case.pseudonymised_at.is_(None))
    ).all()
    for case in finished:
        report.merge(pseudonymise_case(session, case, now))
    still_open = _open_cases(session, reporter.id)
    if still_open:
        reporter.erase_requested_at = reporter.erase_requested_at or now
        report.kept_open = [case.number for case in still_open]
        return report
    report.merge(forget_identity(session, reporter))
    return report


def apply_retention(session: Session, now: datetime, days: int) -> PrivacyReport:
    """The daily job: cases finished `days` ago, people with nothing kept, requests whose cases closed."""
    report = PrivacyReport()
    cutoff = now - timedelta(days=days)
    finished_at = func.coalesce(Case.closed_at, Case.answered_at, Case.created_at)  # as _finished_at()
    due = session.scalars(
        select(Case)
        .where(Case.state.in_(FINISHED), Case.pseudonymised_at.is_(None), finished_at < cutoff)
        .order_by(Case.id)
    ).all()
    touched: set[int] = set()
    for case in due:
        report.merge(pseudonymise_case(session, case, now))
        touched.add(case.reporter_id)
    requested = session.scalars(select(Reporter.id).where(Reporter.erase_requested_at.is_not(None))).all()
    for reporter_id in sorted(touched | set(requested)):
        reporter = session.get(Reporter, reporter_id)
        if reporter is None or reporter.identity is None and reporter.erase_requested_at is None:
            continue
        if reporter.erase_requested_at is not None:
            if not _open_cases(session, reporter_id):
                report.merge(erase_reporter(session, reporter, now))
            continue
        if _idle_since(session, reporter_id, cutoff):
            report.merge(forget_identity(session, reporter))
    slimmed = session.execute(
        update(InboundUpdate)
        .where(
            InboundUpdate.status != UpdateStatus.pending,
            InboundUpdate.received_at < now - timedelta(days=RAW_UPDATE_DAYS),
            or_(InboundUpdate.chat_id.is_not(None), _NOT_SLIMMED),  # updates without a chat too
        )
        .values(payload={}, chat_id=None)
    )
    report.raw_updates += int(slimmed.rowcount or 0)  # type: ignore[attr-defined]  # DML returns a CursorResult; Session.execute is typed Result
    return report


def _idle_since(session: Session, reporter_id: int, cutoff: datetime) -> bool:
    """Nothing of the person is kept any more: every case pseudonymised, no message since the cutoff."""
    unfinished = session.scalars(
        select(Case.id).where(Case.reporter_id == reporter_id, Case.pseudonymised_at.is_(None)).limit(1)
    ).first()
    if unfinished is not None:
        return False
    conversation = session.scalars(select(Conversation).where(Conversation.reporter_id == reporter_id)).first()
    last = conversation.last_inbound_at if conversation else None
    return last is None or last < cutoff


def export_reporter(session: Session, reporter: Reporter, tz: Any) -> dict[str, Any]:
    """Everything stored about one person, as they would read it (the answer to an access request)."""

    def when(at: datetime | None) -> str | None:
        return at.astimezone(tz).isoformat(timespec="seconds") if at else None

    identity = reporter.identity
    conversation = session.scalars(select(Conversation).where(Conversation.reporter_id == reporter.id)).first()
    cases = session.scalars(select(Case).where(Case.reporter_id == reporter.id).order_by(Case.id)).all()
    messages = (
        session.scalars(select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)).all()
        if conversation
        else []
    )
    attachments = (
        session.scalars(select(Attachment).where(Attachment.conversation_id == conversation.id)).all()
        if conversation
        else []
    )
    return {
        "说明": "这是本平台保存的与您有关的全部数据（导出时间见 exported_at）。",
        "exported_at": when(datetime.now(tz)),
        "pseudonym": reporter.pseudonym,
        "identity": {
            "telegram_user_id": identity.telegram_user_id,
            "display_name": identity.display_name,
            "username": identity.username,
            "phone": identity.phone,
        }
        if identity
        else None,
        "cases": [
            {
                "number": c.number,
                "kind": c.kind.value,
                "state": c.state.value,
                "unit": c.unit,
                "summary": c.summary,
                "fields": c.fields,
                "created_at": when(c.created_at),
                "answer": c.answer_text,
                "answered_at": when(c.answered_at),
                "closed_at": when(c.closed_at),
                "rating": c.rating,
                "rating_comment": c.rating_comment,
                "contact_consent": c.contact_consent,
                "history": [{"at": when(e.at), "action": e.action, "state": e.to_state} for e in c.events],
                "pseudonymised_at": when(c.pseudonymised_at),
            }
            for c in cases
        ],
        "messages": [
            {"at": when(m.created_at), "from": "您" if m.direction == "in" else "平台", "kind": m.kind, "text": m.text}
            for m in messages
        ],
        "attachments": [
            {
                "at": when(a.created_at),
                "kind": a.kind,
                "kept": a.file_id is not None or a.latitude is not None,
                "location": [a.latitude, a.longitude] if a.latitude is not None else None,
            }
            for a in attachments
        ],
    }


def reporter_of_case(session: Session, number: str) -> Reporter | None:
    case = session.scalars(select(Case).where(Case.number == number.strip().upper())).first()
    return session.get(Reporter, case.reporter_id) if case else None


def reporter_of_chat(session: Session, chat_id: int) -> Reporter | None:
    identity = session.scalars(select(ReporterIdentity).where(ReporterIdentity.telegram_chat_id == chat_id)).first()
    return identity.reporter if identity else None
