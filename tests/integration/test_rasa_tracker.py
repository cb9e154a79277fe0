"""Rasa keeps no more of a long-active driver's history than the retention period allows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from storage.rasa_tracker import trim

NOW = datetime(2027, 6, 1, tzinfo=UTC)
# the columns of Rasa 3.6's SQLTrackerStore `events` table
SCHEMA = (
    "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,"
    " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
)


def _store(path: Path, events: list[tuple[str, str, datetime, str]]) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(SCHEMA))
        for sender, kind, at, words in events:
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :k, :t, :d)"),
                {"s": sender, "k": kind, "t": at.timestamp(), "d": json.dumps({"text": words}, ensure_ascii=False)},
            )
    engine.dispose()
    return url


def _texts(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT data FROM events ORDER BY id")).scalars().all()
    engine.dispose()
    return [json.loads(row)["text"] for row in rows]


def test_a_driver_active_for_two_years_keeps_only_the_recent_history(tmp_path: Path) -> None:
    old, recent = NOW - timedelta(days=700), NOW - timedelta(days=10)
    url = _store(
        tmp_path / "tracker.db",
        [
            ("conv-a", "session_started", old, ""),
            ("conv-a", "user", old, "我是张师傅，电话13812345678"),
            ("conv-a", "session_started", recent, ""),
            ("conv-a", "user", recent, "上周的投诉有结果了吗"),
            # a half-filled complaint started long ago, in the session still going on: kept
            ("conv-b", "session_started", old, ""),
            ("conv-b", "user", old, "我要投诉南湖站"),
        ],
    )
    assert trim(url, NOW - timedelta(days=365)) == 2
    assert _texts(url) == ["", "上周的投诉有结果了吗", "", "我要投诉南湖站"]
    assert trim(url, NOW - timedelta(days=365)) == 0
