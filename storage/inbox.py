"""The inbox: raw Telegram updates stored before they are acknowledged, processed at most once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from foundation.clock import as_utc, utcnow
from foundation.enums import UpdateStatus
from storage.models import InboundUpdate


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to (messages, edits, button presses), if it has one."""
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        chat = (payload.get(key) or {}).get("chat") if isinstance(payload.get(key), dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    callback = payload.get("callback_query")
    if isinstance(callback, dict):
        sender = callback.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None


def store_updates(session: Session, payloads: Iterable[dict[str, Any]]) -> list[int]:
    """Store new updates; return the ids still to process, in order (done duplicates are dropped)."""
    by_id = {int(p["update_id"]): p for p in payloads if isinstance(p.get("update_id"), int)}
    if not by_id:
        return []
    rows = session.execute(
        select(InboundUpdate.update_id, InboundUpdate.status).where(InboundUpdate.update_id.in_(list(by_id)))
    )
    known = {update_id: status for update_id, status in rows}
    new_rows = [
        {"update_id": uid, "chat_id": chat_of(p), "payload": p, "status": UpdateStatus.pending, "received_at": utcnow()}
        for uid, p in by_id.items()
        if uid not in known
    ]
    if new_rows:  # another worker may store the same update at the same moment (a redelivery): first one wins
        session.execute(_insert_ignoring_duplicates(session, new_rows))
    return sorted(uid for uid in by_id if known.get(uid) not in (UpdateStatus.done, UpdateStatus.failed))


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(InboundUpdate).values(rows).on_conflict_do_nothing(index_elements=["update_id"])


def begin_attempt(session: Session, update_id: int) -> bool:
    """False if the update is already done (by another worker, or a replay)."""
    status = session.scalars(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id)).one_or_none()
    return status is UpdateStatus.pending


def finish_update(session: Session, update_id: int, status: UpdateStatus = UpdateStatus.done) -> None:
    session.execute(
        update(InboundUpdate).where(InboundUpdate.update_id == update_id).values(status=status, processed_at=utcnow())
    )


def store_rejected(session: Session, payload: dict[str, Any], update_id: int) -> None:
    """Keep an update we cannot parse, marked failed, so nothing is lost and it is never retried."""
    if session.scalars(select(InboundUpdate.id).where(InboundUpdate.update_id == update_id)).first() is None:
        session.add(
            InboundUpdate(
                update_id=update_id, chat_id=None, payload=payload, status=UpdateStatus.failed, processed_at=utcnow()
            )
        )


def pending_for_chat(session: Session, chat_id: int | None, up_to: int | None = None) -> list[dict[str, Any]]:
    """This chat's unprocessed updates in arrival order (up to update id `up_to`)."""
    query = select(InboundUpdate.payload).where(
        InboundUpdate.status == UpdateStatus.pending,
        InboundUpdate.chat_id.is_(None) if chat_id is None else InboundUpdate.chat_id == chat_id,
    )
    if up_to is not None:
        query = query.where(InboundUpdate.update_id <= up_to)
    return list(session.scalars(query.order_by(InboundUpdate.update_id)))


def chats_with_pending(session: Session) -> list[int | None]:
    return list(
        session.scalars(select(InboundUpdate.chat_id).where(InboundUpdate.status == UpdateStatus.pending).distinct())
    )


def has_pending(session: Session, chat_id: int | None) -> bool:
    chat = InboundUpdate.chat_id.is_(None) if chat_id is None else InboundUpdate.chat_id == chat_id
    return (
        session.scalars(
            select(InboundUpdate.id).where(InboundUpdate.status == UpdateStatus.pending, chat).limit(1)
        ).first()
        is not None
    )


def backlog(session: Session) -> tuple[int, datetime | None]:
    """How many updates wait to be processed, and when the oldest of them arrived."""
    count, oldest = session.execute(
        select(func.count(InboundUpdate.id), func.min(InboundUpdate.received_at)).where(
            InboundUpdate.status == UpdateStatus.pending
        )
    ).one()
    return int(count), as_utc(oldest) if oldest is not None else None


def record_failure(session: Session, update_id: int, max_attempts: int) -> bool:
    """Count a failed attempt; after `max_attempts` the update is marked failed (True) and not retried."""
    row = session.scalars(select(InboundUpdate).where(InboundUpdate.update_id == update_id)).one_or_none()
    if row is None or row.status is not UpdateStatus.pending:
        return False
    row.attempts += 1
    if row.attempts >= max_attempts:
        row.status, row.processed_at = UpdateStatus.failed, utcnow()
        return True
    return False


def _sent_at(payload: dict[str, Any], received_at: datetime) -> float:
    """When the driver sent an update: Telegram's date of the message, else when we received it."""
    for key in ("message", "edited_message"):
        message = payload.get(key)
        if isinstance(message, dict) and isinstance(message.get("date"), int):
            return float(message["date"])
    return as_utc(received_at).timestamp()


def flooding(session: Session, chat_id: int, update_id: int, per_minute: int) -> bool:
    """True if this chat sent more than `per_minute` updates within the minute up to this one.

    Counted on Telegram's send times, so a backlog delivered at once after an outage is not a flood.
    """
    if per_minute <= 0:
        return False
    rows = session.execute(
        select(InboundUpdate.payload, InboundUpdate.received_at)
        .where(InboundUpdate.chat_id == chat_id, InboundUpdate.update_id <= update_id)
        .order_by(InboundUpdate.update_id.desc())
        .limit(per_minute + 1)
    ).all()
    if len(rows) <= per_minute:
        return False
    newest, oldest = _sent_at(*rows[0]), _sent_at(*rows[-1])
    return newest - oldest < 60
