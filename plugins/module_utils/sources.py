# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backup sources: what produces the stream at the head of the pipe.

A source checks that it can be read, names its set, and prepares each run's pipeline stage. This
file holds directories and what every source shares; databases.py and svn.py hold the others.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable

from . import file_index, naming
from .errors import BackupError
from .pipeline import Stage, StageResult
from .state import SetState

_TOTALS_RE = re.compile(r"^Total bytes written: (\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Prepared:
    """What a source gives one run: the head of the pipe, what to record in the host's state once
    the backup is stored, and what to add to the manifest."""

    stage: Stage
    record: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    cleanup: Callable[[], None] = lambda: None  # removes what the stage needed (a 0600 password file)


class BaseSource:
    """What a source does unless it knows better: nothing tells in advance that it is unchanged,
    its tool reports no input size and no warnings, and it keeps no file index."""

    indexed = False

    def unchanged(self, state: SetState) -> str | None:
        return None

    @staticmethod
    def bytes_in(result: StageResult) -> int | None:
        return None

    @staticmethod
    def warnings(result: StageResult) -> list[str]:
        return []


@dataclass(frozen=True)
class DirectorySource(BaseSource):
    """A directory tree, archived by GNU tar, incrementally with ``--listed-incremental``."""

    path: str
    exclude: list[str] = field(default_factory=list)

    type = "directory"
    incremental = True
    uses_snapshot = True
    indexed = True  # tar lists what it stores into the backup's file index (index_stream.py)
    extension = ".tar"

    def default_name(self) -> str:
        return naming.source_name("dir", os.path.abspath(self.path))

    def check(self) -> None:
        path = self.path
        if not os.path.isabs(path):
            raise BackupError("source", f"directory {path!r} must be an absolute path")
        if not os.path.isdir(path):
            what = "is not a directory" if os.path.exists(path) else "does not exist"
            raise BackupError("source", f"directory {path} {what}")
        try:
            with os.scandir(path) as entries:  # os.access says yes to root even where reading fails
                next(entries, None)
        except OSError as exc:
            raise BackupError("source", f"directory {path} cannot be read: {exc.strerror}") from exc

    def describe(self) -> dict:
        return {"type": self.type, "path": self.path, "exclude": list(self.exclude)}

    def prepare(self, kind: str, state: SetState, index=None) -> Prepared:
        """``index``: the IndexStream that tar writes its listing into."""
        return Prepared(self.stage(state.prepare(kind), index))

    def stage(self, snapshot: str, index=None) -> Stage:
        argv = [
            "tar",
            "--create",
            "--file=-",
            "--format=gnu",
            "--sparse",
            "--totals",
            f"--listed-incremental={snapshot}",
            # Device numbers change across reboots on some filesystems (NFS, LVM snapshots); without
            # this every file would count as changed and each diff would be a full.
            "--no-check-device",
            f"--directory={self.path}",
        ]
        argv += [f"--exclude={pattern}" for pattern in self.exclude]
        if index is None:
            return Stage("tar", [*argv, "."], warning_codes=(1,), env={"LC_ALL": "C"})
        argv += index.tar_options()
        return Stage("tar", [*argv, "."], warning_codes=(1,), env=file_index.LISTING_ENV, pass_fds=index.tar_fds)

    @staticmethod
    def bytes_in(result: StageResult) -> int | None:
        match = _TOTALS_RE.search(result.stderr)
        return int(match.group(1)) if match else None

    @staticmethod
    def warnings(result: StageResult) -> list[str]:
        return [line for line in result.stderr.splitlines() if line.strip() and not _TOTALS_RE.match(line)]
