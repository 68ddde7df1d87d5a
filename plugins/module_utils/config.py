# s3napback's engine: plain Python shared by the modules and the host command. Private to this
# collection; its interfaces may change without notice.
"""The host command's configuration: a YAML file of jobs with the module's option names.

defaults:            # shared by every job; a job's own value wins
  bucket: backups
  gpg_recipient: backup@example.com
jobs:
  - directory: /etc
  - name: www
    directory: /srv/www
    exclude: [cache]
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from . import options
from .errors import BackupError
from .request import BackupRequest

try:
    import yaml
except ImportError:  # the host command says which package is missing
    yaml = None

DEFAULT_PATH = "/etc/s3napback/config.yml"


@dataclass(frozen=True)
class Job:
    name: str
    options: dict  # every backup option, defaults filled in
    request: BackupRequest


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
    if not isinstance(document, dict) or set(document) - {"defaults", "jobs"}:
        raise _fail(path, "must be a mapping with 'defaults' and 'jobs' only")
    document["_mode"] = stat.S_IMODE(mode)
    return document


def load(path: str = DEFAULT_PATH) -> tuple[list[Job], list[str]]:
    """The jobs of the config file at ``path``, each checked, and notes on skipped directories of
    ``svn_parent`` jobs; raises a BackupError naming the job."""
    document = _read(path)
    defaults = document.get("defaults") or {}
    jobs = document.get("jobs") or []
    if not isinstance(defaults, dict):
        raise _fail(path, "defaults must be a mapping of option: value")
    if not isinstance(jobs, list) or not all(isinstance(job, dict) for job in jobs):
        raise _fail(path, "jobs must be a list of mappings of option: value")
    secrets = [name for name in options.SECRETS if defaults.get(name) or any(job.get(name) for job in jobs)]
    if secrets and document["_mode"] & 0o077:
        raise _fail(path, f"holds {secrets[0]} but others may read it: chmod 600 {path}")
    loaded: list[Job] = []
    skipped: list[str] = []
    for number, job in enumerate(jobs, start=1):
        label = f"job {number}" + (f" ({job['name']})" if job.get("name") else "")
        try:
            values = options.typed_options({**defaults, **job}, options.BACKUP)
        except ValueError as exc:
            raise _fail(path, f"{label}: {exc}") from None
        problem = options.source_problem(values)
        if problem:
            raise _fail(path, f"{label}: {problem}")
        if not values["bucket"]:
            raise _fail(path, f"{label}: bucket is required")
        requests, notes = options.backup_requests(values)  # svn_parent: a job per repository
        for request in requests:
            loaded.append(Job(request.set_name, values, request))
        skipped.extend(notes)
    names = [job.name for job in loaded]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise _fail(path, f"two jobs are named {duplicates[0]}: give one of them another name")
    return loaded, skipped


def select(jobs: list[Job], names: list[str]) -> list[Job]:
    """The jobs called ``names`` (all of them when ``names`` is empty)."""
    unknown = [name for name in names if name not in {job.name for job in jobs}]
    if unknown:
        known = ", ".join(job.name for job in jobs) or "none"
        raise BackupError("config", f"no job named {unknown[0]} (jobs: {known})")
    return [job for job in jobs if not names or job.name in names]
