"""A message that says nothing about a matter is asked about, never told it is out of scope."""

from __future__ import annotations

import pytest

from actions.conversation import is_contentless


@pytest.mark.parametrize("text", ["这个怎么弄", "咋整啊？", "这个怎么办呢", "请帮忙看一下"])
def test_a_message_without_a_topic_is_contentless(text: str) -> None:
    assert is_contentless(text)


@pytest.mark.parametrize("text", ["个税退税怎么弄", "12306抢不到票怎么办", "这个罚款怎么交", "", "   ", "ok"])
def test_a_message_with_a_topic_is_not(text: str) -> None:
    assert not is_contentless(text)
