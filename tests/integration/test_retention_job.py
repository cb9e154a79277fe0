"""The daily retention job: registered once, run by the elected worker only, and doing the work."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from app.builder import build_application, leader_only
from bot.retention_job import JOB_ID, RetentionJob
from bureau.deps import Deps
from storage.locks import Leadership
from storage.models import Case
from tests.integration.test_privacy import FILED, _close, _file


def test_the_job_is_registered_daily_at_night_local_time(deps: Deps) -> None:
    application = build_application(deps)
    assert application.job_queue is not None
    job = application.job_queue.scheduler.get_job(JOB_ID)
    assert job is not None and job.coalesce is True and job.max_instances == 1
    tz = deps.settings.timezone
    fire = job.trigger.get_next_fire_time(None, datetime(2026, 11, 27, 12, 0, tzinfo=tz))
    assert fire == datetime(2026, 11, 28, 3, 30, tzinfo=tz)


async def test_the_job_pseudonymises_what_is_due(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, _ = _file(deps, 4201, FILED)
    _close(deps, case_id, FILED + timedelta(days=1))
    monkeypatch.setattr("bot.retention_job.utcnow", lambda: FILED + timedelta(days=40))
    short = replace(deps, settings=replace(deps.settings, retention_days=30))
    await RetentionJob(short).run()
    with deps.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.pseudonymised_at is not None and "粤B12345" not in case.summary


async def test_only_the_elected_worker_runs_scheduled_jobs(deps: Deps) -> None:
    if deps.engine.dialect.name != "postgresql":
        pytest.skip("with SQLite there is one worker, always the elected one")
    runs: list[str] = []

    async def job(_context: object = None) -> None:
        runs.append("ran")

    holder, follower = Leadership(deps.engine), Leadership(deps.engine)
    try:
        assert holder.is_leader()
        await leader_only(follower, job)(None)
        assert runs == []
        holder.resign()
        await leader_only(follower, job)(None)
        assert runs == ["ran"]
    finally:
        holder.resign()
        follower.resign()
