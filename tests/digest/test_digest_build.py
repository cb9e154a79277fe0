"""Building weekly digests: groups, week-on-week change, the ledger across weeks, bad weeks, crashes."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select

from bureau.deps import Deps
from bureau.retention import run_retention
from digest import build as build_module
from digest import render
from digest.build import BuiltDigest, WeekAlreadyBuilt, build_week, context
from digest.ledger import LedgerError, close_item, list_items
from digest.weeks import Week
from foundation import embedding
from foundation.enums import CaseState, LedgerState
from storage.models import ComplaintRecord, Digest, DigestGroup, DigestMember, LedgerEntry, LedgerItem

TZ = ZoneInfo("Asia/Shanghai")
W46, W47, W48 = Week(2026, 46), Week(2026, 47), Week(2026, 48)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
HELDOUT = yaml.safe_load((Path(__file__).parent / "grouping_heldout.yml").read_text(encoding="utf-8"))["items"]


@pytest.fixture(scope="module")
def heldout_vectors() -> dict[str, bytes]:
    vectors = embedding.embed([str(i["text"]) for i in HELDOUT])
    return {i["id"]: embedding.to_bytes(v) for i, v in zip(HELDOUT, vectors, strict=True)}


def add(deps: Deps, week: Week, rows: list[dict[str, Any]], vectors: dict[str, bytes] | None = None) -> None:
    """Complaints received during `week` (spread over its days), embedded as the importer does."""
    texts = [str(r["text"]) for r in rows]
    fresh = embedding.embed(texts) if vectors is None else None
    with deps.sessions.begin() as session:
        for n, row in enumerate(rows):
            vector = vectors[row["id"]] if vectors is not None else embedding.to_bytes(fresh[n])  # type: ignore[index]
            session.add(
                ComplaintRecord(
                    dedup_key=f"ext:test:{row['id']}",
                    source="import",
                    channel="12328",
                    external_id=str(row["id"]),
                    text=texts[n],
                    has_photo=bool(row.get("photo")),
                    received_at=week.starts(TZ) + timedelta(hours=1 + (n * 7) % 160),
                    station=row.get("station"),
                    unit=row.get("unit"),
                    reporter_key=row.get("reporter"),
                    embedding=vector if texts[n] else None,
                )
            )


def build(deps: Deps, week: Week, now: datetime = NOW, **kwargs: Any) -> BuiltDigest:
    return build_week(deps.sessions, week, context(deps), now, **kwargs)


def counts(deps: Deps) -> tuple[int, int, int, int]:
    with deps.sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Digest, DigestGroup, DigestMember, LedgerItem)
        )


def majority_topic(members: list[str]) -> str:
    topic_of = {i["id"]: i["topic"] for i in HELDOUT}
    return Counter(topic_of[m] for m in members).most_common(1)[0][0]


def test_two_weeks_recurring_issues_are_matched_to_their_ledger_items(
    deps: Deps, heldout_vectors: dict[str, bytes]
) -> None:
    add(deps, W46, [i for i in HELDOUT if i["week"] == 1], heldout_vectors)
    add(deps, W47, [i for i in HELDOUT if i["week"] == 2], heldout_vectors)
    first = build(deps, W46, NOW - timedelta(days=7))
    second = build(deps, W47)
    topic_of = {i["id"]: i["topic"] for i in HELDOUT}
    week_two = Counter(i["topic"] for i in HELDOUT if i["week"] == 2)
    opened_first = {g["ledger"]: g for g in first.payload["groups"] if g["ledger"]}
    assert len(opened_first) >= 5
    # items whose week-1 group is one clear issue (look-alikes at one toll station can merge in a week) and
    # whose issue is frequent again in week 2: matched to the same item, seen in both weeks, counts added up
    clear: dict[str, str] = {}
    for number, group in sorted(opened_first.items(), key=lambda kv: -kv[1]["size"]):
        topic, count = Counter(topic_of[m] for m in group["members"]).most_common(1)[0]
        if count >= 0.6 * group["size"] and week_two[topic] >= 5 and topic not in clear.values():
            clear[number] = topic  # the biggest week-1 group of the issue (a small fragment may have its own)
    assert len(clear) >= 3
    for number, topic in clear.items():
        later = [g for g in second.payload["groups"] if g["ledger"] == number]
        assert later, (number, topic, opened_first[number]["label"])
        main = max(later, key=lambda g: g["size"])
        assert majority_topic(main["members"]) == topic
        assert main["is_new"] is False and main["previous_size"] > 0
        with deps.sessions() as session:
            item = session.scalars(select(LedgerItem).where(LedgerItem.number == number)).one()
            weeks = [e.week for e in session.scalars(select(LedgerEntry).where(LedgerEntry.item_id == item.id))]
            sizes = [g["size"] for g in (*first.payload["groups"], *second.payload["groups"]) if g["ledger"] == number]
            assert weeks == ["2026-W46", "2026-W47"]
            assert item.complaints == sum(sizes) and item.last_week == "2026-W47"
    opened_second = {g["ledger"] for g in second.payload["groups"] if g["ledger"] and g["ledger"] not in opened_first}
    recurring = [g for g in second.payload["groups"] if g["high_frequency"] and g["ledger"] in opened_first]
    assert len(recurring) >= len(clear) and len(opened_second) < sum(
        g["high_frequency"] for g in second.payload["groups"]
    )
    # an issue new in week 2 gets its own new item
    camera = [g for g in second.payload["groups"] if majority_topic(g["members"]) == "madian_camera_false_overload"]
    assert camera[0]["high_frequency"] and camera[0]["ledger"] in opened_second
    # everything is stored: one digest per week, every complaint a member of exactly one group
    assert counts(deps)[0] == 2 and counts(deps)[2] == len(HELDOUT)


def test_the_message_chart_and_workbook(deps: Deps, heldout_vectors: dict[str, bytes]) -> None:
    add(deps, W47, [i for i in HELDOUT if i["week"] == 2], heldout_vectors)
    built = build(deps, W47)
    assert built.html.startswith("<b>📊 每周高频投诉分析 2026-W47</b>")
    assert "高频" in built.html and len(built.html) <= 4096
    assert built.chart_png.startswith(b"\x89PNG")
    book = load_workbook(io.BytesIO(built.xlsx))
    assert book.sheetnames == ["分组 2026-W47", "督办台账"]
    groups = list(book["分组 2026-W47"].iter_rows(min_row=2, values_only=True))
    assert sum(row[2] for row in groups) == sum(1 for i in HELDOUT if i["week"] == 2)
    assert all(row[1] for row in groups)  # every group has a label, and it is text
    ledger = list(book["督办台账"].iter_rows(min_row=2, values_only=True))
    assert ledger and all(row[5] == "督办中" and row[3] == "待填报" for row in ledger)


def test_an_empty_week_says_so_and_is_still_stored(deps: Deps) -> None:
    built = build(deps, W47)
    assert "本周没有收到投诉" in built.html and built.chart_png.startswith(b"\x89PNG")
    assert built.payload["groups"] == [] and counts(deps) == (1, 0, 0, 0)


def test_a_week_with_one_complaint_and_a_photo_without_text(deps: Deps) -> None:
    add(deps, W47, [{"id": "p1", "text": "", "photo": True}, {"id": "t1", "text": "西岭服务区充电桩坏了"}])
    built = build(deps, W47)
    groups = built.payload["groups"]
    assert [g["members"] for g in groups] == [["t1"], ["p1"]]
    assert groups[1]["photo_only"] and "仅有图片" in groups[1]["label"]
    assert not any(g["high_frequency"] for g in groups) and counts(deps)[3] == 0


def test_one_driver_writing_many_times_counts_once(deps: Deps) -> None:
    same = [{"id": f"s{n}", "text": "河口收费站绿色通道不给免费", "reporter": "p:driver-a"} for n in range(5)]
    other = {"id": "o1", "text": "河口收费站绿色通道拉蔬菜也不给免", "reporter": "p:driver-b"}
    add(deps, W47, [*same, other])
    [group] = build(deps, W47).payload["groups"]
    assert (group["size"], group["reporters"], group["high_frequency"]) == (6, 2, False)


def test_quotes_mask_plates_and_phones(deps: Deps) -> None:
    rows = [
        {"id": f"q{n}", "text": f"南湖超限站称重不准，我的车豫A·1234{n}，电话1391234567{n}", "reporter": f"p:{n}"}
        for n in range(3)
    ]
    add(deps, W47, rows)
    built = build(deps, W47)
    assert "1234" not in built.html and "1391234567" not in built.html
    assert "豫A****" in built.html


def test_a_crash_halfway_leaves_nothing_behind(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    add(deps, W47, [{"id": f"c{n}", "text": "城东停车场收费太高", "reporter": f"p:{n}"} for n in range(4)])

    def broken(*_args: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "render_workbook", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build(deps, W47)
    assert counts(deps) == (0, 0, 0, 0)
    monkeypatch.undo()
    built = build(deps, W47)
    assert built.digest_id is not None and counts(deps)[3] == 1


def test_a_week_is_never_built_twice_and_a_dry_run_stores_nothing(deps: Deps) -> None:
    add(deps, W47, [{"id": f"d{n}", "text": "城东停车场收费太高", "reporter": f"p:{n}"} for n in range(4)])
    dry = build(deps, W47, dry_run=True)
    assert dry.digest_id is None and dry.payload["groups"][0]["high_frequency"]
    assert counts(deps) == (0, 0, 0, 0)
    build(deps, W47)
    with pytest.raises(WeekAlreadyBuilt):
        build(deps, W47)
    assert counts(deps)[0] == 1


def test_closing_an_item_and_its_return(deps: Deps) -> None:
    rows = [{"id": f"r{n}", "text": "南湖超限站地磅不准 多称了两吨", "reporter": f"p:{n}"} for n in range(4)]
    add(deps, W46, rows)
    build(deps, W46, NOW - timedelta(days=7))
    with deps.sessions.begin() as session:
        [item] = list_items(session)
        with pytest.raises(LedgerError):
            close_item(session, item.number, "staff:1", "", NOW)
        close_item(session, item.number, "staff:1", "已校准地磅并公示检定证书", NOW)
        with pytest.raises(LedgerError, match="已于"):
            close_item(session, item.number, "staff:1", "再销一次", NOW)
    # the same issue comes back, high-frequency: the closed item is reopened, not duplicated
    add(deps, W47, [{**r, "id": f"again-{r['id']}", "text": "南湖超限站的磅又不准了"} for r in rows])
    built = build(deps, W47)
    with deps.sessions() as session:
        [again] = list_items(session)
        assert again.state is LedgerState.open and again.number == built.payload["groups"][0]["ledger"]
        actions = [e.action for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))]
    assert actions == ["opened", "closed", "reopened"]


def test_growth_makes_a_group_high_frequency(deps: Deps) -> None:
    add(deps, W46, [{"id": f"g{n}", "text": "马店路口的坑太多了", "reporter": f"p:{n}"} for n in (0, 1)])
    add(deps, W47, [{"id": f"g{n}", "text": "马店路口坑坑洼洼 车都颠坏了", "reporter": f"p:{n}"} for n in (2, 3, 4, 5)])
    rules = replace(context(deps).rules, hf_reporters=10)
    ctx = replace(context(deps), rules=rules)
    built = build_week(deps.sessions, W47, ctx, NOW)
    [group] = built.payload["groups"]
    assert group["previous_size"] == 2 and group["high_frequency"]


def test_bot_complaints_link_their_cases(deps: Deps) -> None:
    """A complaint filed with the bot: its record carries the case, and the digest counts it open."""
    from digest.records import record_case
    from foundation.enums import CaseKind
    from storage.cases import NewCase, create_case
    from storage.conversations import TelegramPerson, conversation_for

    with deps.sessions.begin() as session:
        conversation = conversation_for(session, TelegramPerson(123456789, 123456789, "司机", None))
        new = NewCase(
            CaseKind.complaint,
            "局政策法规科",
            "执法",
            conversation.reporter_id,
            conversation.id,
            "西岭服务区厕所太脏",
            {},
        )
        case = create_case(
            session,
            new,
            deps.calendar,
            W47.starts(TZ) + timedelta(days=1),
        )
        record_case(session, case, "西岭服务区", has_photo=False)
        number = case.number
    built = build(deps, W47)
    [group] = built.payload["groups"]
    assert group["members"] == [number] and group["open_cases"] == 1 and group["overdue_cases"] == 1
    assert group["stations"] == ["西岭服务区"]


DANGEROUS = ['=HYPERLINK("http://x","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"]


def _risky_cells(xlsx: bytes) -> list[Any]:
    book = load_workbook(io.BytesIO(xlsx))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    return [cell for cell in cells if cell.value[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_a_complaint_starting_with_a_formula_stays_text_in_the_workbook(deps: Deps) -> None:
    """Staff open the workbook in Excel: a complaint written as `=HYPERLINK(...)` stays the driver's words."""
    add(deps, W47, [{"id": "f1", "text": DANGEROUS[0], "reporter": "p:1"}])
    risky = _risky_cells(build(deps, W47).xlsx)
    assert DANGEROUS[0] in [cell.value for cell in risky]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in risky), [(c.coordinate, c.value) for c in risky]


def test_ledger_texts_starting_with_formula_characters_stay_text() -> None:
    """Titles, measures and closing notes typed by staff or taken from drivers' words, in both workbooks."""
    item = LedgerItem(
        number="DB-2026-001",
        title=DANGEROUS[3],
        owner_unit=DANGEROUS[2],
        measures=DANGEROUS[1],
        deadline=NOW,
        state=LedgerState.closed,
        first_week="2026-W47",
        last_week="2026-W47",
        complaints=3,
        closed_at=NOW,
        close_note=DANGEROUS[4],
    )
    risky = _risky_cells(render.ledger_workbook([item], TZ))
    assert sorted(cell.value for cell in risky) == sorted(DANGEROUS[1:5])
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in risky)


def test_retention_scrubs_imported_complaints_digests_workbooks_and_ledger_titles(deps: Deps) -> None:
    rows = [
        {"id": f"r{n}", "text": f"南湖超限站称重不准，我的车豫A·1234{n}，电话139 1234 567{n}", "reporter": f"p:{n}"}
        for n in range(6)
    ]
    add(deps, W47, rows)
    built = build(deps, W47)
    with deps.sessions.begin() as session:
        digest = session.get(Digest, built.digest_id)
        assert digest is not None
        digest.sent_at = NOW
        for item in session.scalars(select(LedgerItem)):
            close_item(session, item.number, "督办员", "已整改，车主豫A·12340已回访", NOW)
    assert "豫A****" in built.html  # masked for staff, but a partial plate and phone a year on is too much

    run_retention(deps, NOW + timedelta(days=deps.settings.retention_days + 8))

    with deps.sessions() as session:
        digest = session.get(Digest, built.digest_id)
        assert digest is not None
        book = load_workbook(io.BytesIO(digest.xlsx))
        stored = [
            digest.html,
            str([(g.label, g.details) for g in digest.groups]),
            str([cell.value for sheet in book for row in sheet.iter_rows() for cell in row]),
            str([(i.title, i.measures, i.close_note) for i in session.scalars(select(LedgerItem))]),
            str(session.scalars(select(ComplaintRecord.text)).all()),
        ]
    for text in stored:
        assert "豫A" not in text and "139" not in text and "1234" not in text, text[:300]
    assert "南湖超限站" in stored[0]  # what the digest was about stays


def test_an_erasure_scrubs_the_digests_that_quote_the_driver(deps: Deps) -> None:
    from bureau.retention import erase_person
    from digest.records import record_case
    from foundation.enums import CaseKind
    from storage.cases import NewCase, create_case
    from storage.conversations import TelegramPerson, conversation_for

    words = "西岭服务区厕所太脏，我是张师傅，车牌豫A·12345，电话139 1234 5678"
    with deps.sessions.begin() as session:
        conversation = conversation_for(session, TelegramPerson(4401, 4401, "张师傅", None))
        new = NewCase(
            CaseKind.complaint, "局政策法规科", "服务区", conversation.reporter_id, conversation.id, words, {}
        )
        case = create_case(session, new, deps.calendar, W47.starts(TZ) + timedelta(days=1))
        record_case(session, case, "西岭服务区", has_photo=False)
        case.state = CaseState.closed
        case.closed_at = NOW
        reporter_id = conversation.reporter_id
    built = build(deps, W47)
    assert "豫A****" in str(built.payload) or "豫A****" in str(
        load_workbook(io.BytesIO(built.xlsx)).worksheets[0]["N2"].value
    )

    erase_person(deps, reporter_id, NOW + timedelta(days=1))

    with deps.sessions() as session:
        digest = session.get(Digest, built.digest_id)
        assert digest is not None
        cells = [c.value for s in load_workbook(io.BytesIO(digest.xlsx)) for r in s.iter_rows() for c in r]
        stored = [digest.html, str([(g.label, g.details) for g in digest.groups]), str(cells)]
    for text in stored:
        assert "豫A" not in text and "139" not in text and "5678" not in text, text[:300]
