"""Ctrl-C after a burst of new cases stops the bot at once; the topics not yet opened are opened after the
restart (they are in the database), each exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from app.builder import build_application, start_application, stop_application
from bureau.deps import Deps, build_deps
from foundation.clock import utcnow
from foundation.enums import CaseKind
from simulator.bot_api import LocalBotApi
from storage import conversations as convs
from storage.cases import NewCase, create_case
from storage.desk import cases_to_escalate

STAFF = -1001234567890
BURST = 30


def _burst_of_cases(deps: Deps) -> None:
    with deps.sessions.begin() as session:
        for n in range(BURST):
            person = convs.conversation_for(session, convs.TelegramPerson(3000 + n, 3000 + n, f"司机{n}", None))
            new = NewCase(CaseKind.complaint, "局办公室", "其他", person.reporter_id, person.id, f"投诉{n}", {})
            create_case(session, new, deps.calendar, utcnow())


def _waiting(deps: Deps) -> int:
    with deps.sessions() as session:
        return len(cases_to_escalate(session))


async def test_ctrl_c_with_topics_queued_is_prompt_and_they_resume_after_restart(deps: Deps) -> None:
    _burst_of_cases(deps)
    async with LocalBotApi() as api:
        settings = dataclasses.replace(deps.settings, telegram_api_url=api.base_url, staff_chat_id=STAFF)
        running = build_deps(settings)
        application = build_application(running)  # Telegram's 20 posts a minute in the staff group
        await start_application(application)  # the desk clock starts opening topics a second later
        deadline = time.monotonic() + 30
        while _waiting(deps) > BURST - 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert _waiting(deps) <= BURST - 5, "the desk clock opens topics"
        await asyncio.sleep(1)  # the group's minute is used up: the next topic waits for a slot

        started = time.monotonic()
        await asyncio.wait_for(stop_application(application), 60)
        assert time.monotonic() - started < 15  # not one topic every 6 s for the rest of the burst
        running.engine.dispose()
        left = _waiting(deps)
        assert 0 < left < BURST

        restarted = build_deps(settings)
        again = build_application(restarted, group_messages_per_minute=6000)
        await start_application(again)
        try:
            await again.bot_data["staff_group"].escalate_pending()
        finally:
            await stop_application(again)
            restarted.engine.dispose()
        assert _waiting(deps) == 0
        names = [topic["name"] for (chat, _), topic in api.topics.items() if chat == STAFF]
        assert len(names) == BURST == len(set(names))  # every case once: none lost, none opened twice
