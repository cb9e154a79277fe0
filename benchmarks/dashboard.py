"""The dashboard with a year of data: 50,000 generated cases (with their events), a year of weekly digests
and a ledger, on SQLite; each page is requested in-process (ASGI, no network) and timed.

    .venv/bin/python -m benchmarks.dashboard [--cases 50000] [--repeat 15] [--write benchmarks/results/dashboard.md]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from app.local_stack import make_settings
from benchmarks.common import command_line, load_average, median, ms, percentile, table, write_report
from bureau.deps import Deps, build_deps
from digest.weeks import Week
from foundation.clock import utcnow
from foundation.enums import CaseKind, CaseState, LedgerState
from foundation.settings import PROJECT_ROOT
from storage.migrate import upgrade
from storage.models import (
    Case,
    CaseEvent,
    Conversation,
    Digest,
    DigestGroup,
    LedgerEntry,
    LedgerItem,
    Reporter,
)
from storage.web_access import Viewer, open_session
from storage.web_models import TopicLabel
from web.app import COOKIE, create_app
from web.kpi import KpiCache

UNITS = ["局政策法规科", "局办公室", "局综合运输科", "市交通运输综合执法大队", "局安全监督科", "局财务审计科"]
STATES = [CaseState.closed] * 6 + [CaseState.in_progress, CaseState.received, CaseState.answered, CaseState.reopened]
BATCH = 5000
PLACES = ["城西中队", "乳山口站", "G309检测站", "北站服务区", "东环收费站", "港区停车场"]
MATTERS = ["态度差", "乱收费", "称重不准", "排队太久", "罚款无依据", "没有热水"]


def _cases(deps: Deps, count: int, rng: random.Random) -> None:
    now = utcnow()
    with deps.sessions.begin() as session:
        reporters = count // 3
        session.execute(insert(Reporter), [{"pseudonym": f"R{n:07d}", "created_at": now} for n in range(reporters)])
        first = session.scalar(select(func.min(Reporter.id))) or 1
        session.execute(insert(Conversation), [{"reporter_id": first + n, "created_at": now} for n in range(reporters)])
    for start in range(0, count, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, count)):
            created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            state = rng.choice(STATES)
            done = state in (CaseState.closed, CaseState.answered)
            feedback = created + timedelta(hours=rng.randrange(1, 80)) if done or rng.random() < 0.5 else None
            rows.append(
                {
                    "number": f"TS-{created.year}-{n + 1:06d}",
                    "year": created.year,
                    "seq": n + 1,
                    "kind": rng.choice(list(CaseKind)).name,
                    "state": state.name,
                    "unit": rng.choice(UNITS),
                    "reporter_id": first + n % reporters,
                    "conversation_id": first + n % reporters,
                    "summary": f"{rng.choice(PLACES)}{rng.choice(MATTERS)}，司机电话1381234{n % 10000:04d}",
                    "fields": {},
                    "urgent": rng.random() < 0.02,
                    "created_at": created,
                    "escalated_at": created + timedelta(minutes=1),
                    "handoff_due": created + timedelta(hours=2),
                    "first_feedback_due": created + timedelta(days=2),
                    "opinion_due": created + timedelta(days=7),
                    "assigned_at": created + timedelta(hours=1) if feedback else None,
                    "first_feedback_at": feedback,
                    "answered_at": created + timedelta(days=rng.randrange(1, 10)) if done else None,
                    "closed_at": created + timedelta(days=10) if state is CaseState.closed else None,
                    "rating": rng.choice(["满意", "基本满意", "不满意", None]) if done else None,
                    "reopen_count": int(state is CaseState.reopened),
                }
            )
        with deps.sessions.begin() as session:
            ids = session.scalars(insert(Case).returning(Case.id), rows).all()
            events = [
                {"case_id": case_id, "at": row["created_at"] + timedelta(minutes=k), "actor": "bot", "action": action}
                for case_id, row in zip(ids, rows, strict=True)
                for k, action in enumerate(("created", "escalated", "assigned"))
            ]
            session.execute(insert(CaseEvent), events)


def _digests(deps: Deps, weeks: int, groups: int, rng: random.Random) -> None:
    now = utcnow()
    tz = deps.settings.timezone
    this_week = Week.of(now, tz)
    with deps.sessions.begin() as session:
        topics = [
            TopicLabel(label=f"{p}：{m}", generated=f"{p}：{m}", centroid=b"", weight=1, first_week="", last_week="")
            for p in PLACES
            for m in MATTERS
        ]
        session.add_all(topics)
        session.flush()
        items = []
        for n, topic in enumerate(topics[:40]):
            item = LedgerItem(
                number=f"DB-2026-{n + 1:03d}",
                title=topic.label,
                owner_unit=rng.choice(UNITS),
                deadline=now + timedelta(days=rng.randrange(-20, 30)),
                state=LedgerState.open if n % 3 else LedgerState.closed,
                first_week="",
                last_week="",
                complaints=0,
                centroid=b"",
                topic_id=topic.id,
            )
            session.add(item)
            items.append(item)
        session.flush()
        for back in range(weeks, 0, -1):
            week = this_week.shift(-back)
            digest = Digest(
                week=week.label,
                starts_at=week.starts(tz),
                ends_at=week.ends(tz),
                complaints=rng.randrange(600, 1200),
                method="bench",
                html="",
                chart_png=b"",
                xlsx=b"",
                built_at=week.ends(tz),
            )
            session.add(digest)
            session.flush()
            for rank in range(1, groups + 1):
                topic = topics[rank % len(topics)]
                size = rng.randrange(2, 60)
                session.add(
                    DigestGroup(
                        digest_id=digest.id,
                        rank=rank,
                        label=topic.label,
                        size=size,
                        reporters=size - 1,
                        previous_size=rng.randrange(0, 60),
                        is_new=False,
                        high_frequency=rank <= 5,
                        topic_id=topic.id,
                        ledger_item_id=items[rank % len(items)].id if rank <= 5 else None,
                        details={"summary": {"stations": PLACES[:2]}, "quotes": ["某站态度差"], "cases": []},
                        centroid=b"",
                    )
                )
            for item in items[:10]:
                session.add(LedgerEntry(item_id=item.id, week=week.label, action="seen", size=rng.randrange(1, 30)))


PAGES = [
    ("案件列表（第 1 页）", "/cases"),
    ("案件列表，逾期", "/cases?overdue=1"),
    ("案件列表，单位 + 类型 + 一个月", "/cases?unit=局办公室&kind=complaint&from={month_ago}&to={today}"),
    ("案件列表，第 200 页", "/cases?page=200"),
    ("案件页（时间线，记录查看）", "/cases/{number}"),
    ("指标，按单位，12 个月", "/kpi"),
    ("指标，按类型，12 个月", "/kpi?by=kind"),
    ("每周分析列表", "/digests"),
    ("一周的分析", "/digests/{week}"),
    ("督办台账", "/ledger"),
]


async def _time_pages(deps: Deps, repeat: int, values: dict[str, str]) -> list[tuple[str, float, float, float, int]]:
    app = create_app(deps)
    # every request works the figures out: the minute's cache (web.kpi.KpiCache) would time a dict look-up
    app.state.board = dataclasses.replace(app.state.board, kpis=KpiCache(seconds=0))
    with deps.sessions.begin() as session:
        cookie = open_session(session, Viewer(1, "bench", "supervisor"), utcnow(), timedelta(hours=1))
    results = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", cookies={COOKIE: cookie}) as client:
        for name, path in PAGES:
            url = path.format(**values)
            timings, cpu = [], []
            for _ in range(repeat + 1):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = await client.get(url)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
                assert response.status_code == 200, (url, response.status_code)
            timings, cpu = timings[1:], cpu[1:]  # the first request warms the templates
            results.append((name, median(timings), percentile(timings, 95), median(cpu), len(response.content)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--write", type=Path, help="write the markdown report here")
    parser.add_argument("--keep", action="store_true", help="time the data of the last run again (no new data)")
    args = parser.parse_args()
    path = PROJECT_ROOT / "var" / "bench" / "dashboard.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    if not (args.keep and path.exists()):
        path.unlink(missing_ok=True)
        upgrade(url)
        deps = build_deps(make_settings(url))
        rng = random.Random(7)
        _cases(deps, args.cases, rng)
        _digests(deps, 52, 30, rng)
        deps.engine.dispose()
    upgrade(url)
    deps = build_deps(make_settings(url))
    with deps.sessions() as session:
        args.cases = session.scalar(select(func.count()).select_from(Case)) or 0
    generated = time.perf_counter() - started
    tz = deps.settings.timezone
    today = utcnow().astimezone(tz).date()
    with deps.sessions() as session:
        number = session.scalar(select(Case.number).order_by(Case.id.desc()).limit(1)) or ""
        week = session.scalar(select(Digest.week).order_by(Digest.week.desc()).limit(1)) or ""
    values = {
        "number": number,
        "week": week,
        "today": today.isoformat(),
        "month_ago": (today - timedelta(30)).isoformat(),
    }
    results = asyncio.run(_time_pages(deps, args.repeat, values))
    load = load_average()
    deps.engine.dispose()
    lines = [
        "# Dashboard with a year of data",
        "",
        f"{args.cases:,} generated cases over the last 365 days (3 events each), 52 weekly digests of 30 groups,",
        f"40 ledger items; SQLite (WAL) on this machine; generated (or reopened) in {generated:.0f} s. Each page",
        f"requested {args.repeat} times in-process over ASGI (no network, no nginx) after one warm-up request, signed in as",
        "a supervisor (who sees every case). Run: `" + command_line("benchmarks.dashboard") + "`",
        f"Load average at the end: {load} (2 cores, shared with other work: absolute times vary with it).",
        "",
        "CPU ms is the median CPU time the process spent on one request: on a busy machine it is closer to what",
        "an idle one would take than the wall-clock times are.",
        "",
        *table(
            ["page", "median ms", "p95 ms", "CPU ms (median)", "bytes"],
            [(n, ms(m), ms(p), ms(c), b) for n, m, p, c, b in results],
        ),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_report(args.write, text)


if __name__ == "__main__":
    main()
