"""The station directory: a driver asks where the nearest hot water is, and whether the station is open now."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bureau.stations import (
    KINDS,
    SERVICES,
    Directory,
    Station,
    StationDataError,
    distance_km,
    load_stations,
    parse_hours,
    services_in,
)
from foundation.settings import PROJECT_ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
REAL_FILE = PROJECT_ROOT / "content" / "stations.yml"


def station(
    id: str, lat: float, lon: float, services: str = "热水", hours: str | list[str] = "00:00-24:00", **extra: Any
) -> Station:
    return Station(id, id, "enforcement_station", lat, lon, frozenset(services.split()), parse_hours(hours), **extra)


# Along one meridian a degree of latitude is about 111.2 km, so the distances are easy to check by hand.
DIRECTORY = Directory(
    city="测试市",
    latitude=36.9,
    longitude=121.5,
    radius_km=60,
    stations=(
        station("far", 37.2, 121.5, "热水 如厕"),
        station("near", 36.91, 121.5, "如厕", aliases=("近站",)),
        station("middle", 37.0, 121.5, "热水 法律咨询", aliases=("中站", "309检测站")),
    ),
    places={"夏村": (36.88, 121.58), "乳山口": (36.84, 121.46)},
)


def at(text: str) -> datetime:
    """A moment in Shanghai time; 2025-06-02 is a Monday."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_the_real_directory_loads_and_every_entry_still_needs_checking() -> None:
    directory = load_stations(REAL_FILE)
    assert directory.city == "乳山市"
    assert 8 <= len(directory.stations) <= 14
    assert {"夏村", "乳山口", "海阳所", "冯家", "育黎", "下初"} <= set(directory.places)
    assert {s.kind for s in directory.stations} == set(KINDS)
    assert not any(s.verified for s in directory.stations)
    assert all(directory.in_area(s.latitude, s.longitude) for s in directory.stations)
    assert all(s.services <= set(SERVICES) for s in directory.stations)


def test_the_real_directory_answers_a_driver_at_xiacun() -> None:
    directory = load_stations(REAL_FILE)
    lat, lon, label = directory.locate("我在夏村附近，哪里有热水") or (0, 0, "")
    assert label == "夏村"
    nearest = directory.nearest(lat, lon, "热水")
    assert nearest[0][0].name == "G309乳山超限检测站"
    assert [km for _, km in nearest] == sorted(km for _, km in nearest)
    assert directory.find("309检测站几点下班") == nearest[0][0]


def test_nearest_stations_come_first_with_their_distance() -> None:
    nearest = DIRECTORY.nearest(36.9, 121.5)
    assert [s.id for s, _ in nearest] == ["near", "middle", "far"]
    assert [round(km, 1) for _, km in nearest] == [1.1, 11.1, 33.4]


def test_limit_and_service_filter() -> None:
    assert [s.id for s, _ in DIRECTORY.nearest(36.9, 121.5, limit=1)] == ["near"]
    assert [s.id for s, _ in DIRECTORY.nearest(36.9, 121.5, "热水")] == ["middle", "far"]
    assert DIRECTORY.nearest(36.9, 121.5, "洗浴") == []


def test_haversine_distance_between_weihai_and_rushan() -> None:
    assert distance_km(37.51, 122.12, 36.92, 121.54) == pytest.approx(83, abs=3)
    assert distance_km(36.9, 121.5, 36.9, 121.5) == 0


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2025-06-02 23:00", True),  # Monday night, after the start
        ("2025-06-03 02:00", True),  # early Tuesday, the tail of Monday's range
        ("2025-06-02 12:00", False),
        ("2025-06-02 06:00", False),  # the end is not included
        ("2025-06-02 20:00", True),
    ],
)
def test_a_night_range_runs_past_midnight(moment: str, open_: bool) -> None:
    assert station("night", 36.9, 121.5, hours="20:00-06:00").is_open(at(moment), SHANGHAI) is open_


def test_always_open() -> None:
    always = station("always", 36.9, 121.5)
    assert all(
        always.is_open(at(f"2025-06-0{day} {hour:02d}:59"), SHANGHAI) for day in range(1, 8) for hour in range(24)
    )


def test_weekday_rules_belong_to_the_day_a_range_starts() -> None:
    friday_night = station("fri", 36.9, 121.5, hours="周五 20:00-06:00")
    assert friday_night.is_open(at("2025-06-06 23:00"), SHANGHAI)  # Friday
    assert friday_night.is_open(at("2025-06-07 02:00"), SHANGHAI)  # Saturday morning, Friday's night
    assert not friday_night.is_open(at("2025-06-07 23:00"), SHANGHAI)  # Saturday night
    assert not friday_night.is_open(at("2025-06-06 02:00"), SHANGHAI)  # Friday morning is Thursday's night


def test_office_hours_with_a_lunch_break_on_working_days() -> None:
    office = station("office", 36.9, 121.5, hours=["周一至周五 08:30-11:30", "周一至周五 13:30-17:30"])
    assert office.is_open(at("2025-06-04 09:00"), SHANGHAI)  # Wednesday
    assert not office.is_open(at("2025-06-04 12:00"), SHANGHAI)
    assert not office.is_open(at("2025-06-07 09:00"), SHANGHAI)  # Saturday


def test_a_moment_in_utc_is_read_in_shanghai_time() -> None:
    office = station("office", 36.9, 121.5, hours="08:30-17:30")
    assert office.is_open(datetime(2025, 6, 2, 1, 0, tzinfo=UTC), SHANGHAI)  # 09:00 in Shanghai
    assert not office.is_open(datetime(2025, 6, 2, 12, 0, tzinfo=UTC), SHANGHAI)  # 20:00 in Shanghai


def test_a_location_in_beijing_is_outside_the_city() -> None:
    assert not DIRECTORY.in_area(39.9, 116.4)
    assert DIRECTORY.in_area(36.91, 121.52)
    assert not load_stations(REAL_FILE).in_area(39.9, 116.4)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("我在夏村附近", "夏村"),
        ("快到乳山口镇了", "乳山口"),
        ("刚过309检测站", "middle"),
        ("近站这边有厕所吗", "near"),
    ],
)
def test_locate_a_place_or_station_named_in_text(text: str, label: str) -> None:
    found = DIRECTORY.locate(text)
    assert found is not None and found[2] == label


def test_locate_gives_the_coordinates_and_nothing_for_unknown_places() -> None:
    assert DIRECTORY.locate("我在夏村") == (36.88, 121.58, "夏村")
    assert DIRECTORY.locate("我在北京") is None
    assert DIRECTORY.find("我在夏村") is None


def test_a_station_alias_wins_over_a_shorter_place_name() -> None:
    directory = load_stations(REAL_FILE)
    found = directory.locate("我在乳山口站门口")
    assert found is not None and found[2] == "乳山口交通运输执法站"


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("哪里有开水", ("热水",)),
        ("想烧水泡面", ("热水",)),
        ("有感冒药吗，划了个口子要创可贴", ("应急药品",)),
        ("想睡一会，找个地方歇脚", ("临时休息",)),
        ("我要找律师", ("法律咨询",)),
        ("附近有充电桩吗", ("充电",)),
        ("茅房在哪", ("如厕",)),
        ("卫生间", ("如厕",)),
        ("吃饭洗澡", ("餐饮", "洗浴")),
        ("车爆了要补胎，顺便修车", ("维修",)),
        ("你好", ()),
    ],
)
def test_driver_words_map_to_services(text: str, services: tuple[str, ...]) -> None:
    assert services_in(text) == services


GOOD_ENTRY = """
  - id: {id}
    name: {name}
    kind: weigh_station
    address: G309
    latitude: 36.88
    longitude: 121.58
    hours: "{hours}"
    services: [{service}]
    phone: "0631-66XXXXX"
    unit: 市交通运输综合执法大队
"""


def write_directory(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "stations.yml"
    head = "city: {name: 乳山市, latitude: 36.92, longitude: 121.54, radius_km: 60}\nstations:"
    path.write_text(head + "".join(entries), encoding="utf-8")
    return path


def entry(id: str = "x309", name: str = "检测站", hours: str = "00:00-24:00", service: str = "热水") -> str:
    return GOOD_ENTRY.format(id=id, name=name, hours=hours, service=service)


def test_a_good_file_loads(tmp_path: Path) -> None:
    directory = load_stations(write_directory(tmp_path, entry()))
    assert [s.id for s in directory.stations] == ["x309"]


@pytest.mark.parametrize(
    ("bad_entry", "complaint"),
    [
        (entry().replace("    latitude: 36.88\n    longitude: 121.58\n", ""), "missing latitude, longitude"),
        (entry().replace("latitude: 36.88", "latitude: 136.88"), "latitude"),
        (entry(service="桑拿"), "unknown service 桑拿"),
        (entry(hours="25:00-26:00"), "bad hours"),
        (entry(hours="8点到5点"), "bad hours"),
        (entry(hours="周八 08:00-17:00"), "bad weekdays"),
        (entry(hours="08:00-08:00"), "empty range"),
        (entry().replace("kind: weigh_station", "kind: toll_gate"), "unknown kind"),
    ],
)
def test_a_malformed_entry_is_refused_naming_file_and_entry(tmp_path: Path, bad_entry: str, complaint: str) -> None:
    path = write_directory(tmp_path, bad_entry)
    with pytest.raises(StationDataError) as error:
        load_stations(path)
    assert str(path) in str(error.value)
    assert "x309" in str(error.value)
    assert complaint in str(error.value)


def test_a_duplicate_id_is_refused(tmp_path: Path) -> None:
    path = write_directory(tmp_path, entry(name="甲站"), entry(name="乙站"))
    with pytest.raises(StationDataError, match=r"x309.*duplicate id") as error:
        load_stations(path)
    assert str(path) in str(error.value)


def test_a_name_shared_by_two_stations_is_refused(tmp_path: Path) -> None:
    path = write_directory(tmp_path, entry(id="a"), entry(id="b"))
    with pytest.raises(StationDataError, match=r"\(b\).*duplicate name '检测站'"):
        load_stations(path)


def test_a_broken_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stations.yml"
    path.write_text("city: [unclosed", encoding="utf-8")
    with pytest.raises(StationDataError, match="stations.yml"):
        load_stations(path)
