"""The digest in the real stack: the catch-up run posts the last week's digest to the staff group, a
driver's complaint is stored with its embedding, and staff keep the ledger with commands."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.local_stack import Driver, RunningStack
from bot.staff.commands import REFUSED
from digest.build import build_week, context
from digest.importer import import_file
from digest.weeks import Week
from foundation.clock import utcnow
from foundation.enums import LedgerState
from storage.models import Case, ComplaintRecord, LedgerItem
from tests.e2e.conftest import SUPERVISOR_CHAT_ID
from tests.e2e.test_staff_desk import file_complaint, staff


async def test_the_catch_up_run_posts_the_last_weeks_digest_to_the_staff_group(stack: RunningStack) -> None:
    member = staff(stack)
    message = await member.wait_posted(None, "每周高频投诉分析", timeout=60)
    assert message["parse_mode"] == "HTML" and "督办台账" in message["text"]
    chart = await member.wait_posted(None, "本周与上周对比", timeout=30)
    assert chart["method"] == "sendPhoto"
    sheet = await member.wait_posted(None, "分组与督办台账", timeout=30)
    assert sheet["method"] == "sendDocument" and sheet["message"]["document"]["file_name"].endswith(".xlsx")


async def test_a_drivers_complaint_is_stored_for_the_digest_with_its_embedding(
    stack: RunningStack, new_driver: type[Driver]
) -> None:
    number = await file_complaint(new_driver(), "我要投诉309检测站的工作人员 骂人 态度恶劣", place="309检测站")
    with stack.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        record = session.scalars(select(ComplaintRecord).where(ComplaintRecord.case_id == case.id)).one()
        assert record.external_id == number and record.source == "bot"
        assert record.embedding is not None and len(record.embedding) == 768
        assert "骂人" in record.text and record.reporter_key == f"r:{case.reporter_id}"
        assert record.station == "G309乳山超限检测站"


async def test_staff_keep_the_ledger_with_commands(stack: RunningStack, tmp_path: Path) -> None:
    rows = [
        {"id": f"e2e-{n}", "text": text, "time": "2026-10-01 10:00", "phone": f"1391111000{n}"}
        for n, text in enumerate(
            ["乳山口站称重不准 差了一吨多", "乳山口超限站的磅不准", "乳山口站地磅偏重", "乳山口检测站称重有问题"]
        )
    ]
    path = tmp_path / "letters.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with stack.deps.sessions.begin() as session:
        assert import_file(session, path, stack.deps.settings.timezone, b"k", channel="来信").added == 4
    build_week(stack.deps.sessions, Week(2026, 40), context(stack.deps), utcnow())
    with stack.deps.sessions() as session:
        item = session.scalars(select(LedgerItem).where(LedgerItem.first_week == "2026-W40")).one()
        number = item.number

    member, outsider = staff(stack), staff(stack, "路人", member=False)
    await member.say(None, "/ledger")
    listing = await member.wait_posted(None, f"{number}</b>")
    assert "待填报" in listing["text"]
    await outsider.say(None, f"/xiaohao {number} 我来销号")
    await member.wait_posted(None, REFUSED)
    await member.say(None, f"/xiaohao {number} 已整改")
    await member.wait_posted(None, "销号需要督办人员操作")  # staff fill in measures; supervisors close items
    chief = staff(stack, "王科长")
    stack.api.set_member_status(SUPERVISOR_CHAT_ID, chief.user_id, "member")
    await chief.say(None, f"/xiaohao {number}")
    await chief.wait_posted(None, "销号需要写明整改情况")
    await member.say(None, f"/measures {number} 每日开秤前校准并公示检定证书")
    await member.wait_posted(None, f"{number} 的整改措施已记录")
    await chief.say(None, f"/xiaohao {number} 地磅已由计量所重新检定，复称一致")
    await chief.wait_posted(None, f"✅ {number}")
    with stack.deps.sessions() as session:
        item = session.scalars(select(LedgerItem).where(LedgerItem.number == number)).one()
        assert item.state is LedgerState.closed and item.close_note == "地磅已由计量所重新检定，复称一致"
        assert item.measures == "每日开秤前校准并公示检定证书" and (item.closed_by or "").startswith("staff:")
