# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a scheduled run leaves for the people and monitors watching it: a line in the log file,
healthcheck pings (start, success, failure: the healthchecks.io convention), a JSON status file
per job and a Prometheus node_exporter textfile per job.

Reporting never fails a backup: a monitor that cannot be reached is said on stderr and skipped.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time

from .errors import BackupError
from .files import write_private

PING_TIMEOUT_S = 10

METRICS = (
    ("last_run_timestamp_seconds", "When the job last ran (Unix time)."),
    ("last_run_success", "1 if the job's last run succeeded (a backup, or none due), 0 if it failed."),
    ("last_success_timestamp_seconds", "When the job last made a backup (Unix time)."),
    ("last_backup_bytes", "Bytes stored by the job's last backup."),
    ("last_backup_duration_seconds", "How long the job's last backup took."),
    ("last_full_backup_bytes", "Bytes stored by the job's last full backup."),
    ("previous_full_backup_bytes", "Bytes stored by the job's full backup before the last one."),
)
_SAMPLE_RE = re.compile(r"^s3napback_(?P<metric>\w+)\{[^}]*\} (?P<value>\S+)$")


def _count(result: dict, name: str) -> int | None:
    found = result.get(name)
    return None if found is None else len(found)


def _warn(message: str) -> None:
    sys.stderr.write(f"s3napback: {message}\n")


class Reporter:
    def __init__(
        self,
        log_file: str | None = None,
        metrics_dir: str | None = None,
        clock=time.time,
        status_dir: str | None = None,
    ):
        """``status_dir``: where each job's ``<job>.status.json`` goes; None: the job's state_dir."""
        self.log_file, self.metrics_dir, self.clock = log_file, metrics_dir, clock
        self.status_dir = status_dir

    def started(self, job) -> None:
        self._ping(job, "/start", b"")

    def finished(self, job, line: str, result: dict) -> None:
        """Report ``job``'s run: ``line`` is its log line, ``result`` the host command's result
        (``status`` ok, nothing or failed; ``backup`` what it stored)."""
        ok = result["status"] != "failed"
        self._append(line)
        self._ping(job, "" if ok else "/fail", line.encode("utf-8"))
        self._write_metrics(job.name, ok, result.get("backup") if ok else None)
        self._write_status(job, result)

    def status_path(self, job) -> str:
        return os.path.join(self.status_dir or job.request.state_dir, f"{job.name}.status.json")

    def _write_status(self, job, result: dict) -> None:
        """``<job>.status.json``: the last run, and the last success carried over from the file
        before, so that a failed run still says when the job last worked."""
        path = self.status_path(job)
        previous = {}
        try:
            with open(path, encoding="utf-8") as handle:
                previous = json.load(handle)
        except (OSError, ValueError):
            pass
        if not isinstance(previous, dict):
            previous = {}
        backup = result.get("backup") or {}
        status = {
            "job": job.name,
            "status": result["status"],
            "started": result.get("started"),
            "finished": result.get("finished"),
            "kind": backup.get("kind"),
            "key": backup.get("key"),
            "bytes": backup.get("bytes_out"),
            "duration_s": backup.get("duration_s"),
            "timings": backup.get("timings"),
            "reason": result.get("reason"),
            "stage": result.get("stage"),
            "error": " ".join(result["msg"].split()) if result.get("msg") else None,  # one line
            # what killed runs had left that this run cleared (None: it failed before it could say)
            "aborted_uploads": _count(result, "aborted_uploads"),
            "removed_strays": _count(result, "removed_strays"),
            "locked_strays": _count(result, "locked_strays"),
            "last_success": previous.get("last_success"),
            "last_success_key": previous.get("last_success_key"),
        }
        if result["status"] == "ok":
            status["last_success"], status["last_success_key"] = result.get("finished"), backup.get("key")
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            write_private(path, (json.dumps(status, indent=2) + "\n").encode("utf-8"), "status")
        except (OSError, BackupError) as exc:
            _warn(f"status: cannot write {path}: {getattr(exc, 'strerror', None) or exc}")

    def _append(self, line: str) -> None:
        if not self.log_file:
            return
        try:
            descriptor = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            _warn(f"log: cannot write {self.log_file}: {exc.strerror}")

    def _ping(self, job, suffix: str, body: bytes) -> None:
        url = job.healthcheck_url
        if not url:
            return
        # Imported here: urllib.request (with http.client and ssl) was a tenth of the engine's
        # start, which every run without a healthcheck paid before tar could begin.
        import urllib.error  # noqa: PLC0415
        import urllib.request  # noqa: PLC0415

        try:
            request = urllib.request.Request(url.rstrip("/") + suffix, data=body, method="POST")  # noqa: S310 (http(s) only, by the config)
            with urllib.request.build_opener().open(request, timeout=PING_TIMEOUT_S):
                pass
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            _warn(f"healthcheck: cannot ping {url.split('?')[0]}{suffix}: {reason}")

    def _metrics_path(self, name: str) -> str:
        if self.metrics_dir is None:
            raise AssertionError("_write_metrics returns early without a metrics_dir")
        return os.path.join(self.metrics_dir, f"s3napback_{name}.prom")

    def _previous(self, path: str) -> dict:
        """The values of the last run's textfile, so that a failed run keeps the last success."""
        try:
            with open(path, encoding="utf-8") as handle:
                matches = (_SAMPLE_RE.match(line.strip()) for line in handle)
                return {match["metric"]: match["value"] for match in matches if match}
        except OSError:
            return {}

    def _write_metrics(self, name: str, ok: bool, backup: dict | None) -> None:
        if not self.metrics_dir:
            return
        path = self._metrics_path(name)
        values = self._previous(path)
        values["last_run_timestamp_seconds"] = f"{self.clock():.0f}"
        values["last_run_success"] = "1" if ok else "0"
        if ok and backup is not None:
            values["last_success_timestamp_seconds"] = values["last_run_timestamp_seconds"]
            values["last_backup_bytes"] = str(backup.get("bytes_out", 0))
            values["last_backup_duration_seconds"] = str(backup.get("duration_s", 0))
            # Diffs are small by nature: only a full compared with the full before it shows lost data.
            if backup.get("kind") == "full":
                if "last_full_backup_bytes" in values:
                    values["previous_full_backup_bytes"] = values["last_full_backup_bytes"]
                values["last_full_backup_bytes"] = values["last_backup_bytes"]
        lines = []
        for metric, help_text in METRICS:
            if metric in values:
                metric_name = f"s3napback_{metric}"
                lines += [
                    f"# HELP {metric_name} {help_text}",
                    f"# TYPE {metric_name} gauge",
                    f'{metric_name}{{job="{name}"}} {values[metric]}',
                ]
        try:
            # node_exporter must never read half a file: write beside it, then rename over it.
            descriptor, temporary = tempfile.mkstemp(dir=self.metrics_dir, prefix=".s3napback_", suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except OSError as exc:
            _warn(f"metrics: cannot write {path}: {exc.strerror}")
