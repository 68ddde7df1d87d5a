# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host command's configuration: a YAML file of jobs with the module's option names.

defaults:            # shared by every job; a job's own value wins
  bucket: backups
  gpg_recipient: backup@example.com
jobs:
  - directory: /etc
  - name: www
    directory: /srv/www
    exclude: [cache]
  - name: repos      # a job of several sets: its name selects them all, each set keeps its own
    svn_parent: /srv/svn
log_file: /var/log/s3napback.log         # optional: one line per job and run
metrics_dir: /var/lib/node_exporter      # optional: a Prometheus textfile per job
status_dir: /var/lib/s3napback           # optional: <job>.status.json per job (default: its state_dir)
parallel_jobs: 2                         # optional: jobs run at once, each a process (default 1)
memory_budget_mb: 512                    # optional: start a job only while the running ones fit
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from . import options
from .errors import BackupError
from .options import Option
from .request import BACKUP, BackupRequest, backup_requests, expands, source_problem

try:
    import yaml
except ImportError:  # the host command says which package is missing
    yaml = None  # type: ignore[assignment]  # the module is optional; load() checks for None

DEFAULT_PATH = "/etc/s3napback/config.yml"


# Keys of a job that are about reporting on it, not about the backup the module makes.
REPORTING = {"healthcheck_url": Option("str")}
SETTINGS = {
    "log_file": Option("path"),
    "metrics_dir": Option("path"),
    "status_dir": Option("path"),
    "parallel_jobs": Option("int", 1),
    "memory_budget_mb": Option("int"),
}
MAX_PARALLEL_JOBS = 64


@dataclass(frozen=True)
class Job:
    name: str
    options: dict  # every backup option, defaults filled in
    request: BackupRequest
    group: str  # the job's name in the file; the set's own name for a job of one set
    healthcheck_url: str | None = None


@dataclass(frozen=True)
class Config:
    jobs: list[Job]
    notes: list[str]  # what was skipped (directories of svn_parent that are no repositories)
    log_file: str | None = None
    metrics_dir: str | None = None
    status_dir: str | None = None
    parallel_jobs: int = 1
    memory_budget_mb: int | None = None


def _fail(path: str, cause: str) -> BackupError:
    return BackupError("config", f"{path}: {cause}")


def _read(path: str) -> dict:
    if yaml is None:
        raise BackupError("config", "PyYAML is not installed (Debian: python3-yaml; pip: PyYAML)")
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
            mode = os.fstat(handle.fileno()).st_mode
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise _fail(path, f"not valid YAML: {' '.join(str(exc).split())}") from exc
    if document is None:
        document = {}
    if not isinstance(document, dict) or set(document) - {"defaults", "jobs", *SETTINGS}:
        raise _fail(path, f"must be a mapping of {', '.join(['defaults', 'jobs', *SETTINGS])} only")
    document["_mode"] = stat.S_IMODE(mode)
    return document


def check_job(job: dict, defaults: dict) -> tuple[dict, dict, str | None]:
    """A job's backup options (typed, defaults filled in), its reporting options and the name
    that selects it (None for a job of one set: the set's own name does), or a ValueError saying
    what is wrong. The role checks inventory with this before a host ever reads the file."""
    merged = {**defaults, **job}
    reporting = options.typed_options({key: merged.pop(key) for key in REPORTING if key in merged}, REPORTING)
    if reporting["healthcheck_url"] and not reporting["healthcheck_url"].startswith(("http://", "https://")):
        raise ValueError("healthcheck_url must be an http:// or https:// URL")
    group = merged.get("name")
    if group and expands({**merged, "name": None}):
        merged["name"] = None  # names the group of sets; each set keeps its own name
    values = options.typed_options(merged, BACKUP)
    problem = source_problem(values)
    if problem:
        raise ValueError(problem)
    if not values["bucket"]:
        raise ValueError("bucket is required")
    return values, reporting, (group if values["name"] is None else None)


def label(number: int, job: dict) -> str:
    """How a message names a job: by its number in the list and, when it has one, its name."""
    name = job.get("name") if isinstance(job, dict) else None
    return f"job {number}" + (f" ({name})" if name else "")


def load(path: str = DEFAULT_PATH) -> Config:
    """The jobs of the config file at ``path``, each checked, with the reporting settings; raises
    a BackupError naming the job."""
    document = _read(path)
    defaults = document.get("defaults") or {}
    jobs = document.get("jobs") or []
    if not isinstance(defaults, dict):
        raise _fail(path, "defaults must be a mapping of option: value")
    if not isinstance(jobs, list) or not all(isinstance(job, dict) for job in jobs):
        raise _fail(path, "jobs must be a list of mappings of option: value")
    try:
        settings = options.typed_options({key: document[key] for key in SETTINGS if key in document}, SETTINGS)
    except ValueError as exc:
        raise _fail(path, str(exc)) from None
    if not 1 <= settings["parallel_jobs"] <= MAX_PARALLEL_JOBS:
        raise _fail(path, f"parallel_jobs must be from 1 to {MAX_PARALLEL_JOBS}")
    if settings["memory_budget_mb"] is not None and settings["memory_budget_mb"] < 1:
        raise _fail(path, "memory_budget_mb must be a positive number of MiB")
    secrets = [name for name in options.secrets(BACKUP) if defaults.get(name) or any(job.get(name) for job in jobs)]
    if secrets and document["_mode"] & 0o077:
        raise _fail(path, f"holds {secrets[0]} but others may read it: chmod 600 {path}")
    loaded: list[Job] = []
    skipped: list[str] = []
    for number, job in enumerate(jobs, start=1):
        try:
            values, reporting, group = check_job(job, defaults)
        except ValueError as exc:
            raise _fail(path, f"{label(number, job)}: {exc}") from None
        requests, notes = backup_requests(values)  # svn_parent: a job per repository
        for request in requests:
            loaded.append(Job(request.set_name, values, request, group or request.set_name, **reporting))
        skipped.extend(notes)
    names = [job.name for job in loaded]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise _fail(path, f"two jobs are named {duplicates[0]}: give one of them another name")
    return Config(loaded, skipped, **settings)


def select(jobs: list[Job], names: list[str]) -> list[Job]:
    """The jobs called ``names``, by their own or their group's name (all when ``names`` is empty)."""
    known = {job.name for job in jobs} | {job.group for job in jobs}
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise BackupError("config", f"no job named {unknown[0]} (jobs: {listed})")
    return [job for job in jobs if not names or job.name in names or job.group in names]
