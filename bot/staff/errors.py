"""What the staff member is told when storage refuses a desk action: one sentence per error code."""

from __future__ import annotations

from bureau.labels import EVENT_NAMES
from storage.errors import ErrorCode, StorageError

TEXTS = {
    ErrorCode.case_not_found: "没有找到编号为 {number} 的案件。",
    ErrorCode.wrong_state: "案件当前状态为“{state}”，不能{action_name}。",
    ErrorCode.no_such_unit: "没有名为“{unit}”的单位。",
    ErrorCode.avoidance: "本案投诉的是{unit}，按回避规定不能交由该单位办理。",
    ErrorCode.same_unit: "本案已由{unit}承办。",
    ErrorCode.answer_first: "请先用 /answer 给出答复意见（事实、依据、结果），再办结。",
    ErrorCode.extension_days: "延期天数应为 1-30 个工作日。",
    ErrorCode.merge_into_itself: "不能把案件合并到它自己。",
    ErrorCode.merge_target_finished: "{number} 的状态是“{state}”，不能并入。",
    ErrorCode.unknown_rating: "未知评价：{rating}",
}


def desk_error_text(error: StorageError) -> str:
    """The refusal in words for the staff group."""
    action = error.details.get("action", "")
    return TEXTS[error.code].format(**error.details, action_name=EVENT_NAMES.get(action, action))
