"""One shared stack (real model, real action server, SQLite) for all end-to-end tests."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.local_stack import Driver, RunningStack, free_port, make_settings, running_stack, second_bot

_user_ids = itertools.count(700_000_001)
STAFF_CHAT_ID = -100_1000_0001
SUPERVISOR_CHAT_ID = -100_1000_0002


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
async def stack(e2e_dir: Path) -> AsyncIterator[RunningStack]:
    settings = make_settings(
        f"sqlite:///{e2e_dir / 'complaints.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="e2e-secret-token",
        rasa_timeout=15.0,
        staff_chat_id=STAFF_CHAT_ID,
        supervisor_chat_id=SUPERVISOR_CHAT_ID,
    )
    async with running_stack(settings, e2e_dir / "tracker.db") as running:
        yield running


@pytest.fixture
def new_driver(stack: RunningStack) -> Iterator[type[Driver]]:
    def make(name: str = "司机") -> Driver:
        return Driver(stack.api, next(_user_ids), name)

    yield make  # type: ignore[misc]


@pytest.fixture(scope="session")
async def stack_without_staff(stack: RunningStack) -> AsyncIterator[RunningStack]:
    """The same product deployed without a staff group (no STAFF_CHAT_ID, no supervisors' chat)."""
    async with second_bot(stack, staff_chat_id=None, supervisor_chat_id=None) as other:
        yield other


@pytest.fixture
def driver_without_staff(stack_without_staff: RunningStack) -> Iterator[type[Driver]]:
    def make(name: str = "司机") -> Driver:
        return Driver(stack_without_staff.api, next(_user_ids), name)

    yield make  # type: ignore[misc]
