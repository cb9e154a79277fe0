"""Hypothesis strategies that build Telegram updates the way Telegram sends them, and `garbled` that breaks
them the way a buggy client or proxy might; tests/fuzz/test_fuzz_updates.py and tests/e2e/test_fuzz_stack.py
feed them through the inbox and the running stack."""

import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from simulator.bot_api import BOT_USER_ID, command_entities

# people of the fuzz; no other test uses these ids
FUZZ_DRIVERS = tuple(range(910_000_001, 910_000_007))
FUZZ_STAFF = (910_100_001, 910_100_002)
FUZZ_OUTSIDERS = (910_200_001, 910_200_002)
STAFF_GROUP_ID = -100_1000_0001  # a forum supergroup; the e2e fuzz passes its own staff group
OTHER_GROUP_ID = -100_9999_0001
CHANNEL_ID = -100_9999_0002
BOT_USER = {
    "id": BOT_USER_ID,
    "is_bot": True,
    "first_name": "Transport Complaints",
    "username": "transport_complaints_bot",
}
# what bot/staff/ knows, and a few it does not
STAFF_COMMANDS = (
    "assign", "note", "answer", "close", "reopen", "extend", "reject", "merge", "bot", "identity", "visit",
    "stats", "ledger", "measures", "xiaohao", "help", "start",
)  # fmt: skip
OTHER_COMMANDS = ("reply", "status", "cancel", "foo", "CLOSE", "关闭", "")
DESK_BUTTONS = ("take", "close", "bot", "id", "units", "as", "refs", "rj", "nope")
INT64 = 2**63
BIG_INT_COLUMN = st.integers(-INT64, INT64 - 1)

PIECES = (
    "\x00", "\x07", "\x1b", "\x7f", "\u0085", "\u200b", "\u200d", "\u200f", "\u202e", "\u2028", "\u2066", "\ufeff",
    "\ufffd", "\ufffe", "\ue000", "\U0010fffd", "\U000e0001", "\u0301", "\u0e47", "😀", "👨‍👩‍👧", "🇨🇳", "🚚",
    "\n", "\r\n", "\t", " ", "　", "<b>", "</i>", "<a href='x'>", "&amp;", "&#0;", "%s", "{}", "\\", '"',
    "'; DROP TABLE messages; --", "مرحبا", "עברית", "投诉", "罚款", "首违不罚", "G309", "检测站", "人工", "取消",
    "TS-2099-000001", "ts 2099 1", "鲁K12345", "13812345678", "/start", "/", "@transport_complaints_bot",
)  # fmt: skip


def _repeat(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length]


short_text = st.one_of(st.text(max_size=30), st.lists(st.sampled_from(PIECES), max_size=4).map("".join))
long_text = st.builds(_repeat, st.text(min_size=1, max_size=12), st.integers(1000, 10_000))
case_numbers = st.builds("TS-2026-{:06d}".format, st.integers(900_000, 999_999)) | st.sampled_from(
    ["TS-1999-000001", "ts2026 999999", "TS-2026-", "TS-2026-0000001"]
)
ledger_numbers = st.builds("DB-2026-{:03d}".format, st.integers(900, 999)) | st.just("DB-")
command_args = st.one_of(
    st.just(""),
    short_text,
    case_numbers,
    ledger_numbers,
    st.sampled_from(["局政工科", "局政策法规科", "市交通运输综合执法大队", "all", "122", "12315", "court", "12345"]),
    st.builds("{} {}".format, st.sampled_from(["3", "0", "-1", "99999999999", "x"]), short_text),
    st.builds("{} {}".format, st.dates().map(str), st.dates().map(str)),
    st.builds("{} {}".format, ledger_numbers | case_numbers, short_text),
    st.just("事实：已核实。\n依据：《道路运输条例》第三十四条。\n结果：已督促整改。"),
)
command_texts = st.builds(
    "/{}{}{}{}".format,
    st.sampled_from(STAFF_COMMANDS + OTHER_COMMANDS),
    st.sampled_from(["", "", "@transport_complaints_bot", "@other_bot"]),
    st.sampled_from([" ", " ", "\n", "  ", "\t"]),
    command_args,
)
odd_text = st.one_of(
    st.just(""),
    st.text(max_size=200),
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    long_text,
    command_texts,
)
file_ids = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=60)
message_ids = st.integers(1, 2**31 - 1)
NOW = int(time.time())
dates = st.integers(NOW - 3600, NOW + 60) | st.integers(0, 4_102_444_800)  # mostly about now, as Telegram sends
file_sizes = st.integers(0, 2**52)  # Telegram: "can be bigger than 2^31 ... at most 52 significant bits"


def _optional(draw: st.DrawFn, target: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        target[key] = draw(strategy)


@dataclass(frozen=True)
class World:
    """Who and where: the chats and people the updates come from, and what staff can point at."""

    staff_chat_id: int = STAFF_GROUP_ID
    drivers: tuple[int, ...] = FUZZ_DRIVERS
    staff: tuple[int, ...] = FUZZ_STAFF
    outsiders: tuple[int, ...] = FUZZ_OUTSIDERS
    thread_ids: st.SearchStrategy[int] = st.integers(1, 2**31 - 1)
    case_ids: st.SearchStrategy[int] = st.integers(1, 2**31 - 1)
    file_ids: st.SearchStrategy[str] = file_ids

    @property
    def people(self) -> tuple[int, ...]:
        return self.drivers + self.staff + self.outsiders


DEFAULT_WORLD = World()


@st.composite
def users(draw: st.DrawFn, ids: Sequence[int]) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": draw(st.sampled_from(ids)),
        "is_bot": draw(st.sampled_from([False, False, False, True])),
        "first_name": draw(short_text),
    }
    _optional(draw, user, "last_name", short_text)
    _optional(draw, user, "username", st.text(alphabet=string.ascii_letters + "_", min_size=5, max_size=32))
    _optional(draw, user, "language_code", st.sampled_from(["zh-hans", "en", "ug", ""]))
    return user


@st.composite
def contents(draw: st.DrawFn, world: World, staff_chat: bool) -> dict[str, Any]:
    """What a message carries: text, media, a location, a contact, a sticker, a service event, or nothing."""
    kind = draw(
        st.sampled_from(
            ["text", "text", "text", "command", "command", "photo", "voice", "audio", "document", "location"]
            + ["contact", "sticker", "dice", "venue", "new_chat_members", "forum_topic_created", "nothing"]
        )
    )
    if kind in ("text", "command"):
        text = draw(command_texts if kind == "command" or (staff_chat and draw(st.booleans())) else odd_text)
        content: dict[str, Any] = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        elif draw(st.booleans()):
            content["entities"] = [
                {"type": "bold", "offset": draw(st.integers(0, 20)), "length": draw(st.integers(1, 20))}
            ]
        return content
    if kind == "nothing":
        return {}
    ref = {"file_id": draw(world.file_ids), "file_unique_id": draw(file_ids)}
    media: dict[str, Any]
    if kind == "photo":
        sizes = draw(st.lists(st.tuples(st.integers(1, 10_000), st.integers(1, 10_000)), min_size=1, max_size=3))
        photo = []
        for width, height in sizes:
            size = {**ref, "width": width, "height": height}
            _optional(draw, size, "file_size", file_sizes)
            photo.append(size)
        media = {"photo": photo}
    elif kind in ("voice", "audio"):
        item = {**ref, "duration": draw(st.integers(0, 2**31 - 1))}
        _optional(draw, item, "mime_type", st.sampled_from(["audio/ogg", "audio/mpeg", "", "x/y"]))
        _optional(draw, item, "file_size", file_sizes)
        media = {kind: item}
    elif kind == "document":
        item = dict(ref)
        _optional(draw, item, "file_name", short_text)
        _optional(draw, item, "mime_type", st.sampled_from(["image/jpeg", "application/pdf", "", "image/"]))
        _optional(draw, item, "file_size", file_sizes)
        media = {"document": item}
    elif kind == "location":
        location = {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}
        _optional(draw, location, "horizontal_accuracy", st.floats(0, 1500))
        return {"location": location}
    elif kind == "contact":
        contact: dict[str, Any] = {"phone_number": draw(short_text), "first_name": draw(short_text)}
        _optional(draw, contact, "user_id", st.sampled_from(world.people))
        return {"contact": contact}
    elif kind == "sticker":
        sticker = {**ref, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
        _optional(draw, sticker, "emoji", short_text)
        return {"sticker": sticker}
    elif kind == "dice":
        return {"dice": {"emoji": "🎲", "value": draw(st.integers(1, 6))}}
    elif kind == "venue":
        where = {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}
        return {"venue": {"location": where, "title": draw(short_text), "address": draw(short_text)}}
    elif kind == "new_chat_members":
        return {"new_chat_members": draw(st.lists(users(world.people), min_size=1, max_size=2))}
    else:
        return {"forum_topic_created": {"name": draw(short_text), "icon_color": 7322096}}
    _optional(draw, media, "caption", odd_text)
    return media


@st.composite
def chats(draw: st.DrawFn, world: World, where: str | None = None) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """(where, chat, sender): a driver's private chat, the staff group, another group or a channel."""
    where = where or draw(st.sampled_from(["private", "private", "private", "staff", "staff", "group", "channel"]))
    if where == "private":
        sender = draw(users(world.people))
        chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
        if "username" in sender:
            chat["username"] = sender["username"]
        return where, chat, sender
    if where == "staff":
        chat = {"id": world.staff_chat_id, "type": "supergroup", "title": "执法大队工作组", "is_forum": True}
        return where, chat, draw(users(world.staff + world.outsiders + world.drivers))
    if where == "group":
        kind = draw(st.sampled_from(["group", "supergroup"]))
        return where, {"id": OTHER_GROUP_ID, "type": kind, "title": draw(short_text)}, draw(users(world.people))
    return where, {"id": CHANNEL_ID, "type": "channel", "title": draw(short_text)}, None


@st.composite
def messages(draw: st.DrawFn, world: World, edited: bool = False, where: str | None = None) -> dict[str, Any]:
    where, chat, sender = draw(chats(world, where))
    message: dict[str, Any] = {"message_id": draw(message_ids), "date": draw(dates), "chat": chat}
    if sender is not None and draw(st.integers(0, 15)):
        message["from"] = sender  # left out now and then: anonymous admins, channel posts
    else:
        message["sender_chat"] = chat
    if where == "staff" and draw(st.integers(0, 3)):
        message["message_thread_id"] = draw(world.thread_ids)
        message["is_topic_message"] = True
    message.update(draw(contents(world, staff_chat=where == "staff")))
    if not draw(st.integers(0, 5)):
        replied = {"message_id": draw(message_ids), "date": draw(dates), "chat": chat, "from": BOT_USER}
        message["reply_to_message"] = replied | {"text": draw(short_text) or "？"}
    if edited:
        message["edit_date"] = message["date"] + draw(st.integers(0, 10**6))
    return message


@st.composite
def callback_queries(draw: st.DrawFn, world: World, where: str | None = None) -> dict[str, Any]:
    sender = draw(users(world.people))
    case = draw(world.case_ids)
    data = draw(
        st.one_of(
            short_text,
            st.sampled_from(["/affirm", "/deny", "/greet", "/human_handoff", "/no_such_intent", "/", " /cancel "]),
            st.builds("rate:{}:{}".format, st.just(case), st.integers(-1, 4)),
            st.builds("consent:{}:{}".format, st.just(case), st.integers(-1, 2)),
            st.builds(
                "d:{}:{}{}".format,
                st.sampled_from(DESK_BUTTONS),
                st.just(case),
                st.sampled_from(["", ":0", ":122", ":x"]),
            ),
        )
    )
    query: dict[str, Any] = {"id": draw(file_ids), "from": sender, "chat_instance": draw(file_ids)}
    if data or draw(st.booleans()):
        query["data"] = data
    where = where or draw(st.sampled_from(["private", "staff", "none"]))
    if where != "none":
        if where == "private":
            chat: dict[str, Any] = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
        else:
            chat = {"id": world.staff_chat_id, "type": "supergroup", "title": "执法大队工作组", "is_forum": True}
        message = {"message_id": draw(message_ids), "date": draw(dates), "chat": chat, "from": BOT_USER}
        message["text"] = draw(short_text) or "案件"
        if where == "staff":
            message |= {"message_thread_id": draw(world.thread_ids), "is_topic_message": True}
        query["message"] = message
    return query


@st.composite
def member_changes(draw: st.DrawFn, world: World) -> dict[str, Any]:
    _, chat, sender = draw(chats(world))
    old, new = draw(st.sampled_from([("member", "kicked"), ("kicked", "member"), ("left", "administrator")]))

    def member(status: str) -> dict[str, Any]:
        body: dict[str, Any] = {"user": BOT_USER, "status": status}
        if status == "kicked":
            body["until_date"] = 0
        if status == "administrator":
            body |= {"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True}
            body |= dict.fromkeys(("can_delete_messages", "can_manage_video_chats", "can_restrict_members"), True)
            body |= dict.fromkeys(("can_promote_members", "can_change_info", "can_invite_users"), True)
            body |= dict.fromkeys(("can_post_stories", "can_edit_stories", "can_delete_stories"), False)
        return body

    return {
        "chat": chat,
        "from": sender or draw(users(world.people)),
        "date": draw(dates),
        "old_chat_member": member(old),
        "new_chat_member": member(new),
    }


huge_ints = st.integers(min_value=INT64) | st.integers(max_value=-INT64 - 1)
garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | huge_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | short_text
    | long_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def update_bodies(world: World = DEFAULT_WORLD) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed updates of every kind, without their update_id."""
    inline_query = st.fixed_dictionaries(
        {"id": file_ids, "from": users(world.people), "query": odd_text, "offset": st.just("")}
    )
    unknown = st.builds(
        lambda name, value: {f"future_{name}": value}, st.text(string.ascii_lowercase, max_size=8), garbage
    )
    return st.one_of(
        messages(world).map(lambda m: {"message": m}),
        messages(world, edited=True).map(lambda m: {"edited_message": m}),
        callback_queries(world).map(lambda q: {"callback_query": q}),
        member_changes(world).map(lambda m: {"my_chat_member": m}),
        messages(world).map(lambda m: {"channel_post": m}),
        inline_query.map(lambda q: {"inline_query": q}),
        unknown,
        st.just({}),
    )


def drivers_updates(world: World = DEFAULT_WORLD) -> st.SearchStrategy[dict[str, Any]]:
    """What drivers send the bot in their private chat: messages of every kind, edits and button presses."""
    return st.one_of(
        messages(world, where="private").map(lambda m: {"message": m}),
        messages(world, edited=True, where="private").map(lambda m: {"edited_message": m}),
        callback_queries(world, where="private").map(lambda q: {"callback_query": q}),
    )


@st.composite
def staff_commands(draw: st.DrawFn, world: World) -> dict[str, Any]:
    """A member or an outsider writes a command (or a reply to the driver) in a topic or the general thread."""
    _, chat, sender = draw(chats(world, "staff"))
    message = {"message_id": draw(message_ids), "date": draw(dates), "chat": chat, "from": sender}
    if draw(st.integers(0, 3)):
        message |= {"message_thread_id": draw(world.thread_ids), "is_topic_message": True}
    text = draw(st.one_of(command_texts, command_texts, command_texts, odd_text))
    message["text"] = text
    if entities := command_entities(text):
        message["entities"] = entities
    return message


def staff_group_updates(world: World = DEFAULT_WORLD) -> st.SearchStrategy[dict[str, Any]]:
    """What members and outsiders do in the staff group: commands and replies in topics, posts, and buttons."""
    return st.one_of(
        staff_commands(world).map(lambda m: {"message": m}),
        messages(world, where="staff").map(lambda m: {"message": m}),
        callback_queries(world, where="staff").map(lambda q: {"callback_query": q}),
    )
