"""Station directory: enforcement and weigh stations, service areas and 司机之家, from content/stations.yml."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

SERVICES = ("热水", "应急药品", "临时休息", "法律咨询", "充电", "如厕", "停车", "餐饮", "洗浴", "维修")
KINDS = ("enforcement_station", "weigh_station", "service_area", "drivers_home")
EARTH_RADIUS_KM = 6371.0088
type Nearby = tuple[Station, float]

# Words drivers actually type, mapped to the service names of the directory.
_SERVICE_WORDS: dict[str, tuple[str, ...]] = {
    "热水": ("热水", "开水", "烧水", "喝水", "泡面"),
    "应急药品": ("药", "创可贴", "急救"),
    "临时休息": ("休息", "睡一会", "睡会", "歇脚", "歇会", "眯一会"),
    "法律咨询": ("律师", "法律"),
    "充电": ("充电",),
    "如厕": ("厕所", "卫生间", "茅房", "如厕", "洗手间", "上个厕"),
    "停车": ("停车", "停一下车"),
    "餐饮": ("吃饭", "餐饮", "饭菜", "热饭"),
    "洗浴": ("洗澡", "洗浴", "淋浴", "冲个澡"),
    "维修": ("修车", "补胎", "维修", "换胎"),
}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RANGE = re.compile(r"^(?:(?P<days>\S+)\s+)?(?P<sh>\d{1,2}):(?P<sm>\d{2})-(?P<eh>\d{1,2}):(?P<em>\d{2})$")
_REQUIRED = ("id", "name", "kind", "address", "latitude", "longitude", "hours", "services", "phone", "unit")


class StationDataError(ValueError):
    """content/stations.yml is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class OpeningRange:
    """Minutes `start`-`end` on `days` (Monday 0); a range past midnight belongs to the day it starts on."""

    days: frozenset[int]
    start: int
    end: int

    def contains(self, weekday: int, minute: int) -> bool:
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        return (weekday in self.days and minute >= self.start) or ((weekday - 1) % 7 in self.days and minute < self.end)


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    kind: str
    latitude: float
    longitude: float
    services: frozenset[str]
    hours: tuple[OpeningRange, ...]
    address: str = ""
    phone: str = ""
    unit: str = ""
    aliases: tuple[str, ...] = ()
    reception_days: str | None = None
    verified: bool = False
    hours_text: str = ""  # the opening hours as staff wrote them, shown to drivers

    def is_open(self, moment: datetime, tz: tzinfo) -> bool:
        """Whether the station is open at `moment`, read in `tz` (a naive moment is taken as already local)."""
        local = moment.astimezone(tz) if moment.tzinfo else moment
        return any(r.contains(local.weekday(), local.hour * 60 + local.minute) for r in self.hours)

    def next_opening(self, moment: datetime, tz: tzinfo) -> datetime | None:
        """`moment` if open, else the first minute it opens within a week (None: never open)."""
        start = moment.replace(second=0, microsecond=0)
        for minutes in range(0, 7 * 24 * 60 + 1, 5):
            candidate = start + timedelta(minutes=minutes)
            if self.is_open(candidate, tz):
                return moment if minutes == 0 else candidate
        return None


@dataclass(frozen=True)
class Directory:
    city: str
    latitude: float
    longitude: float
    radius_km: float
    stations: tuple[Station, ...]
    places: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def nearest(self, lat: float, lon: float, service: str | None = None, limit: int = 3) -> list[Nearby]:
        """Stations (offering `service`, if given) nearest to a point, with their distance in km."""
        offering = [s for s in self.stations if service is None or service in s.services]
        found = [(s, distance_km(lat, lon, s.latitude, s.longitude)) for s in offering]
        return sorted(found, key=lambda pair: pair[1])[:limit]

    def in_area(self, lat: float, lon: float) -> bool:
        return distance_km(lat, lon, self.latitude, self.longitude) <= self.radius_km

    def find(self, text: str) -> Station | None:
        """The station whose name or alias appears in `text` (the longest match wins)."""
        hits = [(len(n), s) for s in self.stations for n in (s.name, *s.aliases) if n in text]
        return max(hits, key=lambda hit: hit[0])[1] if hits else None

    def locate(self, text: str) -> tuple[float, float, str] | None:
        """A point named in `text`: a station name or alias, or a gazetteer place; (lat, lon, label)."""
        named = [(n, 1, (s.latitude, s.longitude, s.name)) for s in self.stations for n in (s.name, *s.aliases)]
        named += [(name, 0, (lat, lon, name)) for name, (lat, lon) in self.places.items()]
        hits = [((len(name), rank), point) for name, rank, point in named if name in text]
        # The longest name wins (乳山口站 over 乳山口); on a tie, a station over a place.
        return max(hits, key=lambda hit: hit[0])[1] if hits else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def services_in(text: str) -> tuple[str, ...]:
    """The services a driver asks for in `text`, in directory order: 有开水吗 → ("热水",)."""
    return tuple(s for s, words in _SERVICE_WORDS.items() if any(w in text for w in words))


def _parse_days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in re.split(r"[、,，]", spec):
        ends = re.fullmatch(r"周(.)(?:(?:至|-|~)周(.))?", part)
        if not ends or any(c and c not in _WEEKDAYS for c in ends.groups()):
            raise ValueError(f"bad weekdays {spec!r} (write 周一至周五, 周三 or 每天)")
        first, last = _WEEKDAYS[ends[1]], _WEEKDAYS[ends[2] or ends[1]]
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def parse_hours(value: str | Iterable[str]) -> tuple[OpeningRange, ...]:
    """ "08:30-17:30", "20:00-06:00", "周一至周五 08:30-17:30", or a list of these; ValueError if malformed."""
    return tuple(_parse_range(str(entry)) for entry in ([value] if isinstance(value, str) else value))


def _parse_range(entry: str) -> OpeningRange:
    match = _RANGE.match(entry.strip())
    if not match:
        raise ValueError(f"bad hours {entry!r} (write HH:MM-HH:MM, optionally after weekdays)")
    start, end = int(match["sh"]) * 60 + int(match["sm"]), int(match["eh"]) * 60 + int(match["em"])
    if max(match["sm"], match["em"]) > "59" or start >= 24 * 60 or end > 24 * 60 or start == end:
        raise ValueError(f"bad hours {entry!r}: no such time, or an empty range (always open is 00:00-24:00)")
    every_day = match["days"] in (None, "每天", "每日")
    return OpeningRange(frozenset(range(7)) if every_day else _parse_days(match["days"]), start, end)


def _point(raw: Mapping[str, Any], where: str) -> tuple[float, float]:
    return _coordinate(raw, "latitude", 90, where), _coordinate(raw, "longitude", 180, where)


def _coordinate(raw: Mapping[str, Any], name: str, bound: int, where: str) -> float:
    value = raw.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not -bound <= value <= bound:
        raise StationDataError(f"{where}: {name} missing or out of range: {value!r}")
    return float(value)


def _parse_station(entry: object, index: int, path: Path) -> Station:
    raw: Mapping[str, Any] = entry if isinstance(entry, Mapping) else {}
    where = f"{path}: stations[{index}] ({raw.get('id', 'no id')})"
    if missing := [name for name in _REQUIRED if raw.get(name) in (None, "", [])]:
        raise StationDataError(f"{where}: missing {', '.join(missing)}")
    if raw["kind"] not in KINDS:
        raise StationDataError(f"{where}: unknown kind {raw['kind']!r} (one of {', '.join(KINDS)})")
    services = frozenset(map(str, raw["services"]))
    if unknown := ", ".join(str(s) for s in services if s not in SERVICES):
        raise StationDataError(f"{where}: unknown service {unknown} (one of {'、'.join(SERVICES)})")
    lat, lon = _point(raw, where)
    try:
        hours = parse_hours(raw["hours"])
    except ValueError as exc:
        raise StationDataError(f"{where}: {exc}") from exc
    fields: dict[str, Any] = {key: str(raw[key]) for key in ("id", "name", "kind", "address", "phone", "unit")}
    aliases = tuple(str(a) for a in raw.get("aliases") or ())
    optional: dict[str, Any] = {"reception_days": raw.get("reception_days"), "verified": raw.get("verified") is True}
    optional["hours_text"] = "，".join(map(str, raw["hours"])) if isinstance(raw["hours"], list) else str(raw["hours"])
    return Station(**fields, **optional, latitude=lat, longitude=lon, services=services, hours=hours, aliases=aliases)


def load_stations(path: Path) -> Directory:
    """Read and check the directory; StationDataError names the file and the entry at fault."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StationDataError(f"{path}: {exc}") from exc
    city = raw.get("city") if isinstance(raw, dict) else None
    if not isinstance(city, dict) or not city.get("name") or not isinstance(city.get("radius_km"), int | float):
        raise StationDataError(f"{path}: city: needs name, latitude, longitude and radius_km")
    centre = _point(city, f"{path}: city")
    places = {str(name): _point(p, f"{path}: places.{name}") for name, p in (raw.get("places") or {}).items()}
    stations = tuple(_parse_station(s, i, path) for i, s in enumerate(raw.get("stations") or ()))
    seen: dict[str, Station] = {}
    for station in stations:
        for key in (f"id {station.id!r}", *(f"name {n!r}" for n in {station.name, *station.aliases})):
            if (first := seen.setdefault(key, station)) is not station:
                raise StationDataError(f"{path}: stations ({station.id}): duplicate {key}, also in {first.name}")
    return Directory(str(city["name"]), *centre, float(city["radius_km"]), stations, places)
