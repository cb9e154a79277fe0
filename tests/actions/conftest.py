"""The action server's dependencies on a real, migrated, throwaway database (SQLite, and PostgreSQL when
available): the actions build theirs from the environment, as the action server does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bureau.deps import Deps, process_deps


@pytest.fixture
def action_deps(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deps]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    process_deps.cache_clear()
    built = process_deps()
    yield built
    built.engine.dispose()
    process_deps.cache_clear()
