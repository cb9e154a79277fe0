"""A legal question that the NLU read as a complaint or a request for help still gets its answer.

"挂靠公司名下的车被罚了，罚款该谁交？" asks what the law says; opening a complaint form on it, or a
roadside-service case on "拖车收费标准是多少？", answers nothing. Before a form or a case is opened, the
message is checked here: shaped as a question, carrying no grievance and no call for help now, and answered
outright by the knowledge base (the same clear-best rule as a legal question) — then the answer is sent
instead, with the complaint or the person one button away.
"""

from __future__ import annotations

from bureau.legal_kb import LegalEntry, LegalKb

QUESTION_MARKS = (
    "？", "?", "吗", "么", "多少", "怎么", "咋", "如何", "能不能", "可不可以", "可以不", "是否", "谁", "合法",
    "合理", "标准", "算不算", "要不要", "会不会", "哪里", "在哪", "规定", "有没有", "几天", "多久", "行不行",
)  # fmt: skip
# a grievance is a complaint even when phrased as a question ("凭什么罚我？", "这还有没有人管？")
GRIEVANCE_WORDS = (
    "投诉", "举报", "反映", "曝光", "态度", "骂", "打人", "索要", "要烟", "红包", "好处费", "乱罚", "乱收",
    "刁难", "没人管", "凭什么", "太黑", "不给开票", "故意", "威胁", "报复", "不作为",
)  # fmt: skip
# someone who needs help where they are wants a case, not an article
HELP_NOW_WORDS = (
    "派", "过来", "来一下", "帮我", "帮帮", "帮忙", "救命", "快来", "被困", "动不了", "急需", "需要", "赶紧",
    "马上", "现在在", "坏在", "抛锚", "没油了", "爆胎了",
)  # fmt: skip


def looks_like_question(text: str) -> bool:
    return any(mark in text for mark in QUESTION_MARKS)


def answer_instead(text: str, kb: LegalKb) -> LegalEntry | None:
    """The entry to answer `text` with, when it is a plain legal question; None for a complaint or a call for help."""
    if text.startswith("/") or not looks_like_question(text):
        return None
    if any(word in text for word in (*GRIEVANCE_WORDS, *HELP_NOW_WORDS)):
        return None
    decision = kb.decide(text)
    return decision.entries[0] if decision.kind == "answer" else None
