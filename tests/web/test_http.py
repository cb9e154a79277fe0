"""The dashboard over HTTP: who gets in (one-time links, sessions), what they see, and that filters filter."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from foundation.clock import utcnow
from storage.models import Case, CaseEvent, Reporter
from storage.web_models import WebSession
from tests.web.conftest import (
    DRIVER_USER,
    ENFORCEMENT,
    SHANGHAI,
    STAFF_USER,
    SUPERVISOR_USER,
    Seeded,
    link_for,
    sign_in,
)


async def test_an_anonymous_visitor_is_told_how_to_sign_in_and_sees_no_case(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    for path in ("/cases", f"/cases/{seeded.numbers['overdue']}", "/kpi", "/digests", "/ledger"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert "在工作群发送 /web" in response.text
        assert seeded.numbers["overdue"] not in response.text


async def test_a_staff_members_link_opens_a_session_once(client: httpx.AsyncClient, seeded: Seeded) -> None:
    token = link_for(seeded.deps, STAFF_USER)
    first = await client.get(f"/login?token={token}")
    assert first.status_code == 303 and first.headers["location"] == "/cases"
    cookie = first.cookies.get("complaints_session")
    assert cookie and "httponly" in first.headers["set-cookie"].lower()
    page = await client.get("/cases")
    assert page.status_code == 200 and seeded.numbers["overdue"] in page.text

    client.cookies.clear()
    again = await client.get(f"/login?token={token}")
    assert again.status_code == 403 and "只能使用一次" in again.text
    assert (await client.get("/cases")).status_code == 401


async def test_an_expired_link_and_a_made_up_link_are_refused(client: httpx.AsyncClient, seeded: Seeded) -> None:
    expired = link_for(seeded.deps, STAFF_USER, age=timedelta(minutes=16), minutes=15)
    response = await client.get(f"/login?token={expired}")
    assert response.status_code == 403 and "已过期" in response.text
    assert "complaints_session" not in response.headers.get("set-cookie", "")
    made_up = await client.get("/login?token=abc")
    assert made_up.status_code == 403 and "无效" in made_up.text


async def test_a_drivers_link_is_refused_because_telegram_says_they_are_not_staff(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """A link forwarded to (or forged for) a driver: Telegram is asked at sign-in, and they are no member."""
    response = await sign_in(client, seeded.deps, DRIVER_USER)
    assert response.status_code == 403 and "不是工作群成员" in response.text
    assert (await client.get("/cases")).status_code == 401


async def test_an_expired_session_is_asked_to_sign_in_again(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await sign_in(client, seeded.deps, STAFF_USER)
    assert (await client.get("/cases")).status_code == 200
    with seeded.deps.sessions.begin() as session:
        for row in session.scalars(select(WebSession)):
            row.expires_at = row.created_at
    assert (await client.get("/cases")).status_code == 401


async def test_staff_see_the_staff_groups_cases_and_supervisors_see_every_case(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    hidden = seeded.numbers["not_escalated"]
    await sign_in(client, seeded.deps, STAFF_USER)
    staff_page = await client.get("/cases")
    assert seeded.numbers["urgent"] in staff_page.text and hidden not in staff_page.text
    assert (await client.get(f"/cases/{hidden}")).status_code == 404
    client.cookies.clear()
    await sign_in(client, seeded.deps, SUPERVISOR_USER)
    supervisor_page = await client.get("/cases")
    assert hidden in supervisor_page.text and "督办人员" in supervisor_page.text


async def test_filters_narrow_the_list(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await sign_in(client, seeded.deps, SUPERVISOR_USER)
    n = seeded.numbers

    async def listed(query: str) -> set[str]:
        text = (await client.get(f"/cases?{query}")).text
        return {number for number in n.values() if f'/cases/{number}"' in text}

    assert await listed("") == set(n.values())
    assert await listed(f"unit={ENFORCEMENT}") == {n["urgent"], n["request"]}
    assert await listed("kind=service_request") == {n["request"]}
    assert await listed("state=closed") == {n["closed"]}
    assert await listed("urgent=1") == {n["urgent"]}
    assert n["overdue"] in await listed("overdue=1")
    assert n["closed"] not in await listed("overdue=1") and n["request"] not in await listed("overdue=1")
    assert await listed("from=2020-01-01&to=2020-01-31") == set()
    recent = await listed("from=" + _day_of_the_urgent_case())
    assert n["urgent"] in recent and n["overdue"] not in recent
    bad = await client.get("/cases?from=11月1日&kind=nonsense")
    assert bad.status_code == 200 and "不是日期" in bad.text and "没有这种案件类型" in bad.text


def _day_of_the_urgent_case() -> str:
    """The day (Shanghai) the urgent case was filed: an hour before the seeding, so just after midnight it is
    yesterday, not today."""
    return (utcnow() - timedelta(hours=2)).astimezone(SHANGHAI).date().isoformat()


async def test_a_case_page_shows_the_timeline_and_the_pseudonym_never_the_identity_and_the_look_is_recorded(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    await sign_in(client, seeded.deps, STAFF_USER)
    number = seeded.numbers["closed"]
    page = await client.get(f"/cases/{number}")
    assert page.status_code == 200
    with seeded.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        reporter = session.get(Reporter, case.reporter_id)
        assert reporter is not None
        looks = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "web_viewed")
        ).all()
    assert reporter.pseudonym in page.text
    assert "张三" not in page.text and "zhangsan_real" not in page.text
    for words in ("受理", "推送至工作群", "首次反馈时限", "办理意见时限", "回访时限", "来诉人评价", "满意"):
        assert words in page.text, words
    assert [look.actor for look in looks] == [f"staff:{STAFF_USER}:用户{STAFF_USER}"]

    masked = await client.get(f"/cases/{seeded.numbers['overdue']}")
    assert "13812345678" not in masked.text and "〔电话〕" in masked.text and "已逾期" in masked.text


async def test_kpis_use_the_definitions_of_complaints_stats(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await sign_in(client, seeded.deps, SUPERVISOR_USER)
    page = await client.get("/kpi?by=unit")
    assert page.status_code == 200
    for rate in ("响应率", "按时率", "办结率", "满意率", "重办率"):
        assert rate in page.text
    assert "100.0% (1/1)" in page.text  # satisfaction: the one rated case was 满意
    assert "按受理时间（本地时间）统计" in page.text
    by_kind = await client.get("/kpi?by=kind&from=2000-01-01&to=bad")
    assert by_kind.status_code == 200 and "服务请求" in by_kind.text


async def test_digests_show_topics_that_keep_their_name_and_a_rename_sticks_to_the_ledger(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    first, second = seeded.weeks
    await sign_in(client, seeded.deps, STAFF_USER)
    listing = await client.get("/digests")
    assert first in listing.text and second in listing.text
    week_one, week_two = (await client.get(f"/digests/{first}")).text, (await client.get(f"/digests/{second}")).text
    assert "城西中队" in week_one and "😡" not in week_one.split("<blockquote>")[0]
    ledger = await client.get("/ledger")
    assert "DB-2026-001" in ledger.text and "期限" in ledger.text

    topic = re.search(r"/topics/(\d+)/rename", week_two)
    assert topic is not None
    response = await client.post(
        f"/topics/{topic.group(1)}/rename", data={"label": "城西中队：执法态度 😡 13812345678", "week": second}
    )
    assert response.status_code == 303
    renamed = (await client.get(response.headers["location"])).text
    assert "已改名为“城西中队：执法态度”" in renamed
    assert "城西中队：执法态度" in (await client.get(f"/digests/{first}")).text
    assert "城西中队：执法态度" in (await client.get("/ledger")).text
    empty = await client.post(f"/topics/{topic.group(1)}/rename", data={"label": "😡😡", "week": second})
    assert "名称不能为空" in (await client.get(empty.headers["location"])).text
