"""Fixed texts the bot sends without asking Rasa: read from content/texts.yml (staff edit the wording there).

`texts.WELCOME` works as before; the file is read at the first use and checked at start-up
(`check_catalogue`, called by the application's builder), where a missing name or a placeholder the bot
does not fill in stops the start with the file and the entry named.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bureau.texts import load_texts
from foundation.settings import PROJECT_ROOT

# Every name the bot uses, with the placeholders it fills in.
REQUIRED: dict[str, frozenset[str]] = {
    name: frozenset()
    for name in [
        "WELCOME",
        "HELP",
        "UNKNOWN_COMMAND",
        "EMPTY_TEXT",
        "EMOJI_ONLY",
        "UNSUPPORTED",
        "STICKER",
        "EDITED",
        "QUEUED",
        "DELAYED",
        "FLOOD",
        "SAVED_FOR_CASE",
        "RESUMED_FORM",
        "NOT_OWN_CONTACT",
        "NOT_UNDERSTOOD_NOW",
        "MYDATA_SENT",
        "MYDATA_NONE",
        "ERASE_ASK",
        "ERASE_KEPT",
        "ERASE_DONE",
        "BACK_TO_BOT_BUTTON",
        "BACK_TO_BOT",
        "ALREADY_WITH_BOT",
        "BUTTON_EXPIRED",
        "CASE_NOT_OPEN",
        "HOW_CAN_I_HELP",
        "WHICH_CASE",
        "STAFF_HELP",
        "NOTICE_NOT_READ",
        "NOTICE_NO_HELP",
    ]
}
REQUIRED |= {
    "ERASE_PENDING": frozenset({"cases"}),
    "ADD_TO_CASE": frozenset({"number"}),
    "ADD_TO_CASE_STAFF": frozenset({"number"}),
    "TALK_TO_CASE": frozenset({"number"}),
    "NO_STAFF_CHAT": frozenset({"number"}),
    "SENT_TO_CASE_STAFF": frozenset({"number"}),
    "ADDED_TO_CASE": frozenset({"number"}),
    "CASE_FINISHED": frozenset({"number", "state"}),
}

ERASE_BUTTONS = {
    "rows": [[{"title": "确认删除", "payload": "privacy:erase"}, {"title": "不删除", "payload": "privacy:keep"}]]
}

_catalogue_path = PROJECT_ROOT / "content" / "texts.yml"


def check_catalogue(path: Path) -> None:
    """Load and check the catalogue at start-up; later texts come from this file."""
    global _catalogue_path
    load_texts(path, REQUIRED)
    _catalogue_path = path
    _catalogue.cache_clear()


@cache
def _catalogue() -> dict[str, str]:
    return load_texts(_catalogue_path, REQUIRED)


def __getattr__(name: str) -> str:
    if name in REQUIRED:
        return _catalogue()[name]
    raise AttributeError(f"module 'bot.texts' has no attribute {name!r}")
