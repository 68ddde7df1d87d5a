# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading backups kept in cold storage: S3 refuses a GET of a GLACIER or DEEP_ARCHIVE object
until a RestoreObject has made a temporary copy of it, which takes minutes to days.

Before a restore or verify reads anything, each object it needs is looked at (one HEAD): those
archived and not restored are asked for, once (an object whose restore is under way is never asked
again), at the tier the operator chose. Then the run either returns at once, saying what was asked
and when AWS says it is likely ready, or waits for it, polling with backoff until a deadline. The
same run later finds the copies ready and carries on.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from .errors import BackupError
from .protection import ARCHIVED
from .s3 import Bucket

TIERS = ("Bulk", "Standard", "Expedited")
# AWS's typical times, as its user guide states them ("Understanding archive retrieval options",
# docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects-retrieval-options.html);
# a tier missing from a class (Expedited for DEEP_ARCHIVE) is refused by S3.
TYPICAL = {
    "GLACIER": {"Expedited": "1-5 minutes", "Standard": "3-5 hours", "Bulk": "5-12 hours"},
    "DEEP_ARCHIVE": {"Standard": "within 12 hours", "Bulk": "within 48 hours"},
}
MAX_DAYS = 365
MAX_WAIT_S = 48 * 3600
FIRST_POLL_S, LONGEST_POLL_S = 1.0, 300.0


@dataclass(frozen=True)
class Retrieval:
    """How to get archived objects back: at which tier, for how many days, and whether to wait."""

    tier: str = "Bulk"
    days: int = 7
    wait: bool = False
    wait_timeout: int = 12 * 3600

    def problems(self) -> list[str]:
        found = []
        if self.tier not in TIERS:
            found.append(f"retrieval_tier must be one of {', '.join(TIERS)}, not {self.tier!r}")
        if not 1 <= self.days <= MAX_DAYS:
            found.append(f"retrieval_days must be from 1 to {MAX_DAYS}, not {self.days}")
        if self.wait and not 1 <= self.wait_timeout <= MAX_WAIT_S:
            found.append(f"wait needs a wait_timeout from 1 to {MAX_WAIT_S} seconds, not {self.wait_timeout}")
        return found


@dataclass
class Archived:
    """An object of an archived class that a run needs, and where its restored copy stands."""

    key: str
    size: int
    storage_class: str
    state: str  # "archived" (no copy asked for), "in_progress" or "ready"
    expires: str | None = None  # when a ready copy goes away, as S3 says it

    def as_dict(self) -> dict:
        return dict(self.__dict__)


_ONGOING_RE = re.compile(r'ongoing-request="(true|false)"')
_EXPIRY_RE = re.compile(r'expiry-date="([^"]+)"')


def state_of(header: str | None) -> tuple[str, str | None]:
    """("archived" | "in_progress" | "ready", the copy's expiry) from an ``x-amz-restore`` header."""
    if not header:
        return "archived", None
    ongoing = _ONGOING_RE.search(header)
    expiry = _EXPIRY_RE.search(header)
    if ongoing and ongoing.group(1) == "true":
        return "in_progress", None
    return "ready", expiry.group(1) if expiry else None


def survey(bucket: Bucket, objects: list[tuple[str, int]]) -> list[Archived]:
    """The archived ones among ``objects`` (key, size): one HEAD each of those the bucket's
    listing did not show in another class."""
    found = []
    for key, size in objects:
        if bucket.listed_classes.get(key, ARCHIVED[0]) not in ARCHIVED:
            continue
        storage_class, header = bucket.archive_state(key)
        if storage_class in ARCHIVED:
            state, expires = state_of(header)
            found.append(Archived(key, size, storage_class, state, expires))
    return found


def tier_problem(archived: list[Archived], tier: str) -> str | None:
    refused = next((a for a in archived if a.state == "archived" and tier not in TYPICAL[a.storage_class]), None)
    if refused is None:
        return None
    allowed = " or ".join(TYPICAL[refused.storage_class])
    return f"retrieval_tier {tier} is not available for {refused.storage_class} ({refused.key}): use {allowed}"


def request(bucket: Bucket, archived: list[Archived], retrieval: Retrieval) -> list[str]:
    """Ask S3 to restore what no one asked for yet; the keys asked for. The tier is checked for
    every object first, so a refusal asks for nothing."""
    problem = tier_problem(archived, retrieval.tier)
    if problem:
        raise BackupError("config", problem)
    asked = []
    for each in archived:
        if each.state == "archived":
            bucket.request_restore(each.key, retrieval.days, retrieval.tier)
            each.state = "in_progress"
            asked.append(each.key)
    return asked


def report(archived: list[Archived], asked: list[str], retrieval: Retrieval, check_mode: bool = False) -> dict:
    """What a run says of the retrieval: what it asked for (in check mode, would ask for), what is
    under way and ready, the bytes, and AWS's typical time for each class at this tier."""
    waiting = [a for a in archived if a.state != "ready"]
    classes = sorted({a.storage_class for a in archived})
    return {
        "tier": retrieval.tier,
        "days": retrieval.days,
        "requested": [a.key for a in archived if a.state == "archived"] if check_mode else asked,
        "in_progress": [a.key for a in archived if a.state == "in_progress" and a.key not in asked],
        "ready": [a.key for a in archived if a.state == "ready"],
        "objects": len(waiting),
        "bytes": sum(a.size for a in waiting),
        "expected_ready": {c: TYPICAL[c].get(retrieval.tier, "not offered") for c in classes},
        "expected_ready_source": "AWS's typical retrieval times for this tier (S3 user guide)",
    }


def wait_until_ready(
    bucket: Bucket,
    archived: list[Archived],
    retrieval: Retrieval,
    progress: Callable[[str, int], None],
) -> None:
    """Poll each object not yet ready, with backoff, until all are or ``wait_timeout`` passes."""
    deadline = time.monotonic() + retrieval.wait_timeout
    pause = FIRST_POLL_S
    while True:
        for each in archived:
            if each.state != "ready":
                each.state, each.expires = state_of(bucket.archive_state(each.key)[1])
        progress("waiting for the retrieval", sum(a.size for a in archived if a.state == "ready"))
        pending = [a for a in archived if a.state != "ready"]
        if not pending:
            return
        if time.monotonic() + pause > deadline:
            raise BackupError(
                "retrieval",
                f"{len(pending)} of {len(archived)} archived objects not restored after {retrieval.wait_timeout} s,"
                f" first {pending[0].key}: run again later, it goes on where it stopped",
            )
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_POLL_S)
