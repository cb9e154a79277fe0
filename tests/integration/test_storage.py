"""Storage on a real database (SQLite and PostgreSQL): numbering, the inbox, ownership, audit trail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from bureau.deps import Deps
from foundation.enums import CaseKind, CaseState
from storage import conversations as convs
from storage.cases import CaseNotFound, NewCase, case_for_reporter, cases_for_status, create_case
from storage.inbox import begin_attempt, finish_update, pending_for_chat, store_updates
from storage.models import CaseEvent, Reporter, ReporterIdentity

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Friday


def _driver(deps: Deps, user_id: int) -> tuple[int, int]:
    with deps.sessions.begin() as session:
        conversation = convs.conversation_for(session, convs.TelegramPerson(user_id, user_id, "张三", None))
        return conversation.reporter_id, conversation.id


def _new_case(deps: Deps, reporter_id: int, conversation_id: int, at: datetime = NOW) -> str:
    with deps.sessions.begin() as session:
        case = create_case(
            session,
            NewCase(CaseKind.complaint, "局办公室", "其他", reporter_id, conversation_id, "测试", {}),
            deps.calendar,
            at,
        )
        return case.number


def test_case_numbers_run_per_year_with_six_digits(deps: Deps) -> None:
    reporter, conversation = _driver(deps, 1001)
    first = _new_case(deps, reporter, conversation)
    second = _new_case(deps, reporter, conversation)
    next_year = _new_case(deps, reporter, conversation, datetime(2027, 1, 4, 2, tzinfo=UTC))
    assert (first, second, next_year) == ("TS-2026-000001", "TS-2026-000002", "TS-2027-000001")


def test_case_numbers_stay_unique_under_concurrent_writers(deps: Deps) -> None:
    reporter, conversation = _driver(deps, 1002)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                numbers.append(_new_case(deps, reporter, conversation))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(numbers) == 40 and len(set(numbers)) == 40


def test_deadlines_follow_working_days(deps: Deps) -> None:
    reporter, conversation = _driver(deps, 1003)
    _new_case(deps, reporter, conversation)
    with deps.sessions() as session:
        (case,), _finished = cases_for_status(session, reporter)
        local = deps.settings.timezone
        assert case.handoff_due.astimezone(local).strftime("%m-%d %H:%M") == "11-27 12:00"
        assert case.first_feedback_due.astimezone(local).strftime("%m-%d") == "12-01"  # Fri + 2 working days
        assert case.opinion_due.astimezone(local).strftime("%m-%d") == "12-04"
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
        assert [(e.actor, e.action, e.to_state) for e in events] == [("bot", "created", CaseState.received.value)]


def test_a_case_is_visible_only_to_its_reporter(deps: Deps) -> None:
    owner, conversation = _driver(deps, 1004)
    other, _ = _driver(deps, 1005)
    number = _new_case(deps, owner, conversation)
    with deps.sessions() as session:
        assert case_for_reporter(session, number, owner).number == number
        for reporter in (other, owner):
            missing = "TS-2026-999999" if reporter == owner else number
            try:
                case_for_reporter(session, missing, reporter)
            except CaseNotFound:
                continue
            raise AssertionError("someone else's or a missing case was shown")


def test_the_real_telegram_id_is_kept_apart_from_the_pseudonym(deps: Deps) -> None:
    reporter_id, _ = _driver(deps, 123456789)
    with deps.sessions() as session:
        reporter = session.get(Reporter, reporter_id)
        assert reporter is not None and reporter.pseudonym.startswith("R-") and "123456789" not in reporter.pseudonym
        identity = session.scalars(select(ReporterIdentity).where(ReporterIdentity.reporter_id == reporter_id)).one()
        assert identity.telegram_user_id == 123456789


def test_the_inbox_stores_each_update_once_and_skips_done_ones(deps: Deps) -> None:
    payload = {"update_id": 42, "message": {"chat": {"id": 7}, "text": "你好"}}
    with deps.sessions.begin() as session:
        assert store_updates(session, [payload, payload]) == [42]
    with deps.sessions.begin() as session:
        assert store_updates(session, [payload]) == [42]  # stored, not yet processed
        assert [p["update_id"] for p in pending_for_chat(session, 7)] == [42]
        assert begin_attempt(session, 42)
        finish_update(session, 42)
    with deps.sessions.begin() as session:
        assert store_updates(session, [payload]) == []
        assert not begin_attempt(session, 42)
        assert pending_for_chat(session, 7) == []


def test_inbound_messages_are_stored_once_per_update(deps: Deps) -> None:
    with deps.sessions.begin() as session:
        conversation = convs.conversation_for(session, convs.TelegramPerson(9, 9, None, None))
        first, created = convs.store_inbound(
            session, conversation, update_id=5, kind="text", text="a", telegram_message_id=1, at=NOW
        )
        again, created_again = convs.store_inbound(
            session, conversation, update_id=5, kind="text", text="a", telegram_message_id=1, at=NOW
        )
        assert created and not created_again and first.id == again.id
