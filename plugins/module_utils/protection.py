# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What S3 does to keep each backup safe: its storage class, server-side encryption, and an
object lock that not even the backed-up host's own credentials can lift before its date.
A backup's volumes and its file index are locked once all of them are stored (backup._lock), not
as each is uploaded: a run that fails halfway can then delete what it stored, where a volume
locked at its upload would stay, billed and unremovable, until its date. The manifest, written
last, is locked as it is uploaded.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
)
# What S3 bills an object of these classes for at the least, deleted sooner or not: docs.aws.amazon.com
# AmazonS3/latest/userguide/storage-class-intro.html ("minimum storage duration charge").
MINIMUM_DAYS = {"STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90, "DEEP_ARCHIVE": 180}
# Classes whose objects must be restored (RestoreObject) before a GET: retrieval.py.
ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")
ENCRYPTIONS = ("AES256", "aws:kms", "aws:kms:dsse")
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
MAX_LOCK_DAYS = 36500


@dataclass(frozen=True)
class Protection:
    storage_class: str | None = None  # data objects of either kind, unless one of the two below says
    storage_class_fulls: str | None = None
    storage_class_diffs: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None
    object_lock_days: int | None = None
    object_lock_mode: str = "COMPLIANCE"

    def problems(self) -> list[str]:
        found = []
        for option in ("storage_class", "storage_class_fulls", "storage_class_diffs"):
            value = getattr(self, option)
            if value is not None and value not in STORAGE_CLASSES:
                found.append(f"{option} must be one of {', '.join(STORAGE_CLASSES)}, not {value!r}")
        if self.sse is not None and self.sse not in ENCRYPTIONS:
            found.append(f"sse must be one of {', '.join(ENCRYPTIONS)}, not {self.sse!r}")
        if self.sse_kms_key_id and not (self.sse or "").startswith("aws:kms"):
            found.append("sse_kms_key_id needs sse: aws:kms (or aws:kms:dsse)")
        if self.object_lock_days is not None and not 1 <= self.object_lock_days <= MAX_LOCK_DAYS:
            found.append(f"object_lock_days must be from 1 to {MAX_LOCK_DAYS}")
        if self.object_lock_mode not in LOCK_MODES:
            found.append(f"object_lock_mode must be one of {', '.join(LOCK_MODES)}, not {self.object_lock_mode!r}")
        return found

    def retain_until(self, now: datetime.datetime) -> datetime.datetime | None:
        if not self.object_lock_days:
            return None
        return (now + datetime.timedelta(days=self.object_lock_days)).replace(microsecond=0)

    def encryption_arguments(self) -> dict:
        arguments = {}
        if self.sse:
            arguments["ServerSideEncryption"] = self.sse
        if self.sse_kms_key_id:
            arguments["SSEKMSKeyId"] = self.sse_kms_key_id
        return arguments

    def lock_arguments(self, until: datetime.datetime | None) -> dict:
        if until is None:
            return {}
        return {"ObjectLockMode": self.object_lock_mode, "ObjectLockRetainUntilDate": until}

    def storage_class_of(self, kind: str) -> str | None:
        """The storage class of a ``full`` or a ``diff`` data object (None: the bucket's default)."""
        return (self.storage_class_fulls if kind == "full" else self.storage_class_diffs) or self.storage_class

    def data_arguments(self, kind: str = "full") -> dict:
        """PutObject's arguments for each volume of a data object of ``kind`` (no lock yet)."""
        arguments = self.encryption_arguments()
        storage_class = self.storage_class_of(kind)
        if storage_class:
            arguments["StorageClass"] = storage_class
        return arguments

    def manifest_arguments(self, until: datetime.datetime | None) -> dict:
        """PutObject's for a manifest: locked and encrypted alike, but always in STANDARD, where a
        small object costs no minimum size or retrieval fee and can be read at once."""
        return {**self.encryption_arguments(), **self.lock_arguments(until)}


def early_deletions(protection: Protection, life_days) -> list[str]:
    """Warnings for each kind whose storage class bills longer than rotation keeps it:
    ``life_days(kind)`` is the shortest life rotation gives a backup of that kind (None: unknown)."""
    warnings = []
    for kind, option in (("full", "storage_class_fulls"), ("diff", "storage_class_diffs")):
        storage_class = protection.storage_class_of(kind)
        minimum = MINIMUM_DAYS.get(storage_class or "")
        life = life_days(kind)
        if minimum and life is not None and life < minimum:
            warnings.append(
                f"{storage_class} bills {minimum} days per object, and rotation deletes {kind}s after as few as"
                f" {life} days: each pays for {minimum - life} days it is no longer kept. Keep {kind}s longer"
                f" (fulls, diffs, frequency) or set {option} to a class without a minimum (STANDARD)"
            )
    return warnings
