"""What the bot makes of each kind of Telegram update, before Rasa sees anything."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update

from bot import texts
from bot.updates import MAX_RASA_TEXT, classify

BOT = Bot("1:x")
USER = {"id": 42, "is_bot": False, "first_name": "王"}
CHAT = {"id": 42, "type": "private"}


def update(**message: Any) -> Update:
    body = {"message_id": 1, "date": 1764200000, "chat": CHAT, "from": USER, **message}
    return Update.de_json({"update_id": 1, "message": body}, BOT)


def test_text_goes_to_rasa_without_control_characters() -> None:
    inbound = classify(update(text="\x00罚款\u200b几天交\x07"))
    assert inbound is not None and inbound.rasa_texts == ("罚款几天交",)


def test_very_long_text_is_stored_whole_but_capped_for_rasa() -> None:
    inbound = classify(update(text="长" * 4096))
    assert inbound is not None and len(inbound.text or "") == 4096 and len(inbound.rasa_texts[0]) == MAX_RASA_TEXT


def test_status_command_carries_the_case_number() -> None:
    inbound = classify(
        update(text="/status TS-2026-000123", entities=[{"type": "bot_command", "offset": 0, "length": 7}])
    )
    assert inbound is not None and inbound.rasa_texts == ('/check_status{"case_number": "TS-2026-000123"}',)


def test_unknown_command_and_emoji_get_direct_answers() -> None:
    assert classify(update(text="/foo")).direct_reply == texts.UNKNOWN_COMMAND  # type: ignore[union-attr]
    assert classify(update(text="👍👍")).direct_reply == texts.EMOJI_ONLY  # type: ignore[union-attr]
    assert classify(update(text="   ")).direct_reply == texts.EMPTY_TEXT  # type: ignore[union-attr]


def test_photo_with_caption_is_an_attachment_then_text() -> None:
    photo = [
        {"file_id": "a", "file_unique_id": "ua", "width": 10, "height": 10},
        {"file_id": "b", "file_unique_id": "ub", "width": 100, "height": 100, "file_size": 999},
    ]
    inbound = classify(update(photo=photo, caption="检测站的磅单"))
    assert inbound is not None
    assert inbound.rasa_texts == ("/attach_photo", "检测站的磅单")
    assert inbound.attachment == {"kind": "photo", "file_id": "b", "file_unique_id": "ub", "file_size": 999}


def test_location_becomes_coordinates_for_rasa() -> None:
    inbound = classify(update(location={"latitude": 36.9191, "longitude": 121.5371}))
    assert inbound is not None and inbound.rasa_texts == ('/share_location{"coordinates": "36.91910,121.53710"}',)


def test_sticker_edit_and_group_messages() -> None:
    sticker = {
        "file_id": "s",
        "file_unique_id": "us",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "emoji": "😀",
    }
    assert classify(update(sticker=sticker)).direct_reply == texts.STICKER  # type: ignore[union-attr]
    edited = Update.de_json(
        {
            "update_id": 2,
            "edited_message": {"message_id": 1, "date": 1, "edit_date": 2, "chat": CHAT, "from": USER, "text": "改了"},
        },
        BOT,
    )
    assert classify(edited).direct_reply == texts.EDITED  # type: ignore[union-attr]
    group = update(text="大家好", chat={"id": -100, "type": "supergroup"})
    assert classify(group).private is False  # type: ignore[union-attr]


def test_button_press_sends_its_payload() -> None:
    press = Update.de_json(
        {
            "update_id": 3,
            "callback_query": {
                "id": "q",
                "from": USER,
                "chat_instance": "c",
                "data": "/affirm",
                "message": {"message_id": 9, "date": 1, "chat": CHAT, "text": "确认?"},
            },
        },
        BOT,
    )
    inbound = classify(press)
    assert inbound is not None and inbound.rasa_texts == ("/affirm",) and inbound.callback_query_id == "q"


def test_cancel_words_work_like_the_cancel_command() -> None:
    for word in ("取消", "算了！", "退出"):
        assert classify(update(text=word)).rasa_texts == ("/cancel",)  # type: ignore[union-attr]
