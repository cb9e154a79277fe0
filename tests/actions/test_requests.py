"""action_service_request and action_answer_legal: a case with a unit and a deadline, directions, or an
answer quoted from the knowledge base."""

from __future__ import annotations

from actions.requests import NO_STAFF_BUTTONS, SERVICE_BUTTONS, ActionAnswerLegal, ActionServiceRequest
from bureau.deps import Deps
from foundation.enums import CaseKind
from tests.support.actions import cases_of, driver, run, slot_events, tracker


async def test_a_service_request_opens_a_case_and_gives_its_number(action_deps: Deps) -> None:
    sender = driver(action_deps)
    sent, events = await run(ActionServiceRequest(), tracker(sender, "车坏在G309上了，需要救援", "service_request"))
    [case] = cases_of(action_deps)
    assert case.kind is CaseKind.service_request
    assert case.unit == "市交通运输综合执法大队"
    assert len(sent) == 1
    assert sent[0]["text"].startswith("🆗 您的服务请求已登记。")
    assert f"<b>{case.number}</b>" in sent[0]["text"]
    assert sent[0]["custom"]["case"] == case.number
    assert slot_events(events) == {"unclear_text": None}


async def test_a_vague_request_is_asked_about_and_opens_nothing(action_deps: Deps) -> None:
    sent, _ = await run(ActionServiceRequest(), tracker(driver(action_deps), "嗯", "service_request", confidence=0.5))
    assert sent[0]["text"].startswith("请说一下您需要什么帮助")
    assert sent[0]["buttons"] == SERVICE_BUTTONS
    assert cases_of(action_deps) == []


async def test_a_bare_place_name_is_asked_about_and_opens_nothing(action_deps: Deps) -> None:
    """ "乳山检测站" alone (an answer to the complaint form's time question, read as a service request) says where,
    not what is needed: no service case is opened on it."""
    station = [{"entity": "station", "value": "乳山检测站", "start": 0, "end": 5}]
    message = tracker(driver(action_deps), "乳山检测站", "service_request", confidence=0.9, entities=station)
    sent, _ = await run(ActionServiceRequest(), message)
    assert sent[0]["text"].startswith("请说一下您需要什么帮助")
    assert cases_of(action_deps) == []


async def test_asking_where_without_a_place_asks_for_the_location(action_deps: Deps) -> None:
    sent, events = await run(ActionServiceRequest(), tracker(driver(action_deps), "哪里有热水", "service_request"))
    assert "位置" in sent[0]["text"]
    assert slot_events(events) == {"pending_service": "热水", "unclear_text": None}
    assert cases_of(action_deps) == []


async def test_a_chosen_legal_entry_is_answered_word_for_word(action_deps: Deps) -> None:
    entry = action_deps.legal.entries[0]
    chosen = [{"entity": "legal_entry", "value": entry.code}]
    sent, _ = await run(
        ActionAnswerLegal(), tracker(driver(action_deps), "/legal_question", "legal_question", entities=chosen)
    )
    referral = action_deps.referrals.get(entry.referral.lower()) if entry.referral else None
    assert [m["text"] for m in sent] == [entry.render(referral.channel if referral else None)]


async def test_a_legal_question_without_an_answer_offers_a_person(action_deps: Deps) -> None:
    sent, events = await run(ActionAnswerLegal(), tracker(driver(action_deps), "咖啡豆怎么烘焙", "legal_question"))
    assert sent[0]["text"].startswith("这个问题我暂时没有把握给出准确的法律依据")
    assert sent[0]["buttons"] == NO_STAFF_BUTTONS
    assert slot_events(events) == {"unclear_text": None}


async def test_a_complaint_after_a_legal_question_is_offered_as_one_tap(action_deps: Deps) -> None:
    sent, events = await run(
        ActionAnswerLegal(),
        tracker(driver(action_deps), "超限运输怎么罚款？另外我要投诉检测站乱收费", "legal_question"),
    )
    alone, _ = await run(
        ActionAnswerLegal(), tracker(driver(action_deps, 5002), "超限运输怎么罚款？", "legal_question")
    )
    assert sent[: len(alone)] == alone  # the question is answered as if it came alone
    assert sent[-1]["custom"] == {"send_text": "检测站乱收费"}
    assert "检测站乱收费" in sent[-1]["text"]
    assert cases_of(action_deps) == []  # the complaint is filed only when the driver taps it
    assert slot_events(events) == {"unclear_text": None}
