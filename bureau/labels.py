"""Chinese names of the domain's enums, shared by everything that shows them to people."""

from __future__ import annotations

from foundation.enums import CaseKind

KIND_NAMES = {
    CaseKind.complaint: "投诉",
    CaseKind.service_request: "服务请求",
    CaseKind.legal_consultation: "法律咨询",
}

# what each case event (CaseEvent.action) is called on the dashboard and in the staff desk
EVENT_NAMES = {
    "created": "受理",
    "escalated": "推送至工作群",
    "assigned": "转办",
    "answered": "答复",
    "closed": "办结",
    "reopened": "重办",
    "not_accepted": "不予受理",
    "merged": "合并",
    "merged_in": "并入案件",
    "extended": "延期",
    "handed_back": "交回机器人",
    "staff_reply": "工作人员回复",
    "note": "备注",
    "rated": "评价",
    "rating_comment": "评价意见",
    "return_visit": "回访",
    "consent": "同意提供身份",
    "identity_viewed": "查看身份信息",
    "identity_refused": "查看身份被拒",
    "data_exported": "导出个人数据",
    "erase_requested": "申请删除个人数据",
    "pseudonymised": "个人信息匿名化",
    "refused": "非工作人员操作被拒",
}
