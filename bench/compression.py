"""``make bench-compression``: the compressor's level and job size, chosen by measurement.

Writes the data set as one tar file (the stream the engine compresses), reads it once into the page
cache, then compresses it with each setting in turn, ROUNDS times in an order that reverses every
round: the engine's own zstd command at levels 1 to 4 (2 MiB jobs, what ships), and at level 3 with
zstd's own job size (what ``zstd -T0`` in the hand-rolled pipe runs). A first, unmeasured round
counts each setting's output (``| wc -c``: output sizes do not vary); the measured ones write it to
/dev/null and take the wall time, the CPU time and the peak RSS of zstd's process tree (with the
shell that starts it, a few milliseconds and 2 MB). Prints a Markdown fragment, writes it to
bench/results/compression.md, exits 1 when a run fails.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass

from ansible_collections.s3napback.s3napback.plugins.module_utils.compression import COMPRESSORS

from .fragment import publish
from .measure import Measurement, run_measured
from .run import alternated, data_set, data_set_parser, parse_size

MB = 1e6


@dataclass(frozen=True)
class Setting:
    name: str
    argv: tuple[str, ...]


def settings() -> list[Setting]:
    zstd = COMPRESSORS["zstd"]
    found = []
    for level in range(1, 5):
        shipped = ", the default" if level == zstd.default_level else ""
        found.append(Setting(f"level {level}, 2 MiB jobs{shipped}", tuple(zstd.stage(level).argv)))
    own_jobs = tuple(arg for arg in zstd.stage(None).argv if not arg.startswith("-B"))
    found.append(Setting(f"level {zstd.default_level}, zstd's own job size", own_jobs))
    return found


def _run(setting: Setting, tar: str, output: str) -> Measurement:
    result = run_measured(["sh", "-c", f"{shlex.join(setting.argv)} < {shlex.quote(tar)} {output}"])
    if result.returncode != 0:
        raise RuntimeError(f"{setting.name}: exit {result.returncode}: {result.stderr.strip()[-300:]}")
    return result


@dataclass
class Measured:
    input_bytes: int
    output_bytes: dict[Setting, int]
    runs: dict[Setting, list[Measurement]]


def measure(source: str, tar: str, rounds: int) -> Measured:
    subprocess.run(["tar", "-C", source, "-cf", tar, "."], check=True)
    try:
        sizes = {setting: int(_run(setting, tar, "| wc -c").stdout) for setting in settings()}  # and the page cache
        runs: dict[Setting, list[Measurement]] = {setting: [] for setting in sizes}
        for round_number in range(rounds):
            for setting in alternated(list(runs), round_number):
                runs[setting].append(_run(setting, tar, "> /dev/null"))
                print(f"round {round_number} {setting.name}: {runs[setting][-1].cpu_s:.2f} s CPU", file=sys.stderr)
        return Measured(os.path.getsize(tar), sizes, runs)
    finally:
        os.remove(tar)


def render(measured: Measured, rounds: int) -> str:
    lines = [
        "| setting | command | output MB | of the input | CPU s, median (min-max) | wall s, median | peak RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for setting, results in measured.runs.items():
        output, cpu = measured.output_bytes[setting], [r.cpu_s for r in results]
        lines.append(
            f"| {setting.name} | `{shlex.join(setting.argv)}` | {output / MB:.1f} "
            f"| {output / measured.input_bytes:.1%} "
            f"| {statistics.median(cpu):.2f} ({min(cpu):.2f}-{max(cpu):.2f}) "
            f"| {statistics.median(r.wall_s for r in results):.2f} "
            f"| {max(r.peak_rss_bytes for r in results) / MB:.0f} |"
        )
    lines += [
        "",
        f"The data set as one tar stream of {measured.input_bytes / MB:.0f} MB, read from the page cache, "
        f"compressed to /dev/null; {rounds} rounds after one that counted the output, the order reversed every "
        "other round. CPU and memory are zstd's, with the shell that starts it.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = data_set_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    load = os.getloadavg()
    os.makedirs(options.work, exist_ok=True)
    source = data_set(options.work, parse_size(options.size), options.seed)
    try:
        measured = measure(source, os.path.join(options.work, "compression-input.tar"), options.rounds)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"compression: {exc}", file=sys.stderr)
        return 1
    publish("compression", "The compressor's level and job size", render(measured, options.rounds), load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
