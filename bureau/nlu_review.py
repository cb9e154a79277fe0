"""The review loop: messages the NLU was unsure of, or that staff corrected, go out as a workbook; staff label
them; the labelled rows come back as training data (data/nlu/review_import.yml), then `make train`.

Where the confidence lives: the bot stores every inbound message with Rasa's best real intent and its
confidence (storage.models.Message.intent / .confidence, from bot/rasa_client.parse_turn). "Staff-corrected"
means the case a message opened was refused (不予受理, with a referral) or handed to another unit than the
one routing chose: both say the bot read the message wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.enums import CaseState
from foundation.masks import scrub
from storage.models import Case, CaseEvent, Message

LOW_CONFIDENCE = 0.7  # Rasa's FallbackClassifier threshold in config.yml: below it the bot asked to clarify
HEADERS = ("编号", "时间", "消息（已脱敏）", "机器识别意图", "置信度", "入选原因", "案件编号", "正确意图", "备注")
LABEL_COLUMN = HEADERS.index("正确意图")
TEXT_COLUMN = HEADERS.index("消息（已脱敏）")
IMPORT_FILE = "review_import.yml"
_SPACES = re.compile(r"\s+")


class ReviewFileError(ValueError):
    """The workbook is not a review export or a row cannot be imported; the message names the row."""


@dataclass(frozen=True)
class ReviewRow:
    message_id: int
    at: datetime
    text: str  # masked
    intent: str | None
    confidence: float | None
    reason: str
    case_number: str | None


def _corrected_cases(session: Session, since: datetime) -> dict[int, tuple[Case, str]]:
    """Cases staff refused or moved to another unit since `since`, by conversation."""
    refused = session.scalars(select(Case).where(Case.created_at >= since, Case.state == CaseState.not_accepted))
    found = {case.id: (case, f"工作人员更正：不予受理（{case.referral or '—'}）") for case in refused}
    events = session.execute(
        select(Case, CaseEvent.action, CaseEvent.note)
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(Case.created_at >= since, CaseEvent.action.in_(("created", "assigned")))
        .order_by(CaseEvent.id)
    ).tuples()
    routed: dict[int, str | None] = {}
    for case, action, note in events:
        if action == "created":
            routed[case.id] = note
        elif case.id not in found and note and routed.get(case.id) not in (None, note):
            found[case.id] = (case, f"工作人员更正：由{routed[case.id]}改派{note}")
    return found


def _opening_message(session: Session, case: Case) -> Message | None:
    """The driver's last text message before the case was opened (the one the NLU read)."""
    query = (
        select(Message)
        .where(
            Message.conversation_id == case.conversation_id,
            Message.direction == "in",
            Message.intent.is_not(None),
            Message.created_at <= case.created_at,
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def review_rows(session: Session, now: datetime, days: int = 7) -> list[ReviewRow]:
    """Inbound text messages of the last `days` days read with low confidence, and those staff corrected."""
    since = now - timedelta(days=days)
    reasons: dict[int, tuple[Message, str, str | None]] = {}
    unsure = select(Message).where(
        Message.direction == "in",
        Message.created_at >= since,
        Message.text.is_not(None),
        Message.confidence < LOW_CONFIDENCE,
    )
    for message in session.scalars(unsure):
        reasons[message.id] = (message, f"置信度低于{LOW_CONFIDENCE}", None)
    for case, why in _corrected_cases(session, since).values():
        opening = _opening_message(session, case)
        if opening is not None and opening.text:
            reasons[opening.id] = (opening, why, case.number)
    rows = [
        ReviewRow(m.id, m.created_at, scrub(m.text or ""), m.intent, m.confidence, why, number)
        for m, why, number in reasons.values()
        if (m.text or "").strip() and not (m.text or "").startswith("/")
    ]
    return sorted(rows, key=lambda r: (r.at, r.message_id))


def write_review(rows: list[ReviewRow], path: Path, intents: list[str]) -> None:
    """The workbook staff fill in: one row a message, 正确意图 left empty, the intents listed on a second sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "待标注"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(
            [
                row.message_id,
                row.at.replace(tzinfo=None),
                ILLEGAL_CHARACTERS_RE.sub("", row.text),
                row.intent,
                round(row.confidence, 3) if row.confidence is not None else None,
                row.reason,
                row.case_number,
                None,
                None,
            ]
        )
    for letter, width in zip("ABCDEFGHI", (8, 17, 60, 16, 8, 28, 16, 16, 20), strict=True):
        sheet.column_dimensions[letter].width = width
    names = book.create_sheet("意图说明")
    names.append(("意图名称（填入“正确意图”列）",))
    for intent in intents:
        names.append((intent,))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def normalise(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def known_examples(nlu_dir: Path) -> set[str]:
    """Every training example already in data/nlu/*.yml, normalised."""
    seen: set[str] = set()
    for path in sorted(nlu_dir.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in raw.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    seen.add(normalise(line[2:]))
    return seen


def labelled_rows(path: Path, intents: set[str]) -> list[tuple[str, str]]:
    """(text, intent) of every row with 正确意图 filled in; an unknown intent is an error naming the row."""
    if not path.is_file():
        raise ReviewFileError(f"{path}: 文件不存在")
    try:
        book = load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise ReviewFileError(f"{path}: 不是可读取的 xlsx 文件（{exc.__class__.__name__}）") from exc
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    if not rows or tuple(rows[0][: len(HEADERS)]) != HEADERS:
        raise ReviewFileError(f"{path}: 第1行不是导出的表头（应为：{'、'.join(HEADERS)}）")
    found = []
    for number, row in enumerate(rows[1:], start=2):
        label = str(row[LABEL_COLUMN] or "").strip() if len(row) > LABEL_COLUMN else ""
        text = normalise(str(row[TEXT_COLUMN] or ""))
        if not label:
            continue
        if label not in intents:
            raise ReviewFileError(f"{path}: 第{number}行：未知意图“{label}”，可用：{'、'.join(sorted(intents))}")
        if not text:
            raise ReviewFileError(f"{path}: 第{number}行：消息为空")
        found.append((text, label))
    return found


def import_labelled(path: Path, nlu_dir: Path, intents: set[str]) -> tuple[int, int]:
    """Add the labelled rows of `path` to nlu_dir/review_import.yml; returns (added, skipped as duplicates).

    Only ever this one file under data/nlu/: the fixed test splits under tests/ are never touched."""
    labelled = labelled_rows(path, intents)
    seen = known_examples(nlu_dir)
    target = nlu_dir / IMPORT_FILE
    raw = yaml.safe_load(target.read_text(encoding="utf-8")) if target.exists() else None
    by_intent: dict[str, list[str]] = {}
    for block in (raw or {}).get("nlu") or []:
        lines = str(block.get("examples") or "").splitlines()
        by_intent.setdefault(block["intent"], []).extend(ln.strip()[2:] for ln in lines if ln.strip().startswith("- "))
    added = skipped = 0
    for text, intent in labelled:
        if text in seen:
            skipped += 1
            continue
        seen.add(text)
        by_intent.setdefault(intent, []).append(text)
        added += 1
    if added:
        target.write_text(_nlu_yaml(by_intent), encoding="utf-8")
    return added, skipped


def _nlu_yaml(by_intent: dict[str, list[str]]) -> str:
    lines = [
        "# Added by `complaints nlu import` from reviewed real messages (personal data masked). Edit freely.",
        'version: "3.1"',
        "nlu:",
    ]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"
