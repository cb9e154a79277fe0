"""Engine and session factory, made once at start-up by the edge that needs them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.orm import Session, sessionmaker


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; SQLite gets WAL mode and foreign keys."""
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _clean(value: object) -> object:
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


def _without_nul(
    _conn: Connection, _cursor: DBAPICursor, statement: str, parameters: Any, _context: object, _executemany: bool
) -> tuple[str, Any]:
    """PostgreSQL's text cannot hold NUL, which anyone can type into Telegram: it is dropped on the way in."""
    if isinstance(parameters, dict):
        return statement, {k: _clean(v) for k, v in parameters.items()}
    if isinstance(parameters, list | tuple) and parameters and isinstance(parameters[0], dict):
        return statement, type(parameters)({k: _clean(v) for k, v in p.items()} for p in parameters)
    if isinstance(parameters, list | tuple):
        return statement, type(parameters)(_clean(v) for v in parameters)
    return statement, parameters


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
