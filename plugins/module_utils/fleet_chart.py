# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report's charts as inline SVG: bytes backed up per host and day, and each host's
stalest set's age. No library and no network: the report must open anywhere, offline.

Every name drawn comes from S3 keys, so every one is escaped.
"""

from __future__ import annotations

import datetime
from html import escape

WIDTH, HEIGHT = 860, 300
LEFT, RIGHT, TOP, BOTTOM = 80, 50, 20, 40
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_DAY = datetime.timedelta(days=1)


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def human_bytes(size: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while size >= 1024 and power < len(units) - 1:
        size, power = size / 1024, power + 1
    return f"{size:.0f} B" if power == 0 else f"{size:.1f} {units[power]}"


def human_age(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _frame(label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(label)}"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">' + "".join(body) + "</svg>"
    )


def _axis_text(x: float, y: float, text: str, anchor: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="tick">{escape(text)}</text>'


def daily_bytes(history_by_host: dict[str, list[dict]]) -> dict[str, list[tuple[datetime.date, int, int]]]:
    """Per host, (day, bytes, backups) of the backups made each UTC day, oldest first."""
    per_host = {}
    for host, history in history_by_host.items():
        days: dict[datetime.date, list[int]] = {}
        for backup in history:
            day = datetime.datetime.strptime(backup["time"], "%Y-%m-%dT%H:%M:%SZ").date()
            days.setdefault(day, []).append(backup["bytes"])
        per_host[host] = [(day, sum(sizes), len(sizes)) for day, sizes in sorted(days.items())]
    return per_host


def size_chart(history_by_host: dict[str, list[dict]]) -> str:
    """A line per host: the bytes its backups stored each day."""
    series = daily_bytes(history_by_host)
    days = [day for points in series.values() for day, _size, _count in points]
    if not days:
        return _frame("No backups to chart", [_axis_text(WIDTH / 2, HEIGHT / 2, "no backups", "middle")])
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    top = max(size for points in series.values() for _day, size, _count in points) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: datetime.date) -> float:
        return LEFT + plot_w * (day - first).days / span

    def y(size: float) -> float:
        return TOP + plot_h * (1 - size / top)

    body = [f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}"/>']
    for step in range(5):
        size = top * step / 4
        body.append(_axis_text(LEFT - 6, y(size) + 4, human_bytes(size), "end"))
    for step in range(min(span, 4) + 1):
        day = first + _DAY * round(span * step / min(span, 4))
        body.append(_axis_text(x(day), HEIGHT - 12, day.isoformat(), "middle"))
    for index, (host, points) in enumerate(sorted(series.items())):
        coordinates = " ".join(f"{x(day):.1f},{y(size):.1f}" for day, size, _count in points)
        marks = "".join(
            f'<circle cx="{x(day):.1f}" cy="{y(size):.1f}" r="3"><title>'
            f"{escape(host)} {day.isoformat()}: {count} backup(s), {human_bytes(size)}</title></circle>"
            for day, size, count in points
        )
        body.append(
            f'<g class="series" data-host="{escape(host)}" stroke="{colour(index)}" fill="{colour(index)}">'
            f'<polyline fill="none" points="{coordinates}"/>{marks}</g>'
        )
    return _frame("Bytes backed up per host and day", body)


def age_chart(age_by_host: dict[str, int | None], limit_s: int) -> str:
    """A bar per host: the age of its stalest set's newest backup, against ``limit_s``."""
    hosts = sorted(age_by_host)
    known = [age for age in age_by_host.values() if age is not None]
    longest = max([*known, limit_s]) * 1.1
    row = (HEIGHT - TOP - BOTTOM) / max(len(hosts), 1)
    plot_w = WIDTH - LEFT - RIGHT - 100

    def x(age: float) -> float:
        return LEFT + 100 + plot_w * age / longest

    body = []
    for index, host in enumerate(hosts):
        age = age_by_host[host]
        top = TOP + row * index
        label = escape(host)
        body.append(_axis_text(LEFT + 94, top + row / 2 + 4, host, "end"))
        if age is None:
            body.append(_axis_text(x(0) + 6, top + row / 2 + 4, "a set without any backup", "start"))
            continue
        state = "stale" if age > limit_s else "fresh"
        body.append(
            f'<rect class="bar {state}" data-host="{label}" x="{x(0):.1f}" y="{top + row * 0.2:.1f}"'
            f' width="{x(age) - x(0):.1f}" height="{row * 0.6:.1f}"><title>{label}: {human_age(age)}</title></rect>'
        )
    body.append(
        f'<line class="limit" x1="{x(limit_s):.1f}" y1="{TOP}" x2="{x(limit_s):.1f}" y2="{HEIGHT - BOTTOM}"/>'
        + _axis_text(x(limit_s), HEIGHT - BOTTOM + 16, f"{human_age(limit_s)} limit", "middle")
    )
    return _frame("Age of each host's stalest backup", body)
