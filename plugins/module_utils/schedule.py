# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simple cycle: which period a moment falls in, and which periods start a new full chain.

Days are counted in UTC from a fixed epoch (1970-01-01), never from the day of the year, so a
cycle runs across 31 December like any other night.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

EPOCH = datetime.date(1970, 1, 1)

LIMITS = {
    "frequency": (1, 366),
    "phase": (0, 366),
    "diffs": (0, 1000),
    "fulls": (1, 1000),
}


def utc_day(moment: datetime.datetime) -> int:
    """Days since the epoch of ``moment`` in UTC (a naive moment is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return (moment.date() - EPOCH).days


@dataclass(frozen=True)
class Schedule:
    """``frequency`` days per period, shifted by ``phase`` days; ``diffs`` incrementals after each
    full; ``fulls`` full chains kept by rotation."""

    frequency: int = 1
    phase: int = 0
    diffs: int = 6
    fulls: int = 4

    def problems(self) -> list[str]:
        found = []
        for field, (low, high) in LIMITS.items():
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                found.append(f"{field} must be an integer from {low} to {high}, not {value!r}")
        return found

    def period(self, moment: datetime.datetime) -> int:
        """The period ``moment`` falls in: at most one backup is made per period."""
        return (utc_day(moment) + self.phase) // self.frequency

    def cycle(self, period: int) -> int:
        """The cycle of a period: each cycle holds one chain, a full and up to ``diffs`` diffs."""
        return period // (self.diffs + 1)

    def period_start(self, period: int) -> datetime.date:
        return EPOCH + datetime.timedelta(days=period * self.frequency - self.phase)
