"""Where drivers find hot water, medicine or a rest: the nearest stations from content/stations.yml."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from bureau.stations import Directory, distance_km

WHERE = re.compile(r"哪里|哪儿|哪有|哪个|附近|最近|在哪|多远|怎么走|有没有")
LOCATION_BUTTON = {"request_location": "📍 发送我的位置"}
UNVERIFIED_NOTE = "（站点信息待工作人员核实，出发前可拨打 12328 确认）"


def asks_where(text: str) -> bool:
    return bool(WHERE.search(text))


def ask_for_location(service: str | None) -> str:
    wanted = f"提供“{service}”的" if service else ""
    return f"请点下方按钮发送您的位置，我帮您找最近的{wanted}站点；也可以直接告诉我您在哪个镇、哪条路上。"


def nearby_text(directory: Directory, lat: float, lon: float, service: str | None, label: str, now: datetime) -> str:
    """The nearest stations for `service` with distance and whether they are open now, or an honest 'too far'."""
    if not directory.in_area(lat, lon):
        far = distance_km(lat, lon, directory.latitude, directory.longitude)
        return (
            f"您的位置距离{escape(directory.city)}约 {far:.0f} 公里，不在本局的服务范围内。"
            "路上需要帮助可以拨打 12328 交通运输服务监督热线，或当地的 12345 热线。"
        )
    found = directory.nearest(lat, lon, service, limit=3)
    if not found:
        return f"{escape(directory.city)}范围内暂时没有登记提供“{escape(service or '')}”的站点。需要帮助请回复“人工”。"
    wanted = f"提供“{escape(service)}”的" if service else ""
    lines = [f"离{escape(label)}最近的{wanted}地方："]
    unverified = False
    for index, (station, km) in enumerate(found, 1):
        state = "现在开放" if station.is_open(now, directory.tz) else "现在未开放"
        lines.append(
            f"{index}. <b>{escape(station.name)}</b>（约 {km:.1f} 公里，{state}，开放时间 {escape(station.hours_text)}）"
        )
        details = [f"地址：{escape(station.address)}"] if station.address else []
        if station.verified and station.phone:
            details.append(f"电话：{escape(station.phone)}")
        if station.reception_days:
            details.append(escape(station.reception_days))
        if details:
            lines.append("   " + "；".join(details))
        unverified = unverified or not station.verified
    if unverified:
        lines.append(UNVERIFIED_NOTE)
    lines.append("需要站里的人帮忙（比如送药、安排休息），请直接说“我在××站需要××”。")
    return "\n".join(lines)
