"""Which case a driver's message is for: only when the driver says so or it plainly belongs; else the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bureau.addressing import AskWhich, CaseRef, Finished, Incoming, LeaveCase, ToBot, ToCase, address

NOW = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
OLD = CaseRef(1, "TS-2026-000001", NOW - timedelta(days=3), finished=False)
NEW = CaseRef(2, "TS-2026-000002", NOW - timedelta(minutes=5), finished=False)
CLOSED = CaseRef(3, "TS-2026-000003", NOW - timedelta(days=9), finished=True)


def _text(text: str, **facts: object) -> Incoming:
    return Incoming(kind="text", text=text, at=NOW, **facts)  # type: ignore[arg-type]


def test_a_legal_question_after_filing_is_for_the_bot() -> None:
    assert address(_text("顺便问一下，超限运输一般罚多少钱？依据是哪条规定？"), [NEW]) == ToBot()


def test_a_second_unrelated_complaint_is_for_the_bot_to_open_a_new_case() -> None:
    assert address(_text("还有，服务区厕所太脏了，根本没法用"), [NEW]) == ToBot()


def test_a_telegram_reply_to_a_case_message_goes_to_that_case() -> None:
    assert address(_text("您好，票据我找到了", replied_case_id=1), [OLD, NEW]) == ToCase(1, "reply")


def test_a_reply_to_a_closed_case_is_read_by_the_bot_with_a_note() -> None:
    assert address(_text("为什么这样处理", replied_case_id=3), [OLD, CLOSED]) == Finished(3)


def test_a_reply_to_another_drivers_message_is_not_a_case_of_theirs() -> None:
    # the replied message was looked up in this driver's conversation only: a forged id finds no case
    assert address(_text("补充材料", replied_case_id=None), []) == ToBot()
    assert address(_text("补充材料", replied_case_id=99), [OLD]) == ToCase(1, "adding")


def test_a_photo_right_after_filing_belongs_to_the_new_case() -> None:
    assert address(Incoming(kind="photo", text=None, at=NOW), [OLD, NEW]) == ToCase(2, "fresh")


def test_a_photo_long_after_filing_asks_which_case() -> None:
    later = NOW + timedelta(hours=2)
    assert address(Incoming(kind="photo", text=None, at=later), [OLD, NEW]) == AskWhich((2, 1))


def test_a_photo_with_no_case_open_is_for_the_bot() -> None:
    assert address(Incoming(kind="photo", text=None, at=NOW), [CLOSED]) == ToBot()


def test_adding_with_one_open_case_goes_to_it_and_with_five_asks_which() -> None:
    assert address(_text("补充一下，当时是上午十点"), [NEW, CLOSED]) == ToCase(2, "adding")
    five = [CaseRef(i, f"TS-2026-00000{i}", NOW - timedelta(days=i), False) for i in range(1, 6)]
    assert address(_text("补充一下，当时是上午十点"), five) == AskWhich((1, 2, 3, 4, 5))


def test_naming_a_case_number_sends_it_there_unless_asking_for_progress() -> None:
    assert address(_text("关于TS-2026-000001，我再说明一下当时的情况"), [OLD, NEW]) == ToCase(1, "number")
    assert address(_text("TS-2026-000001 进度怎么样了"), [OLD, NEW]) == ToBot()
    assert address(_text("ts 2026 1 补充说明"), [OLD]) == ToCase(1, "number")


def test_a_chosen_case_takes_messages_until_the_driver_leaves() -> None:
    focus = {"focus_case_id": 1, "focus_since": NOW - timedelta(minutes=3)}
    assert address(_text("他们当时还骂人了", **focus), [OLD, NEW]) == ToCase(1, "focus")
    assert address(_text("取消", **focus), [OLD, NEW]) == LeaveCase(1)
    assert address(_text("返回", **focus), [OLD, NEW]) == LeaveCase(1)


def test_a_chosen_case_lets_go_after_a_long_pause_or_when_finished() -> None:
    idle = {"focus_case_id": 1, "focus_since": NOW - timedelta(hours=5)}
    assert address(_text("超限怎么罚", **idle), [OLD]) == ToBot(focus_expired=True)
    finished = {"focus_case_id": 3, "focus_since": NOW}
    assert address(_text("还在吗", **finished), [CLOSED]) == ToBot(focus_expired=True)


def test_inside_a_form_the_form_takes_photos_and_answers() -> None:
    assert address(Incoming(kind="photo", text=None, at=NOW, form_open=True), [NEW]) == ToBot()
    assert address(_text("补充一下，是G309", form_open=True), [NEW]) == ToBot()


def test_commands_and_buttons_are_never_addressed_to_a_case() -> None:
    assert address(Incoming(kind="command", text="/status", at=NOW, replied_case_id=1), [OLD]) == ToBot()
