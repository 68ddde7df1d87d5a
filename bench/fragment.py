"""A measurement's result as a Markdown fragment for docs/BENCHMARKS.md: printed, and kept in
bench/results/NAME.md (git-ignored)."""

from __future__ import annotations

import os

from .report import machine

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def publish(name: str, title: str, body: str, load: tuple[float, float, float]) -> str:
    """``load``: the load average when the measurement started: others' work on the machine."""
    busy = f"- load average when it started: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)"
    text = "\n".join([f"### {title}", "", body, "", "Machine:", "", *machine(), busy, ""])
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as handle:
        handle.write(text)
    print(text)
    return text
