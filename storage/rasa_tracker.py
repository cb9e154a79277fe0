"""Deleting conversations from Rasa's tracker store (its `events` table), for retention and erasure."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)


def tracker_store_url(configured: str | None, sqlite_file: Path) -> str:
    """The SQLAlchemy URL of the tracker store the Rasa servers were started with (see complaints.stack)."""
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
