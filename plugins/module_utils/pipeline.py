# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real processes joined by OS pipes, with pipefail semantics: every stage's exit status counts.

The first stage's stdout feeds the second's stdin and so on; Python reads only the last stage's
stdout. Each stage's stderr is drained by a thread (so a chatty stage cannot block) and its tail
kept for the error message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from .errors import BackupError

_STDERR_TAIL = 64 * 1024
# Linux's default pipe holds 64 KiB: every stage, and Python reading 8 MiB parts, then wakes up for
# each 64 KiB. 1 MiB (the unprivileged maximum, fs.pipe-max-size) took 0.3 to 0.9 s of CPU and up
# to 9% of the time to the last part off a 1 GB full on two cores (docs/BENCHMARKS.md, "Pipe buffers").
PIPE_BYTES = 1024 * 1024
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux's value; Python names it from 3.10 on
# stderr lines that never say why a stage failed: tar's closing summaries and clock warnings.
UNINFORMATIVE_RE = re.compile(
    r"^(tar: )?(Error is not recoverable: exiting now|Exiting with failure status due to previous errors)$"
    r"|: time stamp .* in the future$|implausibly old time stamp"
)


# Credentials the runner may have been handed in its environment; no stage needs them, and a
# child's environment is readable in /proc by its own user for as long as it runs.
SECRET_VARIABLES = frozenset(
    (
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "EC2_SECRET_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "EC2_SECURITY_TOKEN",
        "MYSQL_PWD",
        "PGPASSWORD",
    )
)


def child_environment(extra: dict | None = None) -> dict:
    """The environment of a program the engine runs: the runner's, without credentials."""
    inherited = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    return {**inherited, **(extra or {})}


@dataclass(frozen=True)
class Stage:
    """One process of a pipeline. ``warning_codes`` are exit statuses that mean "done, with
    warnings" (GNU tar's 1: a file changed while it was read)."""

    name: str
    argv: list[str]
    warning_codes: tuple[int, ...] = ()
    env: dict | None = None
    pass_fds: tuple[int, ...] = ()  # e.g. the read end of a pipe carrying a passphrase


@dataclass
class StageResult:
    stage: Stage
    returncode: int
    stderr: str
    wall_s: float = 0.0  # from its start until it closed its stderr, which it does on exit
    cpu_s: float | None = None  # user + system, from wait4; None when it was reaped elsewhere

    def timing(self) -> dict:
        return {"stage": self.stage.name, "wall_s": round(self.wall_s, 3), "cpu_s": self.cpu_s}

    @property
    def failed(self) -> bool:
        return self.returncode != 0 and self.returncode not in self.stage.warning_codes

    @property
    def broken_pipe(self) -> bool:
        """Whether the stage died only because a later stage stopped reading."""
        return self.returncode == -signal.SIGPIPE or "Broken pipe" in self.stderr

    def cause(self) -> str:
        prefix = f"{os.path.basename(self.stage.argv[0])}: "
        for raw in self.stderr.splitlines():
            line = raw.strip()
            line = line[len(prefix) :] if line.startswith(prefix) else line
            if line and not UNINFORMATIVE_RE.search(line):
                return line
        if self.returncode < 0:
            return f"killed by signal {signal.Signals(-self.returncode).name}"
        return f"exited with status {self.returncode}"


@dataclass
class _Running:
    stage: Stage
    process: subprocess.Popen
    reader: threading.Thread | None  # set right after construction, before the stage is listed
    stderr: bytearray
    started: float
    ended: list = field(default_factory=list)  # the monotonic time the drain thread saw EOF


def widen(stream: IO[bytes] | None) -> None:
    """Give the pipe behind ``stream`` PIPE_BYTES of buffer where the system allows it; where it
    does not (another OS, or the user's pipe quota used up), the pipe keeps its size: it is only
    slower."""
    if stream is None or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), F_SETPIPE_SZ, PIPE_BYTES)


def _drain(stream, sink: bytearray, ended: list) -> None:
    for chunk in iter(lambda: stream.read(8192), b""):
        sink += chunk
        del sink[:-_STDERR_TAIL]
    ended.append(time.monotonic())
    stream.close()


def _reap(process: subprocess.Popen) -> float | None:
    """Wait for ``process`` and return its CPU seconds (user + system), which only wait4 tells."""
    if process.returncode is None:
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        except ChildProcessError:  # reaped by Popen already (poll() in kill())
            process.wait()
            return None
        process.returncode = os.waitstatus_to_exitcode(status)
        return round(usage.ru_utime + usage.ru_stime, 3)
    return None


class Pipeline:
    """``with Pipeline(stages) as pipe: data = pipe.stdout.read(n) ...; results = pipe.finish()``.

    Leaving the block early kills every stage still running, so a failed upload never leaves
    tar or gpg behind.
    """

    def __init__(self, stages: list[Stage], feed: bool = False, collect: bool = True):
        """``feed``: Python writes the first stage's stdin (``self.stdin``); ``collect``: Python
        reads the last stage's stdout (``self.stdout``), else it is discarded."""
        self.stages = stages
        self.feed, self.collect = feed, collect
        self._running: list[_Running] = []
        self.stdin: IO[bytes] | None = None
        self.stdout: IO[bytes] | None = None

    def __enter__(self) -> Pipeline:
        previous: int | IO[bytes] | None = subprocess.PIPE if self.feed else subprocess.DEVNULL
        try:
            for number, stage in enumerate(self.stages, start=1):
                env = child_environment(stage.env)
                last = number == len(self.stages)
                started = time.monotonic()
                process = subprocess.Popen(
                    stage.argv,
                    stdin=previous,
                    stdout=subprocess.PIPE if self.collect or not last else subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                    pass_fds=stage.pass_fds,
                )
                widen(process.stdout)
                if number == 1 and self.feed:
                    widen(process.stdin)
                    self.stdin = process.stdin
                elif previous is not subprocess.DEVNULL:
                    if previous is None or isinstance(previous, int):
                        raise AssertionError("every stage but the first reads the previous stage's stdout pipe")
                    previous.close()  # only the next stage holds the read end, so SIGPIPE reaches writers
                running = _Running(stage, process, None, bytearray(), started)
                running.reader = threading.Thread(
                    target=_drain, args=(process.stderr, running.stderr, running.ended), daemon=True
                )
                running.reader.start()
                self._running.append(running)
                previous = process.stdout
        except BaseException as exc:  # SIGTERM's Terminated too: no stage may outlive a failed start
            if previous is not None and not isinstance(previous, int):  # a started stage's stdout
                previous.close()
            self.kill()
            if isinstance(exc, OSError):
                raise BackupError(stage.name, f"cannot start {stage.argv[0]}: {exc.strerror}") from exc
            raise
        if self.collect:
            if isinstance(previous, int):  # the last stage's stdout: there is always a stage
                raise AssertionError("the last stage's stdout: there is always a stage")
            self.stdout = previous
        else:
            self.stdout = None
        return self

    def kill(self) -> None:
        for running in self._running:
            if running.process.poll() is None:
                running.process.kill()
        self._collect()

    def _collect(self) -> list[StageResult]:
        for stream in (self.stdin, self.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a stage that died leaves a broken pipe to close
                    stream.close()
        results = []
        for running in self._running:
            cpu = _reap(running.process)
            if running.reader is None:
                raise AssertionError("__enter__ lists a stage only once its reader started")
            running.reader.join()
            text = bytes(running.stderr).decode("utf-8", "replace")
            wall = (running.ended[0] if running.ended else time.monotonic()) - running.started
            results.append(StageResult(running.stage, running.process.returncode, text, wall, cpu))
        return results

    def finish(self) -> list[StageResult]:
        """Wait for every stage; raise a BackupError naming the stage that failed first, upstream
        first, not counting stages that only saw a broken pipe from a later failure."""
        results = self._collect()
        failed = [r for r in results if r.failed]
        if failed:
            culprit = next((r for r in failed if not r.broken_pipe), failed[0])
            raise BackupError(culprit.stage.name, culprit.cause(), culprit.stderr)
        return results

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.kill()
