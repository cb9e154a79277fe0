"""Reading complaint fields out of what drivers write."""

import pytest

from actions import fields
from storage.cases import normalise_case_number


@pytest.mark.parametrize("text", ["我要投诉", "投诉", "我想举报一下", "俺要反映个情况！"])
def test_generic_openers_are_not_descriptions(text: str) -> None:
    assert fields.substantive_description(text) is None


def test_a_real_story_is_a_description() -> None:
    text = "乳山超限站的人让我卸货还收了200块卸货费"
    assert fields.substantive_description(text) == text


def test_place_and_time_come_from_entities() -> None:
    entities = [
        {"entity": "station", "value": "乳山超限检测站"},
        {"entity": "location", "value": "G309"},
        {"entity": "time", "value": "昨天下午"},
    ]
    assert fields.place_from_entities(entities) == "乳山超限检测站，G309"
    assert fields.time_from_entities(entities) == "昨天下午"


@pytest.mark.parametrize("text", ["跳过", "没有", "无", "Skip", "不用了！", "没有没有"])
def test_skip_words(text: str) -> None:
    assert fields.is_skip(text)


@pytest.mark.parametrize("text", ["记不清了", "跳过", "没有", "不知道在哪", "说不清"])
def test_a_skipped_or_unknown_place_or_time_is_kept_as_not_given(text: str) -> None:
    assert fields.answer_field(text) == "不详"


@pytest.mark.parametrize("text", ["无棣县收费站", "昨天晚上", "G309乳山段"])
def test_a_place_or_time_answer_is_kept_in_the_drivers_words(text: str) -> None:
    assert fields.answer_field(text) == text


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("TS-2026-000123", "TS-2026-000123"),
        ("ts 2026 000123", "TS-2026-000123"),
        ("查一下ts-2026-123进度", "TS-2026-000123"),
        ("我的编号是TS2026000045", "TS-2026-000045"),
    ],
)
def test_case_numbers_in_any_spelling(raw: str, number: str) -> None:
    assert normalise_case_number(raw) == number


def test_not_a_case_number() -> None:
    assert normalise_case_number("鲁K12345") is None


def test_overlapping_matches_keep_the_longest() -> None:
    entities = [{"entity": "time", "value": "昨天下午"}, {"entity": "time", "value": "昨天下午3点"}]
    assert fields.time_from_entities(entities) == "昨天下午3点"


@pytest.mark.parametrize("text", ["确认", "是的是的", "ok ok", "好的，提交吧", "对", "嗯嗯"])
def test_confirmations(text: str) -> None:
    assert fields.is_confirm(text) and not fields.is_deny(text)


@pytest.mark.parametrize("text", ["不对", "错了错了", "不要提交", "不，不是"])
def test_denials(text: str) -> None:
    assert fields.is_deny(text) and not fields.is_confirm(text)


def test_a_correction_is_neither() -> None:
    text = "地点不对，是在文登收费站"
    assert not fields.is_confirm(text) and not fields.is_deny(text)
