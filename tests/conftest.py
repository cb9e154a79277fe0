"""Shared fixtures: settings for a throwaway database, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import create_engine, text

from app.local_stack import make_settings
from bureau.deps import Deps, build_deps
from storage.migrate import upgrade

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def _postgres_available() -> bool:
    if not POSTGRES_URL:
        return False
    try:
        engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    if not _postgres_available():
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL at TEST_POSTGRES_URL={POSTGRES_URL!r} is required here but not reachable")
        pytest.skip("PostgreSQL not available: set TEST_POSTGRES_URL to run the PostgreSQL variant")
    return POSTGRES_URL


def _redis_available() -> bool:
    if not REDIS_URL:
        return False
    parts = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    if not _redis_available():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis at TEST_REDIS_URL={REDIS_URL!r} is required here but not reachable")
        pytest.skip("Redis not available: set TEST_REDIS_URL to run the scale-out tests")
    return REDIS_URL


def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """CREATE a throwaway database on the server, yield its URL, DROP it afterwards."""
    name = f"complaints_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'complaints.db'}"
        upgrade(url)
        yield url
        return
    server = request.getfixturevalue("postgres_server_url")
    for url in fresh_postgres_database(server):
        upgrade(url)
        yield url


@pytest.fixture
def deps(database_url: str) -> Iterator[Deps]:
    built = build_deps(make_settings(database_url))
    yield built
    built.engine.dispose()
