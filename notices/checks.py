"""A notice checked against the law: the cited articles exist, fit the facts, the fine lies in the range,
the printed appeal periods are not shorter than the law's; and whether an exemption list names the matter.

What the driver reads is worded as a check by a machine, never as a finding that the notice is wrong; what
could be an error is flagged for staff."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from notices.deadlines import LITIGATION_MONTHS, REVIEW_DAYS
from notices.fields import Citation, NoticeFields
from notices.law import Library, PenaltyArticle


class Verdict(StrEnum):
    ok = "ok"  # checked and consistent
    info = "info"  # could not be checked, or something the driver may want to know
    flag = "flag"  # possibly an error in the notice: staff should look


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    text: str  # Chinese, for the driver and for staff


def _existence(citation: Citation, library: Library) -> Finding:
    source = library.texts.source_of(citation.law)
    if source is None:
        return Finding(Verdict.info, f"{citation}：本平台未收录《{citation.law}》，无法核对该条。")
    if library.texts.article_text(source, citation.article) is not None:
        return Finding(Verdict.ok, f"{citation}：条文存在。")
    if library.texts.is_complete(source):
        return Finding(
            Verdict.flag,
            f"{citation}：本平台收录的《{citation.law}》全文中没有{citation.article}，"
            "可能是引用或识别有误，建议工作人员核对原件。",
        )
    return Finding(Verdict.info, f"{citation}：本平台收录的《{citation.law}》文本不全，未找到该条，无法核对。")


def _fit(rule: PenaltyArticle, fields: NoticeFields) -> list[Finding]:
    found: list[Finding] = []
    name = f"《{rule.law}》{rule.article}"
    facts = fields.facts or ""
    if facts and not any(word in facts for word in rule.about):
        found.append(
            Finding(
                Verdict.flag,
                f"{name}规定的是{'、'.join(rule.about[:3])}等事项，决定书认定的事实中未见相应内容，"
                "引用的条文与事实可能不对应，建议工作人员核对。",
            )
        )
    if fields.amount is not None:
        span = f"{rule.minimum}元至{rule.maximum}元" if rule.minimum else f"{rule.maximum}元以下"
        if rule.minimum <= fields.amount <= rule.maximum:
            found.append(Finding(Verdict.ok, f"罚款{fields.amount}元在{name}规定的幅度内（{span}）。"))
        else:
            found.append(
                Finding(
                    Verdict.flag,
                    f"罚款{fields.amount}元不在{name}规定的幅度内（{span}），"
                    "可能是决定书或识别有误，建议工作人员核对原件。",
                )
            )
    return found


def _exemption(rule: PenaltyArticle | None, fields: NoticeFields) -> Finding:
    exemption = rule.exemption if rule else None
    facts = fields.facts or ""
    if exemption and (not exemption.when or any(word in facts for word in exemption.when)):
        return Finding(
            Verdict.info,
            f"此类事项在交通运输部轻微违法行为免罚清单中（{exemption.item}：{exemption.name}），"
            "满足清单所列全部条件（如首次违法、及时改正、未造成危害后果）的，可以不予处罚，可向执法单位询问。",
        )
    return Finding(
        Verdict.info,
        "本平台取得的免罚清单条目（交通运输部清单第1、2项）不含此事项；清单其余条目和山东省清单的交通运输部分"
        "本平台尚未取得，是否适用请向执法单位询问。",
    )


def _periods(fields: NoticeFields) -> list[Finding]:
    found: list[Finding] = []
    if fields.review_days is not None and fields.review_days < REVIEW_DAYS:
        found.append(
            Finding(
                Verdict.flag,
                f"决定书写明的复议期限为{fields.review_days}日，短于《行政复议法》第二十条规定的六十日，"
                "建议工作人员核对。",
            )
        )
    if fields.litigation_months is not None and fields.litigation_months < LITIGATION_MONTHS:
        found.append(
            Finding(
                Verdict.flag,
                f"决定书写明的起诉期限为{fields.litigation_months}个月，短于《行政诉讼法》第四十六条规定的六个月，"
                "建议工作人员核对。",
            )
        )
    return found


def check(fields: NoticeFields, library: Library) -> list[Finding]:
    """Every finding on the notice, in the order the driver reads them."""
    found = [_existence(c, library) for c in (*fields.basis, *fields.violated)]
    rule = next((r for c in fields.basis if (r := library.penalty_article(c.law, c.article))), None)
    if rule is not None:
        found += _fit(rule, fields)
    elif fields.basis and fields.amount is not None:
        found.append(Finding(Verdict.info, "本平台未登记所引条文的罚款幅度，金额未核对。"))
    found.append(_exemption(rule, fields))
    return found + _periods(fields)
