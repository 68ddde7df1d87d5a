"""docs/benchmarks.png: full-backup and restore throughput, and peak memory, per tool and server."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt

from .report import MB, _groups, _median, problem, throughput

PANELS = (
    ("full backup: input MB/s", "full", throughput),
    ("restore: input MB/s", "restore", throughput),
    ("full backup: peak RSS MB (process tree)", "full", lambda rows: _median(rows, "peak_rss_bytes") / MB),
)


def draw(rows: list[dict], path: str) -> None:
    groups = {key: value for key, value in _groups(rows).items() if not any(problem(r) for r in value)}
    servers = list(dict.fromkeys(row["server"] for row in rows))
    tools = list(dict.fromkeys(row["tool"] for row in rows))
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(10, 3.2 * len(PANELS)), constrained_layout=True)
    width = 0.8 / len(servers)
    for axis, (title, step, value) in zip(axes, PANELS):
        for i, server in enumerate(servers):
            heights = [value(groups[server, t, step]) if (server, t, step) in groups else 0 for t in tools]
            axis.barh([y + i * width for y in range(len(tools))], heights, height=width, label=server)
        axis.set_yticks([y + width * (len(servers) - 1) / 2 for y in range(len(tools))], tools)
        axis.invert_yaxis()
        axis.set_title(title)
        axis.legend()
    figure.savefig(path, dpi=100)
    plt.close(figure)
