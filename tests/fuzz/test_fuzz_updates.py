"""Random and broken Telegram updates through the inbox: nothing escapes, every update is stored exactly once.

The strategies below build updates the way Telegram sends them (every kind the bot may meet, any text,
huge and empty fields, optional fields left out), and `garbled` breaks them the way a buggy client or
proxy might (a field of the wrong type, a field missing, nested garbage). tests/e2e/test_fuzz_stack.py
feeds the same updates through the running stack.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import string
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from telegram import Bot, Update
from telegram.ext import Application

from bot.app import build_application
from bot.inbox_bot import InboxBot, ids_fit
from bot.local_api import BOT_USER_ID, LocalBotApi, command_entities
from bot.pipeline import Pipeline
from bot.updates import MAX_RASA_TEXT, Inbound, classify
from complaints.deps import Deps
from storage.inbox import chat_of
from storage.models import InboundUpdate, Message, UpdateStatus

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
# what bot/staff_commands.py knows, and a few it does not
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


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def garbled(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A well-formed update with 1-3 fields broken: a wrong type, a number as text, a list, garbage, or gone."""
    body = copy.deepcopy(draw(bodies))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        key, old = path[-1], parent[path[-1]]
        how = draw(st.sampled_from(["garbage", "garbage", "text", "list", "none", "delete"]))
        if how == "delete" and isinstance(parent, dict):
            del parent[key]
        elif how == "text":
            parent[key] = str(old)  # a chat id or a date as a string
        elif how == "list":
            parent[key] = [old]
        elif how == "none":
            parent[key] = None
        else:
            parent[key] = draw(garbage)
    return body


# ---------------------------------------------------------------- batches as getUpdates returns them


@dataclass
class Entry:
    raw: Any  # what Telegram sent (normally a dict with an update_id)
    well_formed: bool


@st.composite
def batches(draw: st.DrawFn, world: World = DEFAULT_WORLD) -> list[Entry]:
    """A getUpdates result: updates with distinct int ids, some without a usable id, some redelivered."""
    size = draw(st.integers(1, 8))
    ids = draw(st.lists(BIG_INT_COLUMN | st.integers(-5, 5), min_size=size, max_size=size, unique=True))
    entries = []
    for update_id in ids:
        well_formed = draw(st.integers(0, 2)) > 0
        body = draw(update_bodies(world) if well_formed else garbled(update_bodies(world)))
        how = draw(st.sampled_from(["int"] * 6 + ["missing", "garbage", "not a dict"]))
        if how == "int":
            raw: Any = {"update_id": update_id, **body}
        elif how == "missing":
            raw = body
        elif how == "garbage":
            bad_id = draw(st.none() | short_text | st.floats(allow_nan=False) | st.lists(st.integers(), max_size=2))
            raw = {"update_id": bad_id, **body}
        else:
            raw = draw(garbage.filter(lambda g: not isinstance(g, dict)))
        entries.append(Entry(raw, well_formed and how == "int"))
    for index in draw(st.lists(st.integers(0, size - 1), max_size=3)):  # Telegram delivers some again
        entries.append(copy.deepcopy(entries[index]))
    return entries


def int_id(raw: Any) -> int | None:
    """The update id, if it is one a BIGINT holds (Telegram's are far smaller; others are dropped)."""
    value = raw.get("update_id") if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64 else None


BOT = Bot("1:x")


def readable(raw: dict[str, Any]) -> bool:
    """python-telegram-bot reads it and its ids are integers the database holds (else: kept as failed)."""
    try:
        return ids_fit(Update.de_json(copy.deepcopy(raw), BOT))
    except Exception:
        return False


FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def inbox_rows(deps: Deps) -> dict[int, tuple[UpdateStatus, Any, int | None]]:
    with deps.sessions() as session:
        rows = session.execute(
            select(InboundUpdate.update_id, InboundUpdate.status, InboundUpdate.payload, InboundUpdate.chat_id)
        )
        return {update_id: (status, payload, chat_id) for update_id, status, payload, chat_id in rows}


@FUZZ
@given(batch=batches())
def test_a_random_batch_is_stored_exactly_once_and_nothing_escapes(deps: Deps, batch: list[Entry]) -> None:
    with deps.sessions.begin() as session:
        session.execute(delete(InboundUpdate))  # each example starts from an empty inbox
    bot = InboxBot("1:x", sessions=deps.sessions)
    raws = [entry.raw for entry in batch]

    passed = bot.store_batch(copy.deepcopy(raws))

    # every int id goes back to the updater, in order, so the next offset confirms the whole batch
    with_ids = [raw for raw in raws if int_id(raw) is not None]
    assert [p["update_id"] for p in passed] == [raw["update_id"] for raw in with_ids]
    for sent_on, raw in zip(passed, with_ids, strict=True):
        assert sent_on == (raw if readable(raw) else {"update_id": raw["update_id"]})
    # one row per int id: pending if python-telegram-bot can read it, failed (kept as it came) if not;
    # updates without an int id leave no row
    rows = inbox_rows(deps)
    assert sorted(rows) == sorted({raw["update_id"] for raw in with_ids})
    for raw in with_ids:
        status, payload, chat_id = rows[raw["update_id"]]
        assert payload == raw
        if readable(raw):
            assert status is UpdateStatus.pending and chat_id == chat_of(raw)
        else:
            assert status is UpdateStatus.failed and chat_id is None

    # Telegram delivers the same batch again: the same ids go back, nothing new is stored
    again = bot.store_batch(copy.deepcopy(raws))
    assert [p["update_id"] for p in again] == [p["update_id"] for p in passed]
    assert inbox_rows(deps) == rows

    # what was stored as readable, the pipeline can classify; a well-formed update never breaks it
    for entry in batch:
        if entry.well_formed and rows[entry.raw["update_id"]][0] is UpdateStatus.pending:
            inbound = classify(Update.de_json(copy.deepcopy(entry.raw), BOT))
            assert inbound is None or isinstance(inbound, Inbound)


CLASSIFY = settings(FUZZ, max_examples=600)


@CLASSIFY
@given(body=update_bodies())
def test_every_well_formed_update_is_read_and_a_driver_always_gets_an_answer(body: dict[str, Any]) -> None:
    raw = {"update_id": 1, **body}
    assert readable(raw), raw
    inbound = classify(Update.de_json(raw, BOT))
    message = body.get("message") or body.get("edited_message")
    if message is None or "from" not in message:
        if "callback_query" not in body:
            assert inbound is None
        return
    assert inbound is not None
    assert inbound.private == (message["chat"]["type"] == "private")
    assert (inbound.chat_id, inbound.user_id) == (message["chat"]["id"], message["from"]["id"])
    if inbound.private and inbound.kind != "contact":
        # silence would leave the driver wondering: either a fixed answer or Rasa's
        assert inbound.direct_reply is not None or inbound.rasa_texts
    for text in inbound.rasa_texts:
        # control characters are dropped and the text is capped before Rasa reads it
        assert not any(unicodedata.category(c)[0] == "C" and c not in "\n\t" for c in text), text
        assert len(text) <= 2 * MAX_RASA_TEXT + 40


def driver_inbound(raw: dict[str, Any]) -> Inbound | None:
    """What the pipeline stores as a driver's message for this update (None: not a driver's, or unreadable)."""
    try:
        inbound = classify(Update.de_json(copy.deepcopy(raw), BOT))
    except Exception:
        return None
    return inbound if inbound is not None and inbound.private else None


def usable_ids(raw: dict[str, Any]) -> bool:
    """Whether the chat and sender of a readable update are what Telegram sends: 64-bit ints (or absent).

    python-telegram-bot reads an update whatever the types of its ids; the pipeline stores drivers by them and
    python-telegram-bot files each update under its chat id after the handlers ran.
    """
    try:
        update = Update.de_json(copy.deepcopy(raw), BOT)
        ids = [update.effective_chat.id] if update.effective_chat else []
        ids += [update.effective_user.id] if update.effective_user else []
        if (inbound := driver_inbound(raw)) is not None:
            ids += [inbound.chat_id, inbound.user_id]
    except Exception:
        return True  # unreadable: stored as failed at once, which is fine
    return all(type(v) is int and -INT64 <= v < INT64 for v in ids)


WRONG_IDS = [
    # a button pressed by a sender without an id: the pipeline's INSERT of the driver fails (NOT NULL)
    {
        "update_id": 1,
        "callback_query": {"id": "q", "from": {"id": None, "is_bot": False, "first_name": "x"}, "chat_instance": "c"},
    },
    # a chat id that is a list: python-telegram-bot's own bookkeeping raises after the handler ran
    {"update_id": 2, "message": {"message_id": 1, "date": 0, "chat": {"id": [], "type": "private"}, "text": "x"}},
]


@settings(CLASSIFY, max_examples=300)
@example(raw=WRONG_IDS[0])
@example(raw=WRONG_IDS[1])
@given(raw=garbled(update_bodies()).map(lambda body: {"update_id": 1, **body}))
def test_an_update_with_ids_of_the_wrong_type_is_stored_as_failed(deps: Deps, raw: dict[str, Any]) -> None:
    with deps.sessions.begin() as session:
        session.execute(delete(InboundUpdate))
    InboxBot("1:x", sessions=deps.sessions).store_batch([copy.deepcopy(raw)])
    status = inbox_rows(deps)[raw["update_id"]][0]
    assert status is UpdateStatus.failed or usable_ids(raw), raw


def update_with(**message: Any) -> dict[str, Any]:
    user = {"id": 5, "is_bot": False, "first_name": "李"}
    body = {"message_id": 1, "date": 1764200000, "chat": {"id": 5, "type": "private"}, "from": user, **message}
    return {"update_id": 1, "message": body}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(update_with(chat={"id": 2**64, "type": "private"}), id="chat-id"),
        pytest.param(update_with() | {"update_id": 2**64}, id="update-id"),
    ],
)
def test_an_update_the_database_cannot_hold_does_not_stop_the_batch(deps: Deps, raw: dict[str, Any]) -> None:
    bot = InboxBot("1:x", sessions=deps.sessions)
    good = update_with(text="你好") | {"update_id": 7}
    passed = bot.store_batch([raw, good])
    assert [p["update_id"] for p in passed][-1] == 7
    assert inbox_rows(deps)[7][0] is UpdateStatus.pending


# ---------------------------------------------------------------- the pipeline's first step on both databases


def pipeline_of(application: Application) -> Pipeline:
    for handlers in application.handlers.values():
        for handler in handlers:
            owner = getattr(handler.callback, "__self__", None)
            if isinstance(owner, Pipeline):
                return owner
    raise LookupError("the application has no Pipeline handler")


def with_sender(raw: dict[str, Any], old: int, new: int) -> Any:
    """The update as sent by a driver of its own: every id `old` becomes `new`."""
    if isinstance(raw, dict):
        return {k: with_sender(v, old, new) for k, v in raw.items()}
    if isinstance(raw, list):
        return [with_sender(v, old, new) for v in raw]
    return new if raw == old and type(raw) is int else raw


driver_updates = drivers_updates(World(drivers=FUZZ_DRIVERS[:1], staff=(), outsiders=())).filter(
    lambda body: driver_inbound({"update_id": 1, **body}) is not None
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"  # 71 characters
NUL_TEXT = {"message": update_with(text="罚款\x00几天交")["message"]}
WORD_DOCUMENT = {"message": update_with(document={"file_id": "d", "file_unique_id": "u", "mime_type": DOCX})["message"]}
HUGE_DOCUMENT = {
    "message": update_with(document={"file_id": "d", "file_unique_id": "u", "file_size": 2**31})["message"]
}


async def test_every_drivers_update_is_kept_as_a_message_and_answered(
    deps: Deps, request: pytest.FixtureRequest
) -> None:
    """Rasa is away here: what a driver sends is stored as their message and they hear at least that it is kept."""
    drivers, update_ids = itertools.count(930_000_001), itertools.count(1)
    async with LocalBotApi() as api:
        settings_ = dataclasses.replace(deps.settings, telegram_api_url=api.base_url)
        application = build_application(dataclasses.replace(deps, settings=settings_))
        await application.initialize()
        pipeline, bot = pipeline_of(application), application.bot
        assert isinstance(bot, InboxBot)
        loop = asyncio.get_running_loop()

        async def one(body: dict[str, Any]) -> None:
            inbound = driver_inbound({"update_id": 1, **body})
            assert inbound is not None
            driver, update_id = next(drivers), next(update_ids)
            raw = with_sender({"update_id": update_id, **body}, inbound.user_id, driver)
            bot.store_batch([raw])
            await pipeline.drain(driver, up_to=update_id)
            with deps.sessions() as session:
                status = session.scalar(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id))
                kept = session.scalars(select(Message).where(Message.update_id == update_id, Message.direction == "in"))
                assert len(kept.all()) == 1, raw
            assert status is not UpdateStatus.failed, raw
            assert api.sent(driver) or inbound.kind == "contact", raw

        @settings(FUZZ, max_examples=100)
        @example(body=NUL_TEXT)
        @example(body=WORD_DOCUMENT)
        @example(body=HUGE_DOCUMENT)
        @given(body=driver_updates)
        def run(body: dict[str, Any]) -> None:
            asyncio.run_coroutine_threadsafe(one(body), loop).result(timeout=60)

        try:
            await asyncio.to_thread(run)
        finally:
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
