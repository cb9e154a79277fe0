"""Two matters in one message: where the second starts and what it is."""

from __future__ import annotations

import pytest

from bureau.matters import SecondMatter, second_matter


@pytest.mark.parametrize(
    ("text", "first", "second", "kind"),
    [
        (
            "我要投诉乳山检测站的人态度很差，顺便问一下，超限运输一般罚多少钱？",
            "我要投诉乳山检测站的人态度很差",
            "超限运输一般罚多少钱？",
            "question",
        ),
        ("超限罚多少？另外我要投诉检测站乱收费", "超限罚多少？", "检测站乱收费", "complaint"),
        ("超限怎么罚 还有个问题 复议去哪申请", "超限怎么罚", "复议去哪申请", "question"),
        ("检测站罚款不开票，对了，请问罚款能网上交吗", "检测站罚款不开票", "罚款能网上交吗", "question"),
        ("罚款不开票，再问一下复议多久", "罚款不开票", "复议多久", "question"),
        ("请问超限怎么认定？另外想问一下首违不罚怎么算", "请问超限怎么认定？", "首违不罚怎么算", "question"),
    ],
)
def test_the_second_matter_is_split_off(text: str, first: str, second: str, kind: str) -> None:
    assert second_matter(text) == SecondMatter(first, second, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "顺便问一下罚款在哪交",  # the opener starts the message: one matter
        "问一下复议期限多久",
        "我还想投诉一下收费站",  # "我" is no first matter
        "他们再罚我一次怎么办",  # 再 without a verb of asking
        "执法人员态度差，顺便问一下",  # nothing after the opener
        "",
    ],
)
def test_one_matter_is_not_split(text: str) -> None:
    assert second_matter(text) is None
