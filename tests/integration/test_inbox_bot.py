"""Updates are committed inside getUpdates, before the next offset acknowledges them."""

from __future__ import annotations

from sqlalchemy import select

from bot.inbox_bot import InboxBot
from bureau.deps import Deps
from foundation.enums import UpdateStatus
from storage.models import InboundUpdate


def message_update(update_id: int, text: str = "你好") -> dict:
    user = {"id": 5, "is_bot": False, "first_name": "李"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764200000,
            "text": text,
            "chat": {"id": 5, "type": "private"},
            "from": user,
        },
    }


def test_a_batch_is_stored_and_every_id_goes_back_to_the_updater(deps: Deps) -> None:
    bot = InboxBot("1:x", sessions=deps.sessions)
    malformed = {"update_id": 12, "message": {"message_id": "not a number", "chat": "nonsense"}}
    passed = bot.store_batch([message_update(10), message_update(11), malformed])
    assert [u["update_id"] for u in passed] == [10, 11, 12]
    assert passed[2] == {"update_id": 12}  # malformed: a bare id, so the offset still moves on
    with deps.sessions() as session:
        rows = {r.update_id: r for r in session.scalars(select(InboundUpdate))}
    assert rows[10].status is UpdateStatus.pending and rows[10].chat_id == 5
    assert rows[12].status is UpdateStatus.failed and rows[12].payload == malformed


def test_a_redelivered_batch_adds_nothing(deps: Deps) -> None:
    bot = InboxBot("1:x", sessions=deps.sessions)
    bot.store_batch([message_update(20)])
    bot.store_batch([message_update(20), message_update(21)])
    with deps.sessions() as session:
        ids = sorted(session.scalars(select(InboundUpdate.update_id)))
    assert ids == [20, 21]
