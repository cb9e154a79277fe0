"""A driver who blocked the bot is not an error; a staff group that lost the bot is one, never swallowed."""

from __future__ import annotations

import pytest
from telegram.error import Forbidden

from bot.sending import ChatUnavailable, deliver


def _refused(words: str):  # type: ignore[no-untyped-def]
    async def send():  # type: ignore[no-untyped-def]
        raise Forbidden(words)

    return send


async def test_a_driver_who_blocked_the_bot_is_a_quiet_none() -> None:
    assert await deliver(_refused("Forbidden: bot was blocked by the user")) is None


async def test_a_staff_group_that_removed_the_bot_raises() -> None:
    with pytest.raises(ChatUnavailable):
        await deliver(_refused("Forbidden: bot was kicked from the supergroup chat"), to_driver=False)


async def test_a_group_refusal_is_not_taken_for_a_blocked_driver_even_on_the_driver_path() -> None:
    with pytest.raises(ChatUnavailable):
        await deliver(_refused("Forbidden: bot is not a member of the supergroup chat"))
