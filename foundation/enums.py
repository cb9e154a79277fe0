"""The states and kinds every floor speaks of: cases, conversations, stored updates, ledger items."""

from __future__ import annotations

import enum


class CaseKind(enum.StrEnum):
    complaint = "complaint"
    service_request = "service_request"
    legal_consultation = "legal_consultation"


class CaseState(enum.StrEnum):
    received = "已受理"
    assigned = "已转办"
    in_progress = "办理中"
    answered = "已答复"
    closed = "已办结"
    reopened = "重办"
    not_accepted = "不予受理"
    merged = "合并"


class ConversationMode(enum.StrEnum):
    bot = "bot"  # the bot reads what the driver writes
    with_case = "with_case"  # the driver chose to write to one case (补充到案件 / 联系承办人员) until they leave


class UpdateStatus(enum.StrEnum):
    pending = "pending"
    done = "done"
    failed = "failed"


class LedgerState(enum.StrEnum):
    open = "open"  # 督办中
    closed = "closed"  # 已销号
