"""The inbox: raw Telegram updates stored before they are acknowledged, processed at most once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from complaints.clock import utcnow
from storage.models import InboundUpdate, UpdateStatus


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
    for update_id, payload in by_id.items():
        if update_id not in known:
            session.add(InboundUpdate(update_id=update_id, chat_id=chat_of(payload), payload=payload))
    session.flush()
    return sorted(uid for uid in by_id if known.get(uid) not in (UpdateStatus.done, UpdateStatus.failed))


def begin_attempt(session: Session, update_id: int) -> bool:
    """Count an attempt; False if the update is already done (another worker or a replay)."""
    row = session.scalars(select(InboundUpdate).where(InboundUpdate.update_id == update_id)).one_or_none()
    if row is None or row.status is not UpdateStatus.pending:
        return False
    row.attempts += 1
    return True


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
