"""A dashboard over a small, known set of cases and two weeks of digests, with the Bot API double
answering who is staff."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from app.local_stack import make_settings
from bureau.deps import Deps, build_deps
from digest.build import build_week, context
from digest.importer import import_file
from digest.weeks import Week
from foundation.clock import utcnow
from foundation.enums import CaseKind, CaseState
from simulator.bot_api import LocalBotApi
from storage import conversations as convs
from storage import desk
from storage.cases import NewCase, create_case
from storage.migrate import upgrade
from storage.web_access import Viewer, issue_link
from web.app import create_app
from web.membership import TelegramMembership

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_CHAT = -1001234567890
SUPERVISOR_CHAT = -1009876543210
STAFF_USER, SUPERVISOR_USER, DRIVER_USER = 501, 502, 9001
OFFICE, ENFORCEMENT = "局综合运输科", "市交通运输综合执法大队"


@dataclasses.dataclass(frozen=True)
class Seeded:
    deps: Deps
    api: LocalBotApi
    numbers: dict[str, str]  # what each case is, e.g. "overdue" -> TS-2026-…
    weeks: tuple[str, str]


def _case(deps: Deps, session, user: int, unit: str, at: datetime, **extra: object):  # type: ignore[no-untyped-def]
    person = convs.TelegramPerson(user, user, "张三", "zhangsan_real")
    conversation = convs.conversation_for(session, person)
    kind = extra.pop("kind", CaseKind.complaint)
    summary = str(extra.pop("summary", "乳山口站乱收费"))
    new = NewCase(kind, unit, "其他", conversation.reporter_id, conversation.id, summary, {}, **extra)  # type: ignore[arg-type]
    return create_case(session, new, deps.calendar, at)


def seed_cases(deps: Deps, now: datetime) -> dict[str, str]:
    """Five cases: overdue and escalated, urgent, answered on time, not escalated, a month old request."""
    numbers: dict[str, str] = {}
    with deps.sessions.begin() as session:
        old = _case(deps, session, 7001, OFFICE, now - timedelta(days=20), summary="司机电话13812345678 投诉乱罚款")
        desk.mark_escalated(session, old, 11, "t", old.created_at)
        numbers["overdue"] = old.number
        urgent = _case(deps, session, 7002, ENFORCEMENT, now - timedelta(hours=1), urgent=True, summary="有人打人")
        desk.mark_escalated(session, urgent, 12, "t", urgent.created_at)
        numbers["urgent"] = urgent.number
        done = _case(deps, session, 7003, OFFICE, now - timedelta(days=3))
        desk.mark_escalated(session, done, 13, "t", done.created_at)
        done.assigned_at = done.first_feedback_at = done.answered_at = done.created_at + timedelta(hours=1)
        done.closed_at = done.created_at + timedelta(hours=2)
        done.return_visit_due = now + timedelta(days=2)
        done.state, done.rating, done.rated_at = CaseState.closed, "满意", done.closed_at
        numbers["closed"] = done.number
        hidden = _case(deps, session, 7004, OFFICE, now - timedelta(minutes=5), summary="刚提交还没推送")
        numbers["not_escalated"] = hidden.number
        request = _case(
            deps, session, 7005, ENFORCEMENT, now - timedelta(days=40), kind=CaseKind.service_request, summary="要热水"
        )
        desk.mark_escalated(session, request, 15, "t", request.created_at)
        request.state = CaseState.not_accepted
        numbers["request"] = request.number
    return numbers


WEEK_ONE = [
    "城西中队执法员态度太差 😡😡😡 电话13812345678",
    "城西中队的执法员态度恶劣，骂人😡",
    "城西中队执法人员态度很差还骂人",
    "城西中队执法员态度蛮横 😤",
]
WEEK_TWO = ["城西中队执法员态度又很差 😡", "城西中队执法员骂人 态度差", "城西中队执法人员态度恶劣"]


def seed_digests(deps: Deps, tmp: Path) -> tuple[str, str]:
    """Two weeks of the same issue, imported as letters and built as digests."""
    weeks = (Week(2026, 44), Week(2026, 45))
    for week, texts in zip(weeks, (WEEK_ONE, WEEK_TWO), strict=True):
        day = week.starts(SHANGHAI) + timedelta(days=1, hours=3)
        rows = [
            {"id": f"{week.label}-{n}", "text": t, "time": f"{day:%Y-%m-%d %H:%M}", "phone": f"1391111{n:04d}"}
            for n, t in enumerate(texts)
        ]
        path = tmp / f"{week.label}.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        with deps.sessions.begin() as session:
            import_file(session, path, SHANGHAI, b"k", channel="来信")
        build_week(deps.sessions, week, context(deps), week.ends(SHANGHAI) + timedelta(hours=9))
    return weeks[0].label, weeks[1].label


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
async def seeded(seeded_dir: Path) -> AsyncIterator[Seeded]:
    url = f"sqlite:///{seeded_dir / 'complaints.db'}"
    upgrade(url)
    async with LocalBotApi() as api:
        settings = make_settings(
            url,
            telegram_api_url=api.base_url,
            staff_chat_id=STAFF_CHAT,
            supervisor_chat_id=SUPERVISOR_CHAT,
        )
        deps = build_deps(settings)
        api.set_member_status(STAFF_CHAT, STAFF_USER, "member")
        api.set_member_status(STAFF_CHAT, SUPERVISOR_USER, "member")
        api.set_member_status(SUPERVISOR_CHAT, SUPERVISOR_USER, "member")
        numbers = seed_cases(deps, utcnow())
        weeks = seed_digests(deps, seeded_dir)
        yield Seeded(deps, api, numbers, weeks)
        deps.engine.dispose()


@pytest.fixture(scope="module")
def app(seeded: Seeded) -> Starlette:
    return create_app(seeded.deps, TelegramMembership(seeded.deps.settings))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard.test") as http:
        yield http


def link_for(deps: Deps, user_id: int, role: str = "staff", age: timedelta = timedelta(), minutes: int = 15) -> str:
    """A link as /web issues it, made `age` ago."""
    with deps.sessions.begin() as session:
        viewer = Viewer(user_id, f"用户{user_id}", role)
        return issue_link(session, viewer, utcnow() - age, timedelta(minutes=minutes))


async def sign_in(client: httpx.AsyncClient, deps: Deps, user_id: int) -> httpx.Response:
    return await client.get(f"/login?token={link_for(deps, user_id)}")
