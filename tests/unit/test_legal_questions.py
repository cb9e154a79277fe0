"""A legal question the NLU read as a complaint or a service request is answered, not made into a case;
complaints phrased as questions and calls for help stay what they are."""

from __future__ import annotations

import pytest

from bureau.legal_kb import load_kb
from bureau.legal_questions import answer_instead
from foundation.settings import PROJECT_ROOT, load_settings

DATA = PROJECT_ROOT / "content"
KB = load_kb(DATA / "legal", DATA / "legal_texts", None, load_settings().embedding_cache)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("车挂靠在运输公司名下，被罚了款，罚款该谁交？", "who_is_punished_guakao"),  # opened a complaint form
        ("高速上拖车收费有没有官方标准？", "highway_rescue_towing_fees"),  # opened a roadside-service case
        ("道路运输证丢了怎么补办", "operating_certificate_lost"),
    ],
)
def test_a_plain_legal_question_gets_its_entry(text: str, entry: str) -> None:
    found = answer_instead(text, KB)
    assert found is not None and found.id == entry


@pytest.mark.parametrize(
    "text",
    [
        "车坏在G309上了，需要拖车",  # a call for help: a case
        "能派个拖车来吗",
        "执法人员罚了我2000还不给开票，凭什么？",  # a grievance phrased as a question: a complaint
        "超限站的人态度太差了，这合法吗？我要投诉",
        "执法队的人骂人",  # not a question at all
        "/complaint",  # a button press: the driver chose
    ],
)
def test_complaints_and_calls_for_help_are_left_alone(text: str) -> None:
    assert answer_instead(text, KB) is None
