"""Is the Telegram side set up? The token, the staff group and the supervisors' chat, each named with what to
fix. Checked when a bot worker starts and by `complaints status`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from telegram import Bot, Chat, ChatFullInfo, ChatMember, ChatMemberAdministrator, ChatMemberOwner
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError


class Level(enum.StrEnum):
    ok = "ok"
    warning = "WARN"
    error = "ERROR"


@dataclass(frozen=True)
class Finding:
    part: str  # "telegram", "staff", "superv."
    level: Level
    detail: str  # what is wrong and how to fix it, or what was found

    @property
    def ok(self) -> bool:
        return self.level is not Level.error


BAD_TOKEN = (
    "TELEGRAM_BOT_TOKEN 被 Telegram 拒绝（{why}）。请在 @BotFather 中用 /mybots → API Token 复制正确的令牌 / "
    "the token was refused: copy the right one from @BotFather (/mybots → API Token)"
)
UNREACHABLE = (
    "无法连接 Telegram（{why}）：请检查网络、代理或 TELEGRAM_API_URL / cannot reach the Bot API: check the "
    "network, the proxy or TELEGRAM_API_URL"
)
NO_STAFF = (
    "未设置 STAFF_CHAT_ID：案件照常登记，但不开话题，工作人员无法在群里答复 / STAFF_CHAT_ID is not set: cases "
    "are filed but no staff topics are opened; set it to a forum supergroup where the bot may manage topics"
)
NOT_FOUND = (
    "{name}={chat_id} 找不到（{why}）：ID 写错了，或机器人不在这个群里。请把机器人拉进群，再把群 ID（超级群以 -100 "
    "开头）写入 {name} / chat not found: the id is wrong or the bot is not in that group; add the bot, then set "
    "{name} to the group's id (supergroups start with -100)"
)
NOT_FORUM = (
    "STAFF_CHAT_ID={chat_id}（{title}）不是开启了“话题”的超级群：请在群设置中打开“话题 / Topics” / "
    "the staff group is not a forum: turn on Topics in the group's settings"
)
NOT_ADMIN = (
    "机器人在工作群（{title}）中不是管理员（{status}）：请把机器人设为管理员并勾选“管理话题” / the bot is not an "
    "administrator of the staff group: make it one with the right to manage topics"
)
NO_TOPIC_RIGHT = (
    "机器人在工作群（{title}）中没有“管理话题”权限：请在管理员权限中勾选“管理话题 / Manage topics” / the bot "
    "may not manage topics in the staff group: give it that right"
)
NO_SUPERVISORS = (
    "未设置 SUPERVISOR_CHAT_ID：督办提醒发到工作群，工作群管理员视为督办人员 / not set: alerts go to the staff "
    "group and its administrators act as supervisors"
)
NOT_IN_SUPERVISORS = (
    "机器人不在督办群（{title}）中（{status}）：请把机器人加入该群，否则督办提醒发不出去 / the bot is not a member "
    "of the supervisors' chat: add it, or alerts cannot be posted there"
)


async def check_telegram(bot: Bot, staff_chat_id: int | None, supervisor_chat_id: int | None) -> list[Finding]:
    """Every finding, one per part; stops after the token when the token does not work."""
    try:
        me = await bot.get_me()
    except (InvalidToken, Forbidden) as exc:
        return [Finding("telegram", Level.error, BAD_TOKEN.format(why=exc.message))]
    except NetworkError as exc:  # TimedOut too
        return [Finding("telegram", Level.error, UNREACHABLE.format(why=exc.message))]
    found = [Finding("telegram", Level.ok, f"@{me.username} (getMe)")]
    if staff_chat_id is None:
        found.append(Finding("staff", Level.warning, NO_STAFF))
    else:
        found.append(await _staff_group(bot, staff_chat_id, me.id))
    if supervisor_chat_id is None:
        found.append(Finding("superv.", Level.ok, NO_SUPERVISORS))
    else:
        found.append(await _supervisors(bot, supervisor_chat_id, me.id))
    return found


async def _chat(bot: Bot, name: str, chat_id: int) -> ChatFullInfo | Finding:
    try:
        return await bot.get_chat(chat_id)
    except (BadRequest, Forbidden) as exc:
        return Finding(_part(name), Level.error, NOT_FOUND.format(name=name, chat_id=chat_id, why=exc.message))
    except TelegramError as exc:
        return Finding(_part(name), Level.error, UNREACHABLE.format(why=exc.message))


def _part(name: str) -> str:
    return "staff" if name == "STAFF_CHAT_ID" else "superv."


async def _bot_member(bot: Bot, chat_id: int, bot_id: int) -> ChatMember | None:
    try:
        return await bot.get_chat_member(chat_id, bot_id)
    except TelegramError:
        return None


async def _staff_group(bot: Bot, chat_id: int, bot_id: int) -> Finding:
    chat = await _chat(bot, "STAFF_CHAT_ID", chat_id)
    if isinstance(chat, Finding):
        return chat
    title = chat.title or str(chat_id)
    if chat.type != Chat.SUPERGROUP or not chat.is_forum:
        return Finding("staff", Level.error, NOT_FORUM.format(chat_id=chat_id, title=title))
    member = await _bot_member(bot, chat_id, bot_id)
    if isinstance(member, ChatMemberOwner):
        return Finding("staff", Level.ok, f"{title}: forum, bot is the owner")
    if not isinstance(member, ChatMemberAdministrator):
        status = member.status if member else "unknown"
        return Finding("staff", Level.error, NOT_ADMIN.format(title=title, status=status))
    if not member.can_manage_topics:
        return Finding("staff", Level.error, NO_TOPIC_RIGHT.format(title=title))
    return Finding("staff", Level.ok, f"{title}: forum, bot may manage topics")


async def _supervisors(bot: Bot, chat_id: int, bot_id: int) -> Finding:
    chat = await _chat(bot, "SUPERVISOR_CHAT_ID", chat_id)
    if isinstance(chat, Finding):
        return chat
    title = chat.title or str(chat_id)
    member = await _bot_member(bot, chat_id, bot_id)
    if member is None or member.status in (ChatMember.LEFT, ChatMember.BANNED):
        status = member.status if member else "unknown"
        return Finding("superv.", Level.error, NOT_IN_SUPERVISORS.format(title=title, status=status))
    return Finding("superv.", Level.ok, f"{title}: bot is {member.status}")
