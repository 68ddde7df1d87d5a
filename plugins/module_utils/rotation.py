# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rotation: which objects to delete so that only the newest ``fulls`` chains remain.

Whole chains go, never a full under a kept diff. Within a chain the newest diff goes first and the
full last, and each backup's manifest before its data, so an interrupted rotation leaves a shorter
chain that still restores, never a diff without its parent.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schedule import Schedule
from .set_listing import Backup, SetListing


def _keys_of(backups: list[Backup]) -> list[str]:
    return [key for backup in reversed(backups) for key in backup.keys]


def expired_groups(listing: SetListing, fulls: int) -> list[list[str]]:
    """Keys to delete, in deletion order, to keep the newest ``fulls`` chains of ``listing``: one
    group per expired chain, then one of the leftovers older than the oldest kept full. A group
    goes whole or not at all, so a locked diff keeps its full."""
    chains, orphans = listing.chains()
    expired, kept = chains[:-fulls], chains[-fulls:]
    groups = [_keys_of(chain.backups) for chain in expired]
    if kept:
        groups.append(_leftovers(listing, orphans, kept[0].full.key))
    return [group for group in groups if group]


def expired_keys(listing: SetListing, fulls: int) -> list[str]:
    """Keys to delete, in deletion order, to keep the newest ``fulls`` chains of ``listing``."""
    return [key for group in expired_groups(listing, fulls) for key in group]


CYCLES = ("simple", "hanoi")
KEEP_RULES = ("keep_daily", "keep_weekly", "keep_monthly")
MAX_DISCS = 32


@dataclass(frozen=True)
class Retention:
    """Which backups rotation keeps: the schedule's newest ``fulls`` chains (the simple cycle); the newest
    chain of each of ``discs`` Tower of Hanoi discs, whose ages double from disc to disc
    (``cycle: hanoi``); or grandfather-father-son rules, the newest backup of each of the last
    ``keep_daily`` days, ``keep_weekly`` ISO weeks and ``keep_monthly`` months, each kept with the
    part of its chain it needs."""

    cycle: str = "simple"
    discs: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None

    @property
    def rules(self) -> dict:
        return {name: getattr(self, name) for name in KEEP_RULES if getattr(self, name) is not None}

    def problems(self) -> list[str]:
        found = []
        if self.cycle not in CYCLES:
            found.append(f"cycle must be one of {', '.join(CYCLES)}, not {self.cycle!r}")
        if self.cycle == "hanoi" and not (isinstance(self.discs, int) and 1 <= self.discs <= MAX_DISCS):
            found.append(f"cycle hanoi needs discs, from 1 to {MAX_DISCS}")
        if self.cycle != "hanoi" and self.discs is not None:
            found.append("discs applies to cycle: hanoi only")
        if self.rules and self.cycle == "hanoi":
            found.append("keep_daily, keep_weekly and keep_monthly cannot be combined with cycle: hanoi")
        for name, value in self.rules.items():
            if not 0 <= value <= 10000:
                found.append(f"{name} must be from 0 to 10000, not {value}")
        return found

    def expired_groups(self, listing: SetListing, schedule: Schedule) -> list[list[str]]:
        """Keys to delete, in groups that each go whole, in deletion order."""
        if self.rules:
            return _expired_by_rules(listing, self.rules)
        if self.cycle == "hanoi":
            if self.discs is None:
                raise AssertionError("problems() requires discs for cycle hanoi")
            return _expired_by_discs(listing, schedule, self.discs)
        return expired_groups(listing, schedule.fulls)

    def expired_keys(self, listing: SetListing, schedule: Schedule) -> list[str]:
        return [key for group in self.expired_groups(listing, schedule) for key in group]

    def shortest_life_days(self, schedule: Schedule, kind: str) -> int | None:
        """The fewest days a ``kind`` backup is kept by the simple cycle with every run made: a
        chain goes when the chain ``fulls`` later starts, so its full lives fulls x (diffs + 1)
        periods and its last diff ``diffs`` periods less. None for other retention models, whose
        lives depend on the calendar."""
        if self.rules or self.cycle != "simple":
            return None
        chain = schedule.diffs + 1
        periods = schedule.fulls * chain - (schedule.diffs if kind == "diff" else 0)
        return periods * schedule.frequency


def _leftovers(listing: SetListing, orphans: list[Backup], oldest_kept: str) -> list[str]:
    keys = _keys_of([b for b in orphans if b.key < oldest_kept])
    keys += [k for stray in listing.strays if stray < oldest_kept for k in listing.stray_keys(stray)]
    keys += [k for k in listing.lonely_manifests if k < oldest_kept]
    keys += [k for k in listing.lonely_indexes if k < oldest_kept]
    keys += [k for k in listing.lonely_volumes if k < oldest_kept]
    return keys


def _disc(cycle: int, discs: int) -> int:
    """The Tower of Hanoi disc of a cycle: 0 every other cycle, 1 every fourth, 2 every eighth ...
    (the ruler sequence), the last disc taking the rest."""
    number = cycle + 1
    return min((number & -number).bit_length() - 1, discs - 1)


def _expired_by_discs(listing: SetListing, schedule: Schedule, discs: int) -> list[list[str]]:
    chains, orphans = listing.chains()
    newest_of_disc = {}
    for chain in chains:  # oldest first: a later chain of the same disc replaces the earlier
        cycle = schedule.cycle(schedule.period(chain.full.stamp))
        newest_of_disc[_disc(cycle, discs)] = chain.full.key
    kept = set(newest_of_disc.values())
    groups = [_keys_of(chain.backups) for chain in chains if chain.full.key not in kept]
    if kept:
        groups.append(_leftovers(listing, orphans, min(kept)))
    return [group for group in groups if group]


def _newest_of_each(backups: list[Backup], bucket_of, count: int) -> set[str]:
    newest: dict = {}
    for backup in backups:  # oldest first: the newest of each bucket wins
        newest[bucket_of(backup.stamp)] = backup.key
    return {key for _bucket, key in sorted(newest.items())[-count:]} if count else set()


BUCKETS = {
    "keep_daily": lambda stamp: stamp.date(),
    "keep_weekly": lambda stamp: stamp.isocalendar()[:2],
    "keep_monthly": lambda stamp: (stamp.year, stamp.month),
}


def _expired_by_rules(listing: SetListing, rules: dict) -> list[list[str]]:
    chains, orphans = listing.chains()
    backups = [backup for chain in chains for backup in chain.backups]
    if not backups:
        return []
    kept = {backups[-1].key}  # the newest backup, whatever the rules say: the next diff needs it
    for name, count in rules.items():
        kept |= _newest_of_each(backups, BUCKETS[name], count)
    groups = []
    for chain in chains:
        needed = [i for i, backup in enumerate(chain.backups) if backup.key in kept]
        if not needed:
            groups.append(_keys_of(chain.backups))
        elif needed[-1] + 1 < len(chain.backups):  # a kept diff needs its full and the diffs before it
            groups.append(_keys_of(chain.backups[needed[-1] + 1 :]))
    oldest_kept = min(chain.full.key for chain in chains if any(b.key in kept for b in chain.backups))
    groups.append(_leftovers(listing, orphans, oldest_kept))
    return [group for group in groups if group]
