"""The dashboard's ASGI application (Starlette, Jinja2 templates, Chart.js served from web/static)."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bureau.deadlines import open_deadlines
from bureau.deps import Deps
from bureau.labels import KIND_NAMES
from digest.labels import LabelError, rename_topic
from foundation.clock import utcnow
from foundation.enums import CaseKind, CaseState
from foundation.masks import scrub
from storage import web_access as access
from storage.web_access import Viewer
from web.case_list import list_cases, read_filters, units
from web.case_page import CaseHidden, view_case
from web.digest_pages import digest_rows, digest_view, ledger_views, trend_chart
from web.kpi import RATES, KpiCache, build_kpis, default_range
from web.membership import Membership, TelegramMembership

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "complaints_session"
WEEK = re.compile(r"\d{4}-W\d{2}")


class NotSignedIn(Exception):
    """No live session: the page tells how to get a link."""


@dataclass(frozen=True)
class Dashboard:
    deps: Deps
    membership: Membership
    templates: Jinja2Templates
    kpis: KpiCache = field(default_factory=KpiCache)

    @property
    def tz(self) -> Any:
        return self.deps.settings.timezone

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        viewer = context.get("viewer")
        base = {"viewer": viewer, "kind_names": {k.value: v for k, v in KIND_NAMES.items()}}
        return self.templates.TemplateResponse(request, name, base | context, status_code=status)

    def viewer(self, request: Request) -> Viewer:
        token = request.cookies.get(COOKIE)
        if not token:
            raise NotSignedIn
        with self.deps.sessions() as session:
            viewer = access.viewer_of(session, token, utcnow())
        if viewer is None:
            raise NotSignedIn
        return viewer


def _local(moment: datetime | None, tz: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(tz).strftime(fmt) if moment else "—"


def make_templates(tz: Any) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["local"] = lambda moment, fmt="%Y-%m-%d %H:%M": _local(moment, tz, fmt)
    templates.env.filters["percent"] = lambda rate: "—" if rate is None else f"{rate * 100:.1f}%"
    templates.env.filters["scrub"] = scrub
    templates.env.globals["is_overdue"] = lambda case: any(d.due < utcnow() for d in open_deadlines(case))
    return templates


# ------------------------------------------------------------------------------------------ sign-in


async def login(request: Request) -> Response:
    """A one-time link from the bot: spent, checked with Telegram, and turned into a session cookie."""
    board: Dashboard = request.app.state.board
    token = request.query_params.get("token", "")
    web = board.deps.settings.web
    now = utcnow()

    def redeem() -> Viewer:
        with board.deps.sessions.begin() as session:
            access.purge_expired(session, now)
            return access.redeem_link(session, token, now)

    try:
        issued = await run_in_threadpool(redeem)
    except access.LinkRefused as exc:
        return board.render(request, "refused.html", {"reason": str(exc)}, status=403)
    role = await board.membership.role_of(issued.telegram_user_id)
    if role is None:
        logger.warning("A sign-in link was used by someone who is not staff; refused")
        reason = "您不是工作群成员，不能查看看板。如需访问，请联系工作群管理员。"
        return board.render(request, "refused.html", {"reason": reason}, status=403)
    viewer = Viewer(issued.telegram_user_id, issued.name, role)

    def open_session() -> str:
        with board.deps.sessions.begin() as session:
            return access.open_session(session, viewer, now, timedelta(hours=web.session_hours))

    cookie = await run_in_threadpool(open_session)
    response = RedirectResponse("/cases", status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=web.session_hours * 3600,
        httponly=True,
        secure=web.secure_cookie,
        samesite="lax",
    )
    return response


def logout(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    if token := request.cookies.get(COOKIE):
        with board.deps.sessions.begin() as session:
            access.end_session(session, token)
    response = board.render(request, "refused.html", {"reason": "您已退出。", "signed_out": True})
    response.delete_cookie(COOKIE)
    return response


# ------------------------------------------------------------------------------------------ pages


def cases_page(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    filters = read_filters(dict(request.query_params))
    with board.deps.sessions() as session:
        page = list_cases(session, filters, viewer, board.tz, utcnow())
        unit_names = units(session)
    context = {
        "viewer": viewer,
        "filters": filters,
        "page": page,
        "units": unit_names,
        "kinds": list(CaseKind),
        "states": list(CaseState),
        "now": utcnow(),
    }
    return board.render(request, "cases.html", context)


def case_page(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    try:
        with board.deps.sessions.begin() as session:
            view = view_case(session, request.path_params["number"], viewer, utcnow())
            return board.render(request, "case.html", {"viewer": viewer, "view": view})
    except CaseHidden:
        context = {"viewer": viewer, "message": "没有这个案件，或您无权查看。"}
        return board.render(request, "message.html", context, status=404)


def _day(raw: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat((raw or "").replace("/", "-")) if raw else fallback
    except ValueError:
        return fallback


def kpi_page(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    now = utcnow()
    start, end = default_range(now.astimezone(board.tz).date())
    start, end = _day(request.query_params.get("from"), start), _day(request.query_params.get("to"), end)
    start, end = min(start, end), max(start, end)
    by = "kind" if request.query_params.get("by") == "kind" else "unit"
    key = (start, end, by, viewer.is_supervisor)
    report = board.kpis.get(key, time.monotonic())
    if report is None:
        with board.deps.sessions() as session:
            report = build_kpis(session, start, end, by, viewer, board.tz, now)
        board.kpis.put(key, time.monotonic(), report)
    return board.render(request, "kpi.html", {"viewer": viewer, "report": report, "rates": RATES})


def digests_page(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    with board.deps.sessions() as session:
        rows = digest_rows(session)
    return board.render(request, "digests.html", {"viewer": viewer, "rows": rows, "chart": trend_chart(rows)})


def digest_page(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    with board.deps.sessions() as session:
        view = digest_view(session, request.path_params["week"])
    if view is None:
        return board.render(request, "message.html", {"viewer": viewer, "message": "没有这一周的分析。"}, status=404)
    notice = request.query_params.get("notice", "")[:100]
    return board.render(request, "digest.html", {"viewer": viewer, "view": view, "notice": notice})


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    return not origin or urlparse(origin).netloc == request.headers.get("host", "")


async def rename_page(request: Request) -> Response:
    """Staff rename a topic: the name sticks to the topic in every week and on the ledger."""
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    if not _same_origin(request):
        raise HTTPException(403, "跨站请求已拒绝")
    form = await request.form()
    name, week = str(form.get("label", "")), str(form.get("week", ""))[:8]
    topic_id = int(request.path_params["topic_id"])

    def rename() -> str:
        try:
            with board.deps.sessions.begin() as session:
                topic = rename_topic(session, topic_id, name, viewer.label, utcnow())
                return f"已改名为“{topic.label}”"
        except LabelError as exc:
            return str(exc)

    notice = await run_in_threadpool(rename)
    back = f"/digests/{week}" if WEEK.fullmatch(week) else "/digests"
    return RedirectResponse(f"{back}?{_query(notice=notice)}", status_code=303)


def _query(**values: str) -> str:
    return urlencode(values)


def ledger_page(request: Request) -> Response:
    board: Dashboard = request.app.state.board
    viewer = board.viewer(request)
    with board.deps.sessions() as session:
        views = ledger_views(session, utcnow())
    return board.render(request, "ledger.html", {"viewer": viewer, "views": views})


def home(request: Request) -> Response:
    return RedirectResponse("/cases", status_code=303)


def health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def not_signed_in(request: Request, exc: Exception) -> Response:
    board: Dashboard = request.app.state.board
    reason = "请先登录：在工作群发送 /web，机器人会把一次性登录链接私信给您。"
    return board.render(request, "refused.html", {"reason": reason}, status=401)


def create_app(deps: Deps, membership: Membership | None = None) -> Starlette:
    """The dashboard for `deps`; `membership` defaults to asking Telegram."""
    routes = [
        Route("/", home),
        Route("/healthz", health),
        Route("/login", login),
        Route("/logout", logout),
        Route("/cases", cases_page),
        Route("/cases/{number}", case_page),
        Route("/kpi", kpi_page),
        Route("/digests", digests_page),
        Route("/digests/{week}", digest_page),
        Route("/topics/{topic_id:int}/rename", rename_page, methods=["POST"]),
        Route("/ledger", ledger_page),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={NotSignedIn: not_signed_in})
    app.state.board = Dashboard(
        deps, membership or TelegramMembership(deps.settings), make_templates(deps.settings.timezone)
    )
    return app
