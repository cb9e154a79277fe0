"""Routing from the staff-edited table, with the rule of avoidance."""

from pathlib import Path

import pytest

from complaints.config import PROJECT_ROOT
from complaints.routing import RoutingTableError, load_routing

TABLE = load_routing(PROJECT_ROOT / "data" / "routing.yml")


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("检测站的执法人员跟我要烟，不给就刁难", "局政工科"),
        ("执法队在G309上罚款态度很差还骂人", "局政策法规科"),
        ("罚了200块没给开票据", "局财务审计科"),
        ("货主拖欠运费三个月了", "局综合运输科"),
        ("S202路面一个大坑差点翻车", "局规划基建科"),
    ],
)
def test_complaints_reach_the_right_unit(text: str, unit: str) -> None:
    assert TABLE.route("complaint", text).unit == unit


def test_complaint_about_enforcement_never_goes_to_the_enforcement_brigade() -> None:
    assert TABLE.route("complaint", "综合执法大队的人执法不规范").unit != "市交通运输综合执法大队"


def test_service_requests_go_to_stations_or_the_service_centre() -> None:
    assert TABLE.route("service_request", "检测站有热水吗").unit == "市交通运输综合执法大队"
    assert TABLE.route("service_request", "运输证年审办到哪了").unit == "市交通运输事务服务中心"


def test_a_rule_that_lets_a_unit_handle_complaints_about_itself_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yml"
    bad.write_text(
        "units: [甲]\ndefaults: {complaint: 甲}\nrules:\n"
        "  - {category: x, kinds: [complaint], unit: 甲, about: 甲, keywords: [a]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RoutingTableError, match=r"routing.yml: rules\[0\].*avoidance"):
        load_routing(bad)


def test_unknown_unit_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yml"
    bad.write_text("units: [甲]\ndefaults: {complaint: 乙}\n", encoding="utf-8")
    with pytest.raises(RoutingTableError, match="乙"):
        load_routing(bad)
