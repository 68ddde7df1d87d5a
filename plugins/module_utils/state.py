# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A set's incremental state on this host: the source's snapshot (tar's ``--listed-incremental``
file) and a record of the backup it follows.

A run works on a copy of the snapshot; the copy replaces the real one only after the upload and
its manifest have succeeded, so a failed run leaves the state exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil

from . import files
from .errors import BackupError


class SetState:
    def __init__(self, state_dir: str, set_id: str):
        self.state_dir = state_dir
        base = os.path.join(state_dir, set_id)
        self.snapshot = f"{base}.snar"
        self.record_path = f"{base}.json"
        self.lock_path = f"{base}.lock"
        self.pending_snapshot = f"{base}.snar.new"
        self.locked_strays_path = f"{base}.locked-strays.json"

    def record(self) -> dict:
        """What the last successful run recorded (``last_key``, ``chain``, a source's own fields),
        or {} when there is no usable record."""
        try:
            with open(self.record_path, "rb") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def follows(self, needs_snapshot: bool) -> str | None:
        """The key of the backup this host's state follows, or None when there is no usable state."""
        if needs_snapshot and not os.path.exists(self.snapshot):
            return None
        return self.record().get("last_key")

    def prepare(self, kind: str) -> str:
        """A working snapshot for a ``kind`` run: a copy of the current one for a diff, none for a full."""
        files.remove_quietly(self.pending_snapshot)
        if kind == "diff":
            try:
                shutil.copyfile(self.snapshot, self.pending_snapshot)
                os.chmod(self.pending_snapshot, 0o600)
            except OSError as exc:
                raise BackupError("state", f"cannot copy {self.snapshot}: {exc.strerror}") from exc
        return self.pending_snapshot

    def commit(self, key: str, chain: str, extra: dict, snapshot: bool) -> None:
        """Record backup ``key`` (and make the working snapshot current), now that it is stored."""
        if snapshot:
            try:
                with open(self.pending_snapshot, "rb") as handle:
                    os.fchmod(handle.fileno(), 0o600)  # tar created it under the umask; it lists every path
                    os.fsync(handle.fileno())
                os.replace(self.pending_snapshot, self.snapshot)
            except OSError as exc:
                raise BackupError("state", f"cannot replace {self.snapshot}: {exc.strerror}") from exc
        record = {**extra, "last_key": key, "chain": chain}
        files.write_private(self.record_path, json.dumps(record, indent=2).encode(), "state")

    def discard(self) -> None:
        files.remove_quietly(self.pending_snapshot)

    def locked_strays(self) -> list[str]:
        """Leftovers of killed runs that an object lock kept from an earlier run's cleanup: later
        runs try them again, though backups made since are newer than they are (debris.py)."""
        try:
            with open(self.locked_strays_path, "rb") as handle:
                keys = json.load(handle)
        except (OSError, ValueError):
            return []
        return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []

    def keep_locked_strays(self, keys: list[str]) -> None:
        if keys:
            files.write_private(self.locked_strays_path, json.dumps(sorted(keys), indent=2).encode(), "state")
        else:
            files.remove_quietly(self.locked_strays_path)
