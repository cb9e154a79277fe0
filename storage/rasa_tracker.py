"""Deleting conversations from Rasa's tracker store (its `events` table), for retention and erasure."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)


def tracker_store_url(configured: str | None, sqlite_file: Path) -> str:
    """The SQLAlchemy URL of the tracker store the Rasa servers were started with (see app.stack)."""
    if configured:
        return "postgresql+psycopg://" + configured.split("://", 1)[1]
    return f"sqlite:///{sqlite_file}"


def forget(url: str, sender_ids: Sequence[str]) -> int:
    """Delete the trackers' events; returns how many events went (0 if the store is not reachable)."""
    if not sender_ids:
        return 0
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(
                text("DELETE FROM events WHERE sender_id IN :ids").bindparams(bindparam("ids", expanding=True)),
                {"ids": list(sender_ids)},
            )
            return int(result.rowcount or 0)
    except SQLAlchemyError as exc:
        logger.warning("Rasa's tracker store could not be cleaned (%s); retried on the next run", type(exc).__name__)
        raise
    finally:
        engine.dispose()


# events of finished sessions older than the cutoff; the current session (since the sender's last
# session_started) is never cut, so a half-filled complaint survives
_TRIM = text(
    "DELETE FROM events WHERE timestamp < :cutoff AND id < ("
    "SELECT MAX(later.id) FROM events later WHERE later.sender_id = events.sender_id "
    "AND later.type_name = 'session_started')"
)


def trim(url: str, before: datetime) -> int:
    """Delete the events of earlier sessions older than `before`, for drivers who stay active (those who
    leave are forgotten whole); returns how many events went."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return int(connection.execute(_TRIM, {"cutoff": before.timestamp()}).rowcount or 0)
    except SQLAlchemyError as exc:
        logger.warning("Rasa's tracker store could not be trimmed (%s); retried on the next run", type(exc).__name__)
        raise
    finally:
        engine.dispose()
