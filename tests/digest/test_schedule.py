"""The weekly job: when it fires, which weeks it builds after a downtime, and that none is built or sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from telegram import Bot

from app.builder import build_application
from app.local_stack import make_settings
from bot import digest_job
from bot.digest_job import CATCH_UP_JOB_ID, JOB_ID, DigestJob, digest_trigger, weeks_due
from bureau.deps import Deps, build_deps
from digest.build import build_week, context
from digest.weeks import BadWeek, Week
from foundation.settings import DigestSettings
from simulator.bot_api import LocalBotApi
from storage.models import Digest

TZ = ZoneInfo("Asia/Shanghai")
STAFF = -100_2000_0001
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=TZ)  # in 2026-W48


@pytest.fixture
def staff_deps(database_url: str) -> Iterator[Deps]:
    built = build_deps(make_settings(database_url, staff_chat_id=STAFF))
    yield built
    built.engine.dispose()


def test_weeks_are_iso_weeks_in_local_time() -> None:
    week = Week.parse("2026-W47")
    assert week.starts(TZ) == datetime(2026, 11, 16, tzinfo=TZ)
    assert week.ends(TZ) == datetime(2026, 11, 23, tzinfo=TZ)
    assert Week.parse("2027-w1") == Week(2027, 1) and Week(2026, 53).shift(1) == Week(2027, 1)
    assert Week.of(datetime(2026, 11, 22, 23, 59, tzinfo=TZ), TZ) == week
    for bad in ("2026-47", "2026-W54", "W47", ""):
        with pytest.raises(BadWeek):
            Week.parse(bad)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (FRIDAY, datetime(2026, 11, 30, 8, 30, tzinfo=TZ)),
        (datetime(2026, 11, 30, 8, 29, tzinfo=TZ), datetime(2026, 11, 30, 8, 30, tzinfo=TZ)),
        (datetime(2026, 11, 30, 8, 31, tzinfo=TZ), datetime(2026, 12, 7, 8, 30, tzinfo=TZ)),
        # 08:30 in Shanghai is 00:30 UTC: a server clock in UTC does not move it
        (datetime(2026, 11, 30, 0, 0, tzinfo=ZoneInfo("UTC")), datetime(2026, 11, 30, 8, 30, tzinfo=TZ)),
    ],
)
def test_next_fire_time_is_monday_0830_shanghai(deps: Deps, now: datetime, expected: datetime) -> None:
    assert digest_trigger(deps.settings).get_next_fire_time(None, now) == expected


def test_the_fire_time_is_configurable(deps: Deps) -> None:
    settings = replace(deps.settings, digest=DigestSettings(weekday="wed", at=datetime(2000, 1, 1, 7, 0).time()))
    assert digest_trigger(settings).get_next_fire_time(None, FRIDAY) == datetime(2026, 12, 2, 7, 0, tzinfo=TZ)


def test_the_job_is_registered_once_with_coalescing_and_a_misfire_grace(deps: Deps) -> None:
    application = build_application(deps)
    assert application.job_queue is not None
    scheduler = application.job_queue.scheduler
    job = scheduler.get_job(JOB_ID)
    assert job is not None and scheduler.get_job(CATCH_UP_JOB_ID) is not None
    assert job.coalesce is True and job.max_instances == 1
    assert job.misfire_grace_time == deps.settings.digest.misfire_grace_seconds
    assert str(job.trigger) == str(digest_trigger(deps.settings))
    assert [j.id for j in scheduler.get_jobs()].count(JOB_ID) == 1


def _built(deps: Deps, *weeks: Week) -> None:
    for week in weeks:
        build_week(deps.sessions, week, context(deps), FRIDAY)


def test_a_new_installation_builds_only_the_last_complete_week(deps: Deps) -> None:
    with deps.sessions() as session:
        assert weeks_due(session, deps.settings, FRIDAY) == [Week(2026, 47)]
        # on Monday before 08:30 the week just ended is not due yet
        early = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)
        assert weeks_due(session, deps.settings, early) == [Week(2026, 47)]
        assert weeks_due(session, deps.settings, early + timedelta(hours=1)) == [Week(2026, 48)]


def test_missed_weeks_are_built_on_the_next_start_and_done_weeks_never_again(deps: Deps) -> None:
    _built(deps, Week(2026, 43))
    with deps.sessions() as session:
        assert weeks_due(session, deps.settings, FRIDAY) == [Week(2026, w) for w in (44, 45, 46, 47)]
        capped = replace(deps.settings, digest=replace(deps.settings.digest, catch_up_weeks=2))
        assert weeks_due(session, capped, FRIDAY) == [Week(2026, 46), Week(2026, 47)]
        # no catch-up at all still builds the week that is due
        none = replace(deps.settings, digest=replace(deps.settings.digest, catch_up_weeks=0))
        assert weeks_due(session, none, FRIDAY) == [Week(2026, 47)]
    _built(deps, *(Week(2026, w) for w in (44, 45, 46, 47)))
    with deps.sessions() as session:
        assert weeks_due(session, deps.settings, FRIDAY) == []


async def test_the_job_catches_up_and_sends_each_week_once(staff_deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_job, "utcnow", lambda: FRIDAY)
    _built(staff_deps, Week(2026, 45))
    with staff_deps.sessions.begin() as session:
        session.scalars(select(Digest)).one().sent_at = FRIDAY  # sent before the bot went down
    async with LocalBotApi() as api, Bot("1:test-token", base_url=api.base_url) as bot:
        job = DigestJob(staff_deps, bot)
        await job.run()
        await job.run()  # a second fire (or a second start) finds nothing to do
    sent = api.sent(STAFF)
    assert [s["method"] for s in sent] == ["sendMessage", "sendPhoto", "sendDocument"] * 2
    assert "2026-W46" in sent[0]["text"] and "2026-W47" in sent[3]["text"]
    assert sent[0]["parse_mode"] == "HTML"
    assert sent[5]["message"]["document"]["file_name"].endswith("2026-W47.xlsx")
    with staff_deps.sessions() as session:
        weeks = [(d.week, d.sent_at is not None) for d in session.scalars(select(Digest).order_by(Digest.week))]
    assert weeks == [("2026-W45", True), ("2026-W46", True), ("2026-W47", True)]


async def test_a_digest_that_could_not_be_sent_is_sent_on_the_next_run(
    staff_deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest_job, "utcnow", lambda: FRIDAY)
    async with LocalBotApi() as api, Bot("1:test-token", base_url=api.base_url) as bot:
        job = DigestJob(staff_deps, bot)
        api.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
        await job.run()
        assert api.sent(STAFF) == []
        await job.run()
    assert [s["method"] for s in api.sent(STAFF)] == ["sendMessage", "sendPhoto", "sendDocument"]
    with staff_deps.sessions() as session:
        assert session.scalars(select(Digest.week)).all() == ["2026-W47"]
