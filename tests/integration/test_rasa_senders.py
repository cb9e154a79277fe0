"""A driver's Rasa tracker is named so that no other driver can ever get it, even with a new database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from storage.conversations import TelegramPerson, conversation_for
from storage.migrate import upgrade


def _first_driver_sender(database_url: str, user_id: int) -> tuple[int, str]:
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with sessionmaker(engine).begin() as session:
            conversation = conversation_for(session, TelegramPerson(user_id, user_id, "司机", None))
            return conversation.id, conversation.rasa_sender_id
    finally:
        engine.dispose()


def test_the_first_driver_of_a_replaced_database_gets_a_tracker_of_their_own(tmp_path: Path) -> None:
    """The database is restored or replaced; Rasa's tracker store is not. Row ids come back, names do not."""
    first_id, first_sender = _first_driver_sender(f"sqlite:///{tmp_path / 'before.db'}", 1001)
    second_id, second_sender = _first_driver_sender(f"sqlite:///{tmp_path / 'after.db'}", 2002)
    assert first_id == second_id == 1
    assert first_sender != second_sender
    assert first_sender.startswith("d-") and len(first_sender) == 34  # 128 random bits, not the row id


def test_existing_conversations_keep_their_tracker_through_the_migration(tmp_path: Path) -> None:
    from storage.conversations import conversation_by_sender

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO reporters (id, pseudonym, created_at) VALUES (7, 'R-OLD', '2026-11-01')"))
        connection.execute(
            text(
                "INSERT INTO conversations (id, reporter_id, mode, session_turns, low_confidence_streak, created_at) "
                "VALUES (7, 7, 'bot', 0, 0, '2026-11-01')"
            )
        )
    upgrade(url)
    with sessionmaker(engine).begin() as session:
        conversation = conversation_by_sender(session, "conv-7")  # a form in progress carries on
        assert conversation is not None and conversation.id == 7
    engine.dispose()
