# Copyright: s3napback developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A callback for make bench-role: each task's wall time and what it did on how many hosts, and the
controller's own CPU, as JSON in the file named by S3NAPBACK_TIMINGS. Not part of the collection:
the benchmark turns it on with ANSIBLE_CALLBACK_PLUGINS and ANSIBLE_CALLBACKS_ENABLED."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: s3napback_timings
type: aggregate
short_description: Per-task wall time and the controller's CPU, as JSON, for make bench-role
description:
  - Writes the file named by the environment variable E(S3NAPBACK_TIMINGS) when the playbook ends.
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "s3napback_timings"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks: list[dict] = []
        self.started = time.monotonic()

    def _close_task(self) -> None:
        if self.tasks and "seconds" not in self.tasks[-1]:
            self.tasks[-1]["seconds"] = round(time.monotonic() - self.tasks[-1].pop("_start"), 3)

    def _start(self, task, kind: str) -> None:
        self._close_task()
        self.tasks.append({"name": task.get_name(), "action": task.action, "kind": kind, "_start": time.monotonic()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task, "task")

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, "handler")

    def _count(self, result, outcome: str) -> None:
        if not self.tasks:
            return
        counts = self.tasks[-1].setdefault("hosts", {})
        if outcome == "ok" and result._result.get("changed"):
            outcome = "changed"
        counts[outcome] = counts.get(outcome, 0) + 1

    def v2_runner_on_ok(self, result):
        self._count(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._count(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._count(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._close_task()
        path = os.environ.get("S3NAPBACK_TIMINGS")
        if not path:
            return
        # The controller's process and the workers it forked and reaped: on a chroot or local
        # connection that includes the hosts' module processes too, which the benchmark separates.
        times = os.times()
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "seconds": round(time.monotonic() - self.started, 3),
                    "main_cpu_s": round(times.user + times.system, 3),
                    "tasks": self.tasks,
                },
                handle,
                indent=1,
            )
