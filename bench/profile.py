"""``make bench-profile``: where the Python runner's time goes during a backup of about 1 GB.

py-spy samples every thread of the runner 100 times a second, waiting or not, during the
generated-stream backup of bench/generated_backup.py into the S3 sink; the generator, zstd and gpg
are processes of their own and not in the profile (their CPU is in the engine's stage timings). For
each kind of thread the samples are summarised by the function at the top of the stack: where
that thread spends its time, a wait on the pipe or on S3 included. Prints a Markdown fragment and
writes it to bench/results/profile.md (the raw samples next to it, profile.raw.txt). Exits 1 when
the backup fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter

from .fragment import RESULTS, publish
from .memory_flat import checked, command, parse_bytes, sink_context

RATE = 100
TOP = 8
MB = 1e6
ENGINE = "module_utils/"  # in the path of the engine's files, plugins/module_utils/*.py
# "thread (123): s3-part_0;frame;frame 42": the thread's name (when it has one), its stack, the count
SAMPLE_RE = re.compile(r"^thread \(\d+\)(?:: (?P<thread>[^;]*))?;(?P<stack>.*) (?P<count>\d+)$")
FRAME_RE = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::\d+)?\)$")


def _frame(text: str) -> str:
    """``function (file)``, the line dropped and the file's path cut to what names it; the engine's
    files as ``module_utils/NAME.py``."""
    match = FRAME_RE.match(text)
    if not match:
        return text
    path = match["file"]
    if ENGINE in path:
        path = ENGINE + path.split(ENGINE, 1)[1]
    else:
        path = next((path.split(marker, 1)[1] for marker in ("site-packages/", "python3.11/") if marker in path), path)
    return f"{match['function']} ({path})"


def _thread(name: str | None) -> str:
    """Threads by role: the engine's part uploaders are numbered s3-part_N."""
    return re.sub(r"_\d+$", "_*", name) if name else "unnamed (py-spy had no name for the thread: start-up, mostly)"


def summarise(raw: str) -> dict[str, Counter]:
    """{kind of thread: Counter of the function at the top of its stack (its own time)}."""
    threads: dict[str, Counter] = {}
    for line in raw.splitlines():
        match = SAMPLE_RE.match(line)
        if match:
            top = _frame(match["stack"].rsplit(";", 1)[-1])
            threads.setdefault(_thread(match["thread"]), Counter())[top] += int(match["count"])
    return threads


def render(threads: dict[str, Counter], result: dict, size: int) -> str:
    backup = result["backup"]
    wall = backup["duration_s"]
    lines = [
        f"A backup of {size / MB:,.0f} MB (generated, incompressible) into the S3 sink under py-spy: the upload "
        f"took {wall:.1f} s ({size / MB / wall:.0f} MB/s), {backup['bytes_out'] / MB:,.0f} MB stored. The runner "
        f"used {result['runner_cpu_s']:.1f} s of CPU in all its threads. Each table: one kind of thread, the "
        f"function at the top of its stack, as a share of that thread's samples ({RATE} Hz, waits included).",
    ]
    for name, counter in sorted(threads.items(), key=lambda item: -sum(item[1].values())):
        total = sum(counter.values())
        if name.startswith("Thread-"):  # the stderr readers of the stages: always waiting on a pipe
            continue
        lines += ["", f"| {name} ({total} samples) | share |", "| --- | ---: |"]
        lines += [f"| `{frame}` | {count / total:.0%} |" for frame, count in counter.most_common(TOP)]
    return "\n".join(lines)


def profile(size: int) -> tuple[str, str]:
    """The fragment and the raw samples."""
    with sink_context("s3napback-profile-") as (ctx, sink):
        argv, env = command(ctx, size)
        raw_path = os.path.join(ctx.scratch, "profile.raw.txt")
        spy = [os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--format", "raw", "--threads"]
        spy += ["--idle", "--rate", str(RATE), "--output", raw_path, "--"]
        run = subprocess.run([*spy, *argv], env=env, cwd=ctx.scratch, capture_output=True, text=True, check=False)
        # py-spy talks on stdout too: the runner's JSON is the line that starts with {
        runner_output = [line for line in run.stdout.splitlines() if line.startswith("{")]
        if run.returncode != 0 or not runner_output:
            last = (run.stderr.strip() or "no output").splitlines()[-1]
            raise RuntimeError(f"py-spy record: exit {run.returncode}: {last}")
        result = checked(runner_output[-1], sink)
        with open(raw_path) as handle:
            raw = handle.read()
    return render(summarise(raw), result, size), raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1e9", help="input size: 1e9, 500M, 1G (default 1e9)")
    options = parser.parse_args(argv)
    size = parse_bytes(options.size)
    load = os.getloadavg()
    try:
        text, raw = profile(size)
    except RuntimeError as exc:
        print(f"profile: {exc}", file=sys.stderr)
        return 1
    publish("profile", "Where the runner's time goes", text, load)
    with open(os.path.join(RESULTS, "profile.raw.txt"), "w") as handle:
        handle.write(raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
