# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's plan for one host: its jobs checked by the engine's own rules, the config file the
host command reads, and when each job runs."""

from __future__ import annotations

DOCUMENTATION = r"""
name: s3napback_plan
short_description: Check a host's backup jobs and plan their config file and schedule
version_added: 0.1.0
description:
  - Used by the C(s3napback.s3napback.s3napback) role. Checks each job with the same rules as the
    C(s3napback.s3napback.s3napback) module and the host command, and fails naming the job.
  - Returns the host command's configuration and one schedule entry per job, its time moved by a
    splay that is random per host and job but the same on every run.
options:
  _input:
    description: The group's jobs (C(s3napback_jobs)), dicts of the module's option names plus C(hour), C(minute)
      and C(healthcheck_url).
    type: list
    elements: dict
    required: true
  host_jobs:
    description: The host's jobs (C(s3napback_host_jobs)); one named like a group job replaces it.
    type: list
    elements: dict
    default: []
  settings:
    description: Options every job gets from the role's own variables (bucket, prefix, connection, keyring ...);
      null values are left out.
    type: dict
    default: {}
  defaults:
    description: C(s3napback_defaults), options shared by the jobs; a job's own value wins.
    type: dict
    default: {}
  host:
    description: The seed of the splay, normally C(inventory_hostname).
    type: str
    required: true
  splay:
    description: Minutes; each job starts up to this much after its hour and minute.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Plan the host's backups
  ansible.builtin.set_fact:
    plan: "{{ s3napback_jobs | s3napback.s3napback.s3napback_plan(host=inventory_hostname, settings={'bucket': 'b'}) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    config:
      description: The host command's configuration, C(defaults) and C(jobs).
      type: dict
    schedule:
      description: One entry per job, with C(name) (what C(s3napback run) selects), C(hour), C(minute),
        C(unit) (a systemd unit name) and C(source) (the source option it uses).
      type: list
      elements: dict
"""

import random

from ansible.errors import AnsibleFilterError

from ansible_collections.s3napback.s3napback.plugins.module_utils import config, options
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import SOURCES, backup_requests, expands

SCHEDULE = {"hour": options.Option("int", 3), "minute": options.Option("int", 0)}
# Options that have a role variable of their own: one place to set each.
ROLE_VARIABLES = ("bucket", "prefix", "gpg_recipient", "gpg_home", "state_dir", *options.CONNECTION)


def _unit(name: str) -> str:
    """``name`` as a systemd unit name, escaped the way systemd-escape does."""
    return "s3napback-" + "".join(c if c.isalnum() or c in "_.-" else f"\\x{ord(c):02x}" for c in name)


def _schedule_of(number: int, job: dict, defaults: dict) -> dict:
    values = {key: job.pop(key, defaults.get(key)) for key in SCHEDULE}
    try:
        typed = options.typed_options({k: v for k, v in values.items() if v is not None}, SCHEDULE)
    except ValueError as exc:
        raise AnsibleFilterError(f"s3napback_jobs: {config.label(number, job)}: {exc}") from None
    if not 0 <= typed["hour"] <= 23 or not 0 <= typed["minute"] <= 59:
        raise AnsibleFilterError(f"s3napback_jobs: {config.label(number, job)}: hour must be 0-23 and minute 0-59")
    return typed


def _request(values: dict):
    """The request of a job of one set; made without reading the host's disk or databases."""
    (request,), _notes = backup_requests(values)
    return request


def _selector(number: int, job: dict, values: dict, group: str | None) -> str:
    """The name ``s3napback run`` selects the job by: its own, or its set's."""
    if group or values["name"]:
        return group or values["name"]
    if expands(values):
        raise AnsibleFilterError(
            f"s3napback_jobs: {config.label(number, job)}: give this job a name: it backs up several sets"
        )
    return _request(values).set_name


def _merged(jobs: list, host_jobs: list) -> list:
    """Group jobs, each replaced by the host job of the same name, then the host's other jobs."""
    for where, listed in (("s3napback_jobs", jobs), ("s3napback_host_jobs", host_jobs)):
        if not isinstance(listed, list) or not all(isinstance(job, dict) for job in listed):
            raise AnsibleFilterError(f"{where} must be a list of dicts of option: value")
        named = [job["name"] for job in listed if job.get("name")]
        for name in named:
            if named.count(name) > 1:
                raise AnsibleFilterError(f"{where}: two jobs are named {name}: give one of them another name")
    by_name = {job["name"]: job for job in host_jobs if job.get("name")}
    replaced = [by_name.pop(job["name"], job) if job.get("name") else job for job in jobs]
    return replaced + [job for job in host_jobs if not job.get("name") or job["name"] in by_name]


def s3napback_plan(jobs, host, *, settings=None, defaults=None, host_jobs=None, splay=60):
    settings = {key: value for key, value in (settings or {}).items() if value not in (None, "", [])}
    defaults = dict(defaults or {})
    doubled = sorted(set(defaults) & set(ROLE_VARIABLES))
    if doubled:
        raise AnsibleFilterError(f"s3napback_defaults: set s3napback_{doubled[0]} instead of {doubled[0]} here")
    schedule_defaults = {key: defaults.pop(key) for key in SCHEDULE if key in defaults}
    shared = {**settings, **defaults}
    planned, names = [], {}
    for number, given in enumerate(_merged(jobs, host_jobs or []), start=1):
        job = dict(given)
        when = _schedule_of(number, job, schedule_defaults)
        try:
            values, _reporting, group = config.check_job(job, shared)
        except ValueError as exc:
            raise AnsibleFilterError(f"s3napback_jobs: {config.label(number, job)}: {exc}") from None
        if not expands(values):
            problems = _request(values).problems()
            if problems:
                raise AnsibleFilterError(f"s3napback_jobs: {config.label(number, job)}: {problems[0]}")
        name = _selector(number, job, values, group)
        if name in names:
            raise AnsibleFilterError(
                f"s3napback_jobs: jobs {names[name]} and {number} are both named {name}: give one of them another name"
            )
        names[name] = number
        # Spreads a fleet over the splay window, the same on every run; not a secret.
        delay = random.Random(host + name).randrange(0, max(splay, 1))  # noqa: S311
        start = (when["hour"] * 60 + when["minute"] + delay) % 1440
        source = next(option for option in SOURCES if values.get(option))
        planned.append({"name": name, "hour": start // 60, "minute": start % 60, "unit": _unit(name), "source": source})
        planned[-1]["job"] = job
    return {
        "config": {"defaults": shared, "jobs": [entry.pop("job") for entry in planned]},
        "schedule": planned,
    }


class FilterModule:
    def filters(self):
        return {"s3napback_plan": s3napback_plan}
