"""The case lifecycle on a real database: avoidance, one winner when two staff act at once, ratings, merge."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.staff.errors import desk_error_text
from bureau.deps import Deps
from foundation.enums import CaseKind, CaseState
from storage import conversations as convs
from storage import desk
from storage.cases import NewCase, create_case
from storage.errors import ErrorCode
from storage.models import Case, CaseEvent

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
CLERK = desk.Actor.staff(5001, "张科员")


def _case(deps: Deps, user_id: int, avoid: str | None = None) -> int:
    with deps.sessions.begin() as session:
        conversation = convs.conversation_for(session, convs.TelegramPerson(user_id, user_id, "李四", None))
        new = NewCase(
            CaseKind.complaint,
            "局政策法规科",
            "执法行为",
            conversation.reporter_id,
            conversation.id,
            "执法人员态度差",
            {},
            avoid_unit=avoid,
        )
        case = create_case(session, new, deps.calendar, NOW)
        return case.id


def _apply(deps: Deps, case_id: int, action: object) -> None:
    with deps.sessions.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        action(session, case)  # type: ignore[operator]


def _answered(deps: Deps, case_id: int) -> None:
    _apply(deps, case_id, lambda s, c: desk.answer(s, c, "事实…依据…结果…", CLERK, NOW))


def test_a_complaint_about_a_unit_cannot_be_assigned_to_it(deps: Deps) -> None:
    case_id = _case(deps, 3001, avoid="市交通运输综合执法大队")
    units = deps.routing.units
    with pytest.raises(desk.AvoidanceViolation) as refused:
        _apply(deps, case_id, lambda s, c: desk.assign(s, c, "市交通运输综合执法大队", units, CLERK, NOW))
    assert refused.value.code is ErrorCode.avoidance
    assert desk_error_text(refused.value) == "本案投诉的是市交通运输综合执法大队，按回避规定不能交由该单位办理。"
    _apply(deps, case_id, lambda s, c: desk.assign(s, c, "局政工科", units, CLERK, NOW))
    with deps.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.unit == "局政工科" and case.state is CaseState.assigned
        assert case.assigned_at is not None


def test_closing_needs_an_answer_and_two_staff_closing_at_once_give_one_close(deps: Deps) -> None:
    case_id = _case(deps, 3002)
    with pytest.raises(desk.DeskError) as refused:
        _apply(deps, case_id, lambda s, c: desk.close(s, c, CLERK, deps.calendar, NOW))
    assert refused.value.code is ErrorCode.answer_first
    _answered(deps, case_id)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def close_it() -> None:
        barrier.wait()
        try:
            _apply(deps, case_id, lambda s, c: desk.close(s, c, CLERK, deps.calendar, NOW))
            outcomes.append("closed")
        except desk.StateConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=close_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["closed", "conflict"]
    with deps.sessions() as session:
        closes = len(
            session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "closed")).all()
        )
        case = session.get(Case, case_id)
        assert closes == 1 and case is not None and case.return_visit_due is not None


def test_an_unsatisfied_rating_reopens_with_a_new_deadline(deps: Deps) -> None:
    case_id = _case(deps, 3003)
    _answered(deps, case_id)
    _apply(deps, case_id, lambda s, c: desk.close(s, c, CLERK, deps.calendar, NOW))
    later = NOW + timedelta(days=3)
    with deps.sessions.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert desk.rate(session, case, "不满意", deps.calendar, later)
        assert not desk.rate(session, case, "满意", deps.calendar, later)  # rated once only
    with deps.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.state is CaseState.reopened and case.reopen_count == 1
        assert case.opinion_due > later and case.answer_text is None


def test_an_extension_moves_the_opinion_deadline_in_working_days(deps: Deps) -> None:
    case_id = _case(deps, 3004)
    with deps.sessions() as session:
        before = session.get(Case, case_id).opinion_due  # type: ignore[union-attr]
    _apply(deps, case_id, lambda s, c: desk.extend(s, c, 3, "需要调取视频", CLERK, deps.calendar, NOW))
    with deps.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.extension_count == 1
        assert deps.calendar.add_working_days(before, 3) == case.opinion_due


def test_merged_cases_point_to_their_target_and_cannot_be_answered(deps: Deps) -> None:
    first, second = _case(deps, 3005), _case(deps, 3006)
    with deps.sessions.begin() as session:
        case, target = session.get(Case, second), session.get(Case, first)
        assert case is not None and target is not None
        desk.merge(session, case, target, CLERK, NOW)
        assert [c.id for c in desk.merged_into(session, target)] == [second]
    with pytest.raises(desk.StateConflict) as refused:
        _answered(deps, second)
    assert desk_error_text(refused.value) == "案件当前状态为“合并”，不能答复。"
