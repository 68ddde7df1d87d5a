# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a killed run leaves in its set, and the next run clearing it under the set's lock.

A run can die at any instruction (SIGKILL, the OOM killer, a host that loses power). Between two
of its writes to the bucket it leaves one of:

- an open multipart upload: killed before CompleteMultipartUpload;
- a stray: a data object without its manifest, with its file index or without, killed after the
  data object was complete and before its manifest was written (an object without its manifest
  is not a backup: no restore reads it);
- a lonely file index: killed while a failed run deleted its data object, then its index;
- a lonely volume: a data's second or later volume without the first one, killed while the first
  was still uploading, or while a failed run deleted the volumes.

Each is billed and none restores. The next run of the set holds the set's lock, so no run of the
set is behind them any more: it aborts every open upload, and removes the strays, lonely indexes
and lonely volumes newer than the newest backup, which only a run that never finished can have
written. An older stray may be something else, a backup whose manifest someone deleted: it is reported
(``s3napback list``, ``s3napback_info``) and left to rotation, which removes it once it passes it.

Under Object Lock a stray is locked from its upload's start like every data object, and cannot be
deleted before its date: it is reported with that date, and remembered in the set's state so that
later runs try it again, although the backups they make are newer than it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from . import naming
from .s3 import Bucket
from .set_listing import SetListing
from .state import SetState


@dataclass
class Debris:
    """What a run cleared (or, in check mode, would clear)."""

    aborted_uploads: list[str] = field(default_factory=list)  # keys of the uploads aborted
    removed_strays: list[str] = field(default_factory=list)  # keys removed, in the order removed
    locked_strays: list[dict] = field(default_factory=list)  # {"key", "locked_until"}: kept for now


def leftover_groups(listing: SetListing, remembered: list[str]) -> list[list[str]]:
    """The leftovers of killed runs to remove, one group of keys per stray (its index, then its
    data's volumes, the first last), lonely index or lonely volume: those newer than the newest
    backup, and those an object lock kept from an earlier run (``remembered``)."""
    newest = listing.newest.key if listing.newest else ""
    again = set(remembered)
    groups = [listing.stray_keys(key) for key in listing.strays if key > newest or key in again]
    groups += [[key] for key in listing.lonely_indexes if key > newest or key in again]
    groups += [[key] for key in listing.lonely_volumes if key > newest or key in again]
    return groups


class DebrisCleaner:
    """Clears one set's leftovers: only ever with the set's lock held (or, ``dry_run``, only says
    what that would remove)."""

    def __init__(self, bucket: Bucket, set_prefix: str, state: SetState, object_lock: bool, now: datetime.datetime):
        self.bucket, self.set_prefix, self.state = bucket, set_prefix, state
        self.object_lock, self.now = object_lock, now

    def clear(self, listing: SetListing, dry_run: bool = False) -> Debris:
        debris = Debris()
        for upload in self.bucket.open_uploads(self.set_prefix):
            if not dry_run:
                self.bucket.abort_multipart(upload["key"], upload["upload_id"])
            debris.aborted_uploads.append(upload["key"])
        kept = []
        for group in leftover_groups(listing, self.state.locked_strays()):
            versions = self._unlocked_versions(group, debris)
            if versions is None:
                kept.append(group[-1])
                continue
            if not dry_run:
                self.bucket.delete_in_order(group, versions)
            debris.removed_strays += group
        if not dry_run:
            self.state.keep_locked_strays(kept)
        return debris

    def _unlocked_versions(self, group: list[str], debris: Debris) -> dict | None:
        """Without Object Lock, {} (a plain delete); with it, each key's version to delete (a plain
        delete would only hide it behind a delete marker, its storage still billed), or None
        while a lock holds any of them: each locked key goes into ``debris.locked_strays``."""
        if not self.object_lock:
            return {}
        versions, locked = {}, []
        for key in group:
            version, until = self.bucket.lock_of(key)
            if until is not None and until > self.now:
                locked.append({"key": key, "locked_until": naming.iso(until)})
            versions[key] = version
        debris.locked_strays += locked
        return None if locked else versions
