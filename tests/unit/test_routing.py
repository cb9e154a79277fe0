"""Routing by meaning from the staff-edited table: keywords that override, avoidance for every unit, 122."""

from pathlib import Path

import pytest

from bureau.referrals import load_referrals
from bureau.routing import RoutingTableError, load_routing
from foundation.settings import PROJECT_ROOT, load_settings

CONTENT = PROJECT_ROOT / "content"
TABLE = load_routing(
    CONTENT / "routing.yml", load_settings().embedding_cache, set(load_referrals(CONTENT / "referrals.yml"))
)
UNITS = "units:\n  - {name: 甲, oversight: 乙}\n  - {name: 乙, oversight: 甲}\ndefaults: {complaint: 甲}\n"


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("检测站的执法人员跟我要烟，不给就刁难", "局政工科"),
        ("执法队在G309上罚款态度很差还骂人", "局政策法规科"),
        ("罚了200块没给开票据", "局财务审计科"),
        ("G309治超站执法人员罚款不给票据，态度还很凶", "局财务审计科"),  # the receipt keyword overrides
        ("货主拖欠运费三个月了", "局综合运输科"),
        ("S202路面一个大坑差点翻车", "局规划基建科"),
        ("中巴车上站满了人，过道都挤不下", "局安全监督科"),  # no keyword of the old table: meaning decides
    ],
)
def test_complaints_reach_the_right_unit(text: str, unit: str) -> None:
    assert TABLE.route("complaint", text).unit == unit


def test_a_driver_mentioned_in_passing_does_not_make_it_a_transport_market_case() -> None:
    """The old table sent this to 综合运输科 because it contains 司机."""
    assert TABLE.route("complaint", "公交车刹车坏了司机还在开，太危险了").unit == "局安全监督科"


@pytest.mark.parametrize("kind", ["complaint", "service_request"])
def test_traffic_police_matters_are_referred_to_122(kind: str) -> None:
    route = TABLE.route(kind, "交警罚款扣分不合理")
    assert route.referral == "122"


def test_a_complaint_naming_one_of_our_units_is_not_referred_even_if_it_sounds_like_police() -> None:
    assert TABLE.route("complaint", "安监科检查走过场，报的隐患没人来看").referral is None


@pytest.mark.parametrize(
    ("text", "about"),
    [
        ("我要投诉财务审计科，退罚款拖了半年", "局财务审计科"),
        ("综合执法大队的人执法不规范", "市交通运输综合执法大队"),
        ("事务服务中心窗口的人办证态度很差，让我跑了五趟", "市交通运输事务服务中心"),
        ("政工科接到举报根本不处理", "局政工科"),
        ("局办公室的电话永远打不通", "局办公室"),
    ],
)
def test_no_unit_handles_a_complaint_that_names_it(text: str, about: str) -> None:
    route = TABLE.route("complaint", text)
    assert route.about == about and route.unit != about


@pytest.mark.parametrize("unit", [u for u in TABLE.units])
def test_avoidance_holds_for_every_unit(unit: str) -> None:
    route = TABLE.route("complaint", f"我要投诉{unit}的工作人员，办事拖拉")
    assert route.unit != unit and route.about == unit


def test_service_requests_go_to_stations_or_the_service_centre() -> None:
    assert TABLE.route("service_request", "检测站有热水吗").unit == "市交通运输综合执法大队"
    assert TABLE.route("service_request", "运输证年审办到哪了").unit == "市交通运输事务服务中心"


def test_a_category_that_lets_a_unit_handle_complaints_about_itself_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yml"
    bad.write_text(
        UNITS + "categories:\n  - {category: x, kinds: [complaint], unit: 甲, about: 甲, examples: [a]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RoutingTableError, match=r"routing.yml: categories\[0\].*avoidance"):
        load_routing(bad)


def test_a_unit_overseeing_itself_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yml"
    bad.write_text("units:\n  - {name: 甲, oversight: 甲}\ndefaults: {complaint: 甲}\n", encoding="utf-8")
    with pytest.raises(RoutingTableError, match=r"units\[0\] \(甲\).*oversees itself"):
        load_routing(bad)


@pytest.mark.parametrize(
    ("category", "problem"),
    [
        ("{category: x, kinds: [complaint], examples: [a]}", "either a unit or a referral"),
        ("{category: x, kinds: [complaint], referral: '999', examples: [a]}", "unknown referral '999'"),
        ("{category: x, kinds: [complaint], unit: 丙, examples: [a]}", "unknown unit '丙'"),
        ("{category: x, kinds: [complaint], unit: 甲}", "missing examples"),
    ],
)
def test_a_bad_category_is_named(tmp_path: Path, category: str, problem: str) -> None:
    bad = tmp_path / "routing.yml"
    bad.write_text(UNITS + f"categories:\n  - {category}\n", encoding="utf-8")
    with pytest.raises(RoutingTableError, match=rf"categories\[0\].*{problem}"):
        load_routing(bad, referrals={"122"})


def test_unknown_unit_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yml"
    bad.write_text("units: [甲]\ndefaults: {complaint: 乙}\n", encoding="utf-8")
    with pytest.raises(RoutingTableError, match="乙"):
        load_routing(bad)
