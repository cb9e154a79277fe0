"""Long answers reach the driver whole: cut at safe places, never inside a tag or an entity."""

from __future__ import annotations

import re

from foundation.html_split import split_html, utf16_length

LIMIT = 4096


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_a_short_message_is_one_piece() -> None:
    assert split_html("<b>你好</b>", LIMIT) == ["<b>你好</b>"]


def test_an_answer_of_4000_characters_keeps_its_rights_notice_at_the_end() -> None:
    body = "\n".join(f"第{i}段：经核查，当日过磅数据准确，执法程序合法。" * 3 for i in range(60))
    rights = "四、您的权利：如对行政处罚决定不服，您可以自知道之日起六十日内申请行政复议。"
    answer = f"📄 <b>案件 TS-2026-000001 答复意见</b>\n{body}\n\n<b>{rights}</b>"
    pieces = split_html(answer, LIMIT)
    assert len(pieces) >= 2
    assert all(utf16_length(piece) <= LIMIT for piece in pieces)
    assert rights in _visible(pieces[-1])
    assert "".join(_visible(p) for p in pieces).replace("\n", "") == _visible(answer).replace("\n", "")


def test_a_cut_inside_bold_closes_and_reopens_the_tag() -> None:
    text = "<b>" + "很长的加粗文字。" * 800 + "</b>"
    pieces = split_html(text, LIMIT)
    assert len(pieces) > 1
    for piece in pieces:
        assert piece.startswith("<b>") and piece.endswith("</b>")
        assert piece.count("<b>") == piece.count("</b>")


def test_entities_and_links_are_never_cut() -> None:
    text = ('<a href="https://example.org/a?x=1&amp;y=2">链接</a> &amp; &lt;说明&gt; ' * 400).strip()
    for piece in split_html(text, 1000):
        assert not re.search(r"&[#\w]*$", piece)  # no entity left open at the end
        assert not re.search(r"<[^>]*$", piece)  # no tag cut
        assert piece.count("<a ") == piece.count("</a>")


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    text = "🚨" * 3000
    pieces = split_html(text, LIMIT)
    assert all(utf16_length(p) <= LIMIT for p in pieces) and "".join(pieces) == text
