"""Staff answers are reasoned (说理式): facts, basis, result, and the driver's rights when a penalty is involved."""

import pytest

from bureau.answers import STANDARD_RIGHTS, AnswerIncomplete, involves_penalty, parse_answer
from foundation.settings import PROJECT_ROOT

# the project's own copy of the official texts (the source of every quote); a clone alone has it
LEGAL_TEXTS = PROJECT_ROOT / "content" / "legal_texts"
STAFF_TEXT = "事实：经核查，当日过磅数据准确。\n依据：《超限运输车辆行驶公路管理规定》第三条。\n结果：维持原处理。"


def test_sections_are_split_and_rendered_in_order() -> None:
    answer = parse_answer(STAFF_TEXT, penalty_involved=False)
    assert answer.facts == "经核查，当日过磅数据准确。" and answer.rights is None
    html = answer.render("TS-2026-000001", "局政策法规科")
    assert html.index("调查情况") < html.index("处理依据") < html.index("处理结果")


def test_rights_are_added_when_a_penalty_is_involved_and_quote_the_real_articles() -> None:
    answer = parse_answer(STAFF_TEXT, penalty_involved=True)
    assert answer.rights == STANDARD_RIGHTS
    review = (LEGAL_TEXTS / "07a_行政复议法_2023.md").read_text(encoding="utf-8")
    litigation = (LEGAL_TEXTS / "07b_行政诉讼法_2017.md").read_text(encoding="utf-8")
    assert (
        "第二十条 公民、法人或者其他组织认为行政行为侵犯其合法权益的，可以自知道或者应当知道该行政行为之日起六十日内"
        in review
    )
    assert "（一）对当场作出的行政处罚决定不服" in review
    assert "应当自知道或者应当知道作出行政行为之日起六个月内提出" in litigation


def test_a_missing_section_is_named_with_the_template() -> None:
    with pytest.raises(AnswerIncomplete, match="依据") as caught:
        parse_answer("事实：已核实。\n结果：已处理。", penalty_involved=False)
    assert "/answer" in str(caught.value)


def test_penalty_words_are_recognised() -> None:
    assert involves_penalty("治超站罚了我2000")
    assert not involves_penalty("服务区厕所太脏", None)
