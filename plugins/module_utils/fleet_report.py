# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report: what ``bucket_summary.describe_bucket`` found, as one self-contained HTML page (a
table per host, a chart of bytes per day and of ages) to open offline or mail to a person.

Host prefixes, set names and problems come from S3 keys, which anyone who may write to the bucket
chooses: every one is escaped, and the page runs no script.
"""

from __future__ import annotations

import datetime
from html import escape
from string import Template

from . import naming
from .fleet_chart import age_chart, colour, human_age, human_bytes, size_chart

STALE_AFTER_S = 26 * 3600  # the default of the role's S3napbackBackupTooOld alert

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>$title</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; }
td.time, td.age, td.number { white-space: nowrap; }
td.name, td.problems { word-break: break-all; }
tr.stale td.age, tr.problem td.problems { background: #fdd; }
.legend span { display: inline-block; margin-right: 1.5em; }
.legend i { display: inline-block; width: 1em; height: 0.6em; margin-right: 0.3em; }
svg .tick { font-size: 11px; fill: #555; }
svg .axis { stroke: #888; }
svg polyline { stroke-width: 2; }
svg .bar.fresh { fill: #2ca02c; }
svg .bar.stale { fill: #d62728; }
svg .limit { stroke: #d62728; stroke-dasharray: 4 3; }
</style>
</head>
<body>
<h1>$title</h1>
<p class="summary">$summary</p>
<h2>Bytes backed up per day</h2>
$size_chart
<p class="legend">$legend</p>
<h2>Age of each host's stalest backup</h2>
$age_chart
$tables
</body>
</html>
""")


def _hosts(sets: list[dict]) -> dict[str, list[dict]]:
    hosts: dict[str, list[dict]] = {}
    for described in sets:
        hosts.setdefault(described["prefix"], []).append(described)
    return hosts


def _row(described: dict) -> str:
    newest = described["newest"]
    classes = []
    if newest is None or newest["age_s"] > STALE_AFTER_S:
        classes.append("stale")
    if described["problems"]:
        classes.append("problem")
    problems = "<br>".join(escape(problem) for problem in described["problems"])
    cells = [
        ("name", escape(described["name"])),
        ("kind", escape(newest["kind"]) if newest else "none"),
        ("time", escape(newest["time"]) if newest else ""),
        ("age", human_age(newest["age_s"]) if newest else "never"),
        ("bytes number", f'<span title="{described["bytes"]} bytes">{human_bytes(described["bytes"])}</span>'),
        ("chains number", str(len(described["chains"]))),
        ("backups number", str(described["backups"])),
        ("problems", problems),
    ]
    row = "".join(f'<td class="{name}">{value}</td>' for name, value in cells)
    return f'<tr class="set {" ".join(classes)}" data-bytes="{described["bytes"]}">{row}</tr>'


def _table(host: str, sets: list[dict]) -> str:
    heading = "<tr><th>Set</th><th>Newest</th><th>Taken</th><th>Age</th><th>Size</th><th>Chains</th>"
    heading += "<th>Backups</th><th>Problems</th></tr>"
    rows = "".join(_row(described) for described in sets)
    classes: dict[str, int] = {}
    for described in sets:
        for name, size in described.get("bytes_by_storage_class", {}).items():
            classes[name] = classes.get(name, 0) + size
    stored = ", ".join(f"{escape(name)} {human_bytes(size)}" for name, size in sorted(classes.items()))
    return (
        f'<section class="host" data-host="{escape(host)}"><h2>{escape(host)}</h2>'
        f'<p class="storage-classes">{stored}</p>'
        f"<table><thead>{heading}</thead><tbody>{rows}</tbody></table></section>"
    )


def _stalest(sets: list[dict]) -> int | None:
    ages = [described["newest"]["age_s"] for described in sets if described["newest"]]
    return max(ages) if len(ages) == len(sets) else None


def render(description: dict, bucket: str, now: datetime.datetime) -> str:
    """The report of ``description`` (what ``describe_bucket`` returns for ``bucket``) at ``now``."""
    hosts = _hosts(description["sets"])
    history = {host: [backup for s in sets for backup in s["history"]] for host, sets in hosts.items()}
    legend = "".join(
        f'<span><i style="background: {colour(index)}"></i>{escape(host)}</span>'
        for index, host in enumerate(sorted(hosts))
    )
    problems = len(description["problems"])
    classes = ", ".join(
        f"{escape(name)} {human_bytes(size)}" for name, size in description.get("bytes_by_storage_class", {}).items()
    )
    summary = (
        f"{len(hosts)} host(s), {len(description['sets'])} set(s), {human_bytes(description['bytes'])} stored"
        f" ({classes or 'nothing'}), {problems} problem(s); as of {naming.iso(now)}."
    )
    return _PAGE.substitute(
        title=escape(f"s3napback fleet report: {bucket}"),
        summary=summary,
        size_chart=size_chart(history),
        legend=legend,
        age_chart=age_chart({host: _stalest(sets) for host, sets in hosts.items()}, STALE_AFTER_S),
        tables="\n".join(_table(host, sets) for host, sets in sorted(hosts.items())),
    )
