# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decision of one run: nothing to do, a full, or a diff, and why, in words for the operator."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable

from .errors import BackupError
from .schedule import Schedule
from .set_listing import Backup, SetListing


@dataclass(frozen=True)
class Plan:
    kind: str | None  # "full", "diff", or None when there is nothing to do
    reason: str
    period: int
    parent: Backup | None = None
    chain: Backup | None = None  # the full the new backup depends on (itself for a full)


@dataclass(frozen=True)
class PlanInputs:
    schedule: Schedule
    listing: SetListing
    now: datetime.datetime
    incremental: bool  # whether the source can make diffs at all
    state_key: str | None  # the backup this host's incremental state follows, if any
    # Why the newest chain cannot take another diff, or None. Asked only when a diff could follow,
    # because the answer reads every manifest of the chain from S3.
    chain_problem: Callable[[], str | None] = lambda: None
    force: bool = False
    force_full: bool = False


def _full_reason(inputs: PlanInputs, period: int) -> str | None:
    """Why this run must be a full, or None when a diff may follow the newest backup."""
    schedule, newest = inputs.schedule, inputs.listing.newest
    chain = inputs.listing.chain_of_newest()
    if inputs.force_full:
        return "force_full was requested"
    if not inputs.incremental:
        return "this source is always backed up in full"
    if schedule.diffs == 0:
        return "diffs is 0, so every backup is a full"
    if newest is None:
        return "this set has no backup yet"
    if chain is None:
        return f"the newest backup {newest.key} has no full before it"
    if inputs.state_key is None:
        return "this host has no incremental state for this set"
    if inputs.state_key != newest.key:
        return f"this host's incremental state follows {inputs.state_key}, not the newest backup {newest.key}"
    if schedule.cycle(schedule.period(chain.full.stamp)) != schedule.cycle(period):
        return "a new cycle starts"
    if len(chain.diffs) >= schedule.diffs:
        return f"the chain already has its {schedule.diffs} diffs"
    problem = inputs.chain_problem()  # last: it is the one check that reads from S3
    if problem:
        return f"the newest chain is broken: {problem}"
    return None


def plan_backup(inputs: PlanInputs) -> Plan:
    schedule, newest = inputs.schedule, inputs.listing.newest
    period = schedule.period(inputs.now)
    if newest is not None and not inputs.force:
        newest_period = schedule.period(newest.stamp)
        if newest_period > period:
            raise BackupError(
                "schedule",
                f"the newest backup {newest.key} is dated after now ({inputs.now:%Y-%m-%dT%H:%M:%SZ});"
                " check this host's clock, or run with force to back up anyway",
            )
        if newest_period == period:
            start = schedule.period_start(period)
            return Plan(None, f"this period (from {start}) already has backup {newest.key}", period)
    reason = _full_reason(inputs, period)
    if reason is not None:
        return Plan("full", reason, period)
    chain = inputs.listing.chain_of_newest()
    if chain is None:
        raise AssertionError("_full_reason returned None, so the newest backup has a chain")
    return Plan(
        "diff",
        f"diff {len(chain.diffs) + 1} of {schedule.diffs} in the chain of {chain.full.key}",
        period,
        parent=newest,
        chain=chain.full,
    )
