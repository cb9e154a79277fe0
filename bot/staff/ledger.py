"""Commands that act on no case, anywhere in the staff group: the supervision ledger and the figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from bot import desk_texts as t
from bot.staff.actions import StaffAction
from bot.staff.context import StaffContext
from bureau.stats import build_report, render_html
from digest import ledger
from foundation.clock import utcnow
from foundation.days import BadDay, parse_day
from foundation.enums import LedgerState

SUPERVISORS_ONLY = "⛔ 销号需要督办人员操作（督办群成员，或未设督办群时的工作群管理员）。"


class LedgerCommands:
    def __init__(self, ctx: StaffContext) -> None:
        self.ctx = ctx
        self.deps = ctx.deps

    def handlers(self) -> dict[str, Callable[[StaffAction], Awaitable[str]]]:
        return {"stats": self.stats, "ledger": self.list_items, "measures": self.measures, "xiaohao": self.close_item}

    async def stats(self, action: StaffAction) -> str:
        tz = self.deps.settings.timezone
        today = utcnow().astimezone(tz).date()
        parts = action.args.split()
        try:
            start = parse_day(parts[0]) if parts else today.replace(day=1)
            end = parse_day(parts[1]) if len(parts) > 1 else today
        except BadDay as exc:
            return f"{escape(str(exc))}。例如 /stats 2026-11-01 2026-11-30"
        with self.deps.sessions.begin() as session:
            return render_html(build_report(session, start, end, tz, utcnow()))

    async def list_items(self, action: StaffAction) -> str:
        with self.deps.sessions.begin() as session:
            items = ledger.list_items(session, None if action.args.strip() == "all" else LedgerState.open)
            return t.ledger_text(items, self.deps.settings.timezone, utcnow())

    async def measures(self, action: StaffAction) -> str:
        return self._on_item(action, ledger.set_measures, "{number} 的整改措施已记录：{measures}")

    async def close_item(self, action: StaffAction) -> str:
        """销号 of a ledger item, with the note of what was done; supervisors only."""
        if not await self.ctx.auth.is_supervisor(action.user_id):
            return SUPERVISORS_ONLY
        return self._on_item(action, ledger.close_item, "✅ {number}「{title}」已销号。整改情况：{note}")

    def _on_item(self, action: StaffAction, change: ledger.ItemChange, done: str) -> str:
        number, _, text = action.args.strip().partition(" ")
        try:
            with self.deps.sessions.begin() as session:
                item = change(session, number, self.ctx.actor(action).label, text, utcnow())
                fields = {"title": item.title, "measures": item.measures or "", "note": item.close_note or ""}
                return done.format(number=item.number, **{k: escape(v) for k, v in fields.items()})
        except ledger.LedgerError as exc:
            return f"⚠️ {escape(str(exc))}"
