# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Independent jobs N at a time, each in a forked child process, within a memory budget.

Processes, not threads: Python delivers SIGTERM to the main thread only, so a job in a thread could
not unwind its own pipeline and upload when systemd or cron stops the run. A forked child inherits
the host command's SIGTERM handler and unwinds exactly as a sequential run does (kill the pipe,
abort the upload, leave the state as it was); the parent forwards SIGTERM to every child and waits
for them. A child's pipeline stages, memory and crash are its own, and the parent alone writes log
lines and reports, so they stay whole and one per job.

The parent must not run threads when it forks: it only forks, reads results and reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import sys
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Callable

MIB = 1024 * 1024
# What a running job holds besides its part buffers, from the peak proportional set size (Pss) per
# process while two 192 MiB incompressible jobs ran at once (2 cores, default part size and
# concurrency): the forked Python child 89 MB (40 MiB of it part buffers; the rest botocore, threads
# and the pages copy-on-write unshared from the parent), zstd -T0 60 MB (it grows with the cores),
# gpg 1 MB, tar under 1 MB. A second job added 154-164 MB to the whole tree's peak; 150 MiB here
# makes a job 190 MiB. tests/functional/test_parallel_memory.py checks that bound. Since zstd runs
# with 2 MiB jobs (compression.py) a second job adds about 111 MB, so the bound is conservative.
JOB_OVERHEAD = 150 * MIB
EXIT_TERMINATED = 128 + signal.SIGTERM


def job_cost(part_size: int, concurrency: int) -> int:
    """The memory one running backup holds: ``concurrency + 1`` part buffers (one fills from the
    pipe while the others upload) plus its processes."""
    return part_size * (concurrency + 1) + JOB_OVERHEAD


@dataclass
class Task:
    name: str
    cost: int  # bytes, from job_cost
    work: Callable[[], dict]  # runs in the child; returns what the parent gets, as JSON


@dataclass
class _Child:
    task: Task
    pid: int
    reader: int
    received: bytearray


def _child(task: Task, writer: int) -> None:
    """Run ``task`` in the forked child and never return: exit 143 when terminated."""
    code = 0
    try:
        data = json.dumps(task.work()).encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(writer, view) :]
    except Exception:  # a bug, not a BackupError (work() turns those into results): say where
        traceback.print_exc()
        code = 70
    except BaseException:  # Terminated or Ctrl-C: the upload was aborted on the way out
        code = EXIT_TERMINATED
    finally:
        sys.stderr.flush()
        os._exit(code)


def _exit_cause(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"the job's process was killed by signal {signal.Signals(-code).name}"
    return f"the job's process exited with status {code} and no result"


class ParallelRun:
    def __init__(
        self,
        limit: int,
        budget: int | None,
        started: Callable[[Task], None],
        done: Callable[[Task, dict | None, str], None],
    ):
        """``started(task)`` runs in the parent before the child forks; ``done(task, result,
        cause)`` when it ended, ``result`` None and ``cause`` one line if it gave none."""
        self.limit, self.budget = max(1, limit), budget
        self.started, self.done = started, done
        self.running: dict[int, _Child] = {}
        self.selector = selectors.DefaultSelector()

    def run(self, tasks: list[Task]) -> None:
        pending = deque(tasks)
        try:
            while pending or self.running:
                while pending and self._fits(pending[0]):
                    self._start(pending.popleft())
                self._wait()
        except BaseException:
            self._stop_all()
            raise
        finally:
            self.selector.close()

    def _fits(self, task: Task) -> bool:
        if not self.running:
            return True  # one job always runs, whatever the budget
        if len(self.running) >= self.limit:
            return False
        used = sum(child.task.cost for child in self.running.values())
        return self.budget is None or used + task.cost <= self.budget

    def _start(self, task: Task) -> None:
        self.started(task)
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        # A SIGTERM between the fork and the child's entry in self.running would leave a child
        # nobody stops: hold it back until the child is known.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            pid = os.fork()
            if pid == 0:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                os.close(reader)
                _child(task, writer)
            os.close(writer)
            child = _Child(task, pid, reader, bytearray())
            self.running[pid] = child
            self.selector.register(reader, selectors.EVENT_READ, child)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

    def _wait(self) -> None:
        for key, _events in self.selector.select():
            child = key.data
            chunk = os.read(child.reader, 65536)
            if chunk:
                child.received += chunk
                continue
            self.selector.unregister(child.reader)
            os.close(child.reader)
            _pid, status = os.waitpid(child.pid, 0)
            del self.running[child.pid]
            if os.waitstatus_to_exitcode(status) == 0 and child.received:
                self.done(child.task, json.loads(child.received), "")
            else:
                self.done(child.task, None, _exit_cause(status))

    def _stop_all(self) -> None:
        """Stop every child as SIGTERM stops a sequential run, and wait until each has aborted its
        upload."""
        for pid in self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid, child in list(self.running.items()):
            os.waitpid(pid, 0)
            os.close(child.reader)
        self.running.clear()
