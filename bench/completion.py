"""``make bench-completion``: where a full backup's time goes on s3rver, for s3napback's host command
and for the hand-rolled ``tar | zstd | gpg | aws s3 cp -`` alike.

Both stream the data set to s3rver as 8 MiB parts. The hand-rolled pipe's are the parts of one
multipart upload, which it then asks s3rver to complete: s3rver completes one by copying every part
file into the object in its Node.js process while the client waits, so part of that full's wall
time is the server's, and it varies. The host command's are volumes, each its own object stored by
one PutObject (since 2026-12-05): nothing to complete. s3rver's own log says when each response
ended and how long its request took. This script alternates full backups of
the two tools (one warm-up round, then ROUNDS rounds, the order reversed every other round;
``--level N`` adds the host command configured with zstd level N, ``--module`` the module) and
splits each one's wall time: until the server had stored the last part, and the server completing
the upload (with the server's CPU time meanwhile). Prints a Markdown fragment, writes it to
bench/results/completion.md, and exits 1 when a backup fails (never because of a time).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .fragment import publish
from .measure import Measurement, run_measured
from .report import cell
from .run import Bench, alternated, data_set_parser, parse_size
from .servers import BUCKET, S3rver, client
from .tools import Context, Manual, S3napbackHost, S3napbackModule

# A response's line, "info: /key?partNumber=3&uploadId=... 200 1,234ms 0b": s3rver cuts koa-logger's
# line after 16 characters, "  --> PUT /bench", so the method (and for a POST one more) is gone. A
# URL with partNumber= is an UploadPart; one with only uploadId= completes (or aborts, or lists) an
# upload, and neither tool aborts or lists one that succeeds. A URL of a data key without a query is
# a volume's PutObject, or the HEAD that checks it.
RESPONSE = re.compile(r"info: (\S+) (\d{3}) ([\d,]+)(ms|s) \S+$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
VOLUME = re.compile(r"\.gpg(~\d+)?$")


@dataclass(frozen=True)
class Response:
    ended: float  # time.time() when its log line was read
    url: str
    seconds: float


def responses(log: list[tuple[float, str]]) -> list[Response]:
    found = []
    for read_at, line in log:
        match = RESPONSE.search(ANSI.sub("", line))
        if match:
            url, _status, amount, unit = match.groups()
            seconds = int(amount.replace(",", "")) / (1000 if unit == "ms" else 1)
            found.append(Response(read_at, url, seconds))
    return found


def _completes(response: Response) -> bool:
    return "uploadId=" in response.url and "partNumber=" not in response.url


@dataclass(frozen=True)
class Split:
    wall_s: float
    cpu_s: float  # the tool's whole process tree
    parts_stored_s: float  # from the start until the server answered the last UploadPart
    parts_cpu_s: float  # the server's CPU time until then
    completing_s: float  # the server's time on CompleteMultipartUpload
    completing_cpu_s: float  # the server's CPU time meanwhile


def _volume(response: Response) -> bool:
    return "?" not in response.url and VOLUME.search(response.url) is not None


def split(started: float, result: Measurement, during: list[Response], cpu: CpuSamples) -> Split:
    parts = [r for r in during if "partNumber=" in r.url]
    completes = [r for r in during if _completes(r)]
    if not parts:  # volumes: stored once the last one's PUT (and HEAD) answered, nothing to complete
        volumes = [r for r in during if _volume(r)]
        if not volumes or completes:
            raise RuntimeError(f"expected volumes and no multipart upload, saw {len(volumes)} and {len(completes)}")
        stored = max(r.ended for r in volumes)
        return Split(result.wall_s, result.cpu_s, stored - started, cpu.between(started, stored), 0.0, 0.0)
    if len(completes) != 1:
        raise RuntimeError(f"expected parts and one completed multipart upload, saw {len(parts)} and {len(completes)}")
    done, stored = completes[0], max(r.ended for r in parts)
    return Split(
        wall_s=result.wall_s,
        cpu_s=result.cpu_s,
        parts_stored_s=stored - started,
        parts_cpu_s=cpu.between(started, stored),
        completing_s=done.seconds,
        completing_cpu_s=cpu.between(done.ended - done.seconds, done.ended),
    )


class CpuSamples:
    """The CPU time (user + system) of one process, sampled every 0.1 s in a thread."""

    def __init__(self, pid: int):
        self.pid, self.samples = pid, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> CpuSamples:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            with open(f"/proc/{self.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            self.samples.append((time.time(), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS))
            self._stop.wait(0.1)

    def between(self, start: float, end: float) -> float:
        before = [cpu for at, cpu in self.samples if at <= start] or [self.samples[0][1]]
        after = [cpu for at, cpu in self.samples if at >= end] or [self.samples[-1][1]]
        return after[0] - before[-1]


def _host(tool: S3napbackHost, ctx: Context, _round: int) -> tuple[list[str], dict]:
    return tool._command(ctx, "run", "--force", "--force-full", "data")


def _manual(ctx: Context, round_number: int) -> tuple[list[str], dict]:
    snapshot = os.path.join(ctx.state, "snapshot")
    if os.path.exists(snapshot):  # without it, GNU tar makes a full again
        os.remove(snapshot)
    argv, env = Manual().backup(ctx, 0)
    return argv, {**env, "KEY": f"full-{round_number}.tar.zst.gpg"}


def _module(ctx: Context, _round: int) -> tuple[list[str], dict]:
    return S3napbackModule().backup(ctx, 0, force_full=True)


def tools(levels: list[int], module: bool) -> dict[str, Callable[[Context, int], tuple[list[str], dict]]]:
    """The host command as configured by default, once more for each of ``levels`` (its zstd level),
    the module if ``module``, and the hand-rolled pipe."""
    hosts = [S3napbackHost(), *(S3napbackHost(level) for level in levels)]
    found = {host.name: functools.partial(_host, host) for host in hosts}
    if module:
        found[S3napbackModule.name] = _module
    return {**found, Manual.name: _manual}


def _empty_bucket(url: str) -> None:
    """Between runs, so that no run's completion shares the disk with the object of the one before."""
    s3 = client(url)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])


def _logged(log: list[tuple[float, str]], seen: int, patience: float = 5.0) -> list[Response]:
    """The responses in ``log`` since line ``seen``, once the completion's (or a manifest's) is among them:
    s3rver logs a response as it finishes, and another thread appends to the log, so the line can
    come after the client has its answer. After ``patience`` seconds, whatever is there (split()
    says what is missing)."""
    deadline = time.monotonic() + patience
    while True:
        found = responses(log[seen:])
        if any(_completes(r) or r.url.endswith(".json") for r in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def measure(bench: Bench, rounds: int, levels: list[int], module: bool) -> dict[str, list[Split]]:
    commands = tools(levels, module)
    results: dict[str, list[Split]] = {name: [] for name in commands}
    scratch = os.path.join(bench.work, "completion")
    server = S3rver(os.path.join(scratch, "s3"), log_requests=True).start()
    try:
        with CpuSamples(server.process.pid) as cpu:
            contexts = {}
            for number, name in enumerate(commands):
                home = os.path.join(scratch, f"tool-{number}")
                keys = bench.keys
                contexts[name] = Context(
                    home, bench.base, server.url, keys.fingerprint, keys.public_home, keys.secret_home
                )
            for round_number in range(rounds + 1):  # round 0 warms the page cache up
                for name in alternated(list(commands), round_number):
                    argv, env = commands[name](contexts[name], round_number)
                    os.sync()
                    seen, started = len(server.log), time.time()
                    result = run_measured(argv, env=env, cwd=contexts[name].scratch)
                    if result.returncode != 0:
                        last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
                        raise RuntimeError(f"{name}: exit {result.returncode}: {last}")
                    measured = split(started, result, _logged(server.log, seen), cpu)
                    if round_number:
                        results[name].append(measured)
                    print(f"round {round_number} {name}: {measured}", file=sys.stderr, flush=True)
                    _empty_bucket(server.url)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def render(results: dict[str, list[Split]], rounds: int, size: str) -> str:
    lines = [
        "| tool | wall | its CPU | server had every part | server CPU until then | server completing "
        "| server CPU meanwhile | wall less completing |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, splits in results.items():
        lines.append(
            f"| {cell(name)} | {_spread([s.wall_s for s in splits])} | {_spread([s.cpu_s for s in splits])} "
            f"| {_spread([s.parts_stored_s for s in splits])} | {_spread([s.parts_cpu_s for s in splits])} "
            f"| {_spread([s.completing_s for s in splits])} | {_spread([s.completing_cpu_s for s in splits])} "
            f"| {_spread([s.wall_s - s.completing_s for s in splits])} |"
        )
    host, manual = results[S3napbackHost.name], results[Manual.name]

    def ratio(value, splits: list[Split] = host) -> float:
        return statistics.median([value(s) for s in manual]) / statistics.median([value(s) for s in splits])

    every = [s.completing_s for s in manual]
    # each round ran every tool once: how often the host command was the faster of the pair
    faster = sum(h.wall_s < m.wall_s for h, m in zip(host, manual))
    faster_parts = sum(h.parts_stored_s < m.parts_stored_s for h, m in zip(host, manual))
    lines += [
        "",
        f"Full backups of the {size} data set to one s3rver, {rounds} alternated rounds after a warm-up round; "
        "medians, with the lowest and highest in brackets. The server's times come from its own request log. "
        f"The host command's speed against the hand-rolled pipe: {ratio(lambda s: s.wall_s):.2f}x on wall time, "
        f"{ratio(lambda s: s.parts_stored_s):.2f}x until the server had every part, "
        f"{ratio(lambda s: s.wall_s - s.completing_s):.2f}x on wall time less the server's completion. "
        f"Round by round, the host command was the faster of the two in {faster} of {len(host)} rounds on wall "
        f"time, and had every part stored first in {faster_parts} of {len(host)}. "
        f"The hand-rolled pipe's completion took from {min(every):.2f} to {max(every):.2f} s; the host command "
        "stores volumes, with nothing to complete.",
    ]
    for name, splits in results.items():
        if name == S3napbackModule.name:
            speed = ratio(lambda s: s.wall_s, splits)
            lines[-1] += f" The module: {speed:.2f}x the hand-rolled pipe's speed on wall time."
        elif name not in (S3napbackHost.name, Manual.name):
            wall, cpu = statistics.median(s.wall_s for s in host), statistics.median(s.cpu_s for s in host)
            lines[-1] += (
                f" {name}: {wall / statistics.median(s.wall_s for s in splits):.2f}x the default's speed on wall "
                f"time, {statistics.median(s.cpu_s for s in splits) - cpu:+.2f} s of CPU."
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = data_set_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--level", type=int, action="append", default=[], help="also run the host command at this zstd level"
    )
    parser.add_argument("--module", action="store_true", help="also run the module, through ansible")
    options = parser.parse_args(argv)
    load = os.getloadavg()
    os.makedirs(options.work, exist_ok=True)
    bench = Bench(options.work, parse_size(options.size), options.seed)
    try:
        results = measure(bench, options.rounds, options.level, options.module)
    except RuntimeError as exc:
        print(f"completion: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.keys.stop_agents()
    publish("completion", "Where a full's time goes on s3rver", render(results, options.rounds, options.size), load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
