"""Chinese names of the domain's enums, shared by everything that shows them to people."""

from __future__ import annotations

from storage.models import CaseKind

KIND_NAMES = {
    CaseKind.complaint: "投诉",
    CaseKind.service_request: "服务请求",
    CaseKind.legal_consultation: "法律咨询",
}
