"""The review loop on a real database: unsure and staff-corrected messages go out masked, labelled rows come
back as training data (never into tests/), duplicates and unknown intents are caught."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from app.nlu_cli import run_import, typed_intents
from bureau.deps import Deps
from bureau.nlu_review import HEADERS, ReviewFileError, import_labelled, review_rows, write_review
from foundation.clock import utcnow
from foundation.enums import CaseKind
from storage import conversations as convs
from storage import desk
from storage.cases import NewCase, create_case

INTENTS = {"complaint", "legal_question", "service_request"}


def _said(session, conversation, update_id: int, text: str, intent: str, confidence: float, at: datetime):  # type: ignore[no-untyped-def]
    message, _ = convs.store_inbound(
        session, conversation, update_id=update_id, kind="text", text=text, telegram_message_id=None, at=at
    )
    message.intent, message.confidence = intent, confidence
    return message


def _traffic(deps: Deps, now: datetime) -> None:
    """An unsure message with a phone number, a sure one, one whose case staff refused, one staff moved."""
    with deps.sessions.begin() as session:
        conversation = convs.conversation_for(session, convs.TelegramPerson(3001, 3001, "李四", None))
        _said(
            session, conversation, 1, "我电话13812345678，挂靠车的罚款谁交", "complaint", 0.41, now - timedelta(hours=5)
        )
        _said(session, conversation, 2, "执法队的人骂人", "complaint", 0.98, now - timedelta(hours=4))
        _said(session, conversation, 3, "交警扣我分不合理", "complaint", 0.95, now - timedelta(hours=3))
        refused = create_case(
            session,
            NewCase(CaseKind.complaint, "局办公室", "其他", conversation.reporter_id, conversation.id, "交警扣分", {}),
            deps.calendar,
            now - timedelta(hours=3) + timedelta(seconds=5),
        )
        desk.reject(session, refused, "公安交警（122）", "交警的事", desk.Actor("staff:1:x"), now - timedelta(hours=2))
        _said(session, conversation, 4, "司机之家的热水器坏了", "service_request", 0.93, now - timedelta(hours=1))
        moved = create_case(
            session,
            NewCase(CaseKind.service_request, "市交通运输综合执法大队", "其他", conversation.reporter_id,
                    conversation.id, "热水器坏了", {}),
            deps.calendar,
            now - timedelta(hours=1) + timedelta(seconds=5),
        )  # fmt: skip
        units = deps.routing.units
        desk.assign(session, moved, "局规划基建科", units, desk.Actor("staff:1:x"), now - timedelta(minutes=30))
        _said(session, conversation, 5, "很久以前的含糊消息", "complaint", 0.2, now - timedelta(days=30))


def test_unsure_and_corrected_messages_are_exported_masked_with_chinese_headers(deps: Deps, tmp_path: Path) -> None:
    now = utcnow()
    _traffic(deps, now)
    with deps.sessions.begin() as session:
        rows = review_rows(session, now, days=7)
    reasons = {row.text: row.reason for row in rows}
    assert set(reasons) == {"我电话〔电话〕，挂靠车的罚款谁交", "交警扣我分不合理", "司机之家的热水器坏了"}
    assert "不予受理" in reasons["交警扣我分不合理"]
    assert "改派局规划基建科" in reasons["司机之家的热水器坏了"]
    path = tmp_path / "review.xlsx"
    write_review(rows, path, typed_intents())
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert tuple(c.value for c in sheet[1]) == HEADERS
    assert "13812345678" not in str([[c.value for c in r] for r in sheet.iter_rows()])


def _labelled(tmp_path: Path, rows: list[tuple[str, str | None]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for index, (text, label) in enumerate(rows, start=1):
        sheet.append([index, None, text, "complaint", 0.4, "置信度低", None, label, None])
    path = tmp_path / "labelled.xlsx"
    book.save(path)
    return path


def test_labelled_rows_become_training_data_once_and_tests_are_untouched(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "complaint.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: complaint\n  examples: |\n    - 执法队的人骂人\n', encoding="utf-8"
    )
    path = _labelled(
        tmp_path,
        [("挂靠车的罚款谁交", "legal_question"), ("执法队的人骂人", "complaint"), ("没标的一行", None),
         ("挂靠车的罚款谁交", "legal_question")],
    )  # fmt: skip
    assert import_labelled(path, nlu, INTENTS) == (1, 2)
    assert import_labelled(path, nlu, INTENTS) == (0, 3)  # a second import adds nothing
    written = (nlu / "review_import.yml").read_text(encoding="utf-8")
    assert "- intent: legal_question" in written and written.count("挂靠车的罚款谁交") == 1
    assert sorted(p.name for p in nlu.iterdir()) == ["complaint.yml", "review_import.yml"]


def test_an_unknown_intent_or_a_foreign_file_is_refused_with_the_row(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    with pytest.raises(ReviewFileError, match="第3行：未知意图“投诉”"):
        import_labelled(_labelled(tmp_path, [("好的", "complaint"), ("乱七八糟", "投诉")]), nlu, INTENTS)
    assert not (nlu / "review_import.yml").exists()
    not_a_workbook = tmp_path / "x.xlsx"
    not_a_workbook.write_text("hello", encoding="utf-8")
    with pytest.raises(ReviewFileError, match="不是可读取的 xlsx"):
        import_labelled(not_a_workbook, nlu, INTENTS)


def test_the_import_command_says_to_train_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    path = _labelled(tmp_path, [("拖车费有没有标准", "legal_question")])
    assert run_import(argparse.Namespace(file=path), nlu) == 0
    assert "make train" in capsys.readouterr().out
    assert run_import(argparse.Namespace(file=tmp_path / "missing.xlsx"), nlu) == 2
