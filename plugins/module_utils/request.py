# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One backup request, with the module's option names, its defaults and its validation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import naming
from .compression import COMPRESSORS
from .protection import Protection
from .rotation import Retention
from .s3 import Connection
from .schedule import Schedule
from .sources import DirectorySource

DEFAULT_STATE_DIR = "/var/lib/s3napback"
MIN_BANDWIDTH = 64 * 1024


@dataclass(frozen=True)
class BackupRequest:
    source: DirectorySource
    bucket: str
    connection: Connection = field(default_factory=Connection)
    name: str | None = None
    prefix: str | None = None
    gpg_recipient: list[str] = field(default_factory=list)
    gpg_public_key: str | None = None
    gpg_home: str | None = None
    gpg_sign_key: str | None = None  # a secret key in the keyring that signs each manifest
    encrypt: bool = True
    compression: str = "zstd"
    compression_level: int | None = None
    state_dir: str = DEFAULT_STATE_DIR
    schedule: Schedule = field(default_factory=Schedule)
    force: bool = False
    force_full: bool = False
    part_size: int = 8 * 1024 * 1024
    upload_concurrency: int = 4
    protection: Protection = field(default_factory=Protection)
    retention: Retention = field(default_factory=Retention)
    bandwidth_limit: int | None = None  # bytes per second of upload

    @property
    def set_name(self) -> str:
        return self.name or self.source.default_name()

    @property
    def key_prefix(self) -> str:
        return naming.host_prefix(self.prefix)

    @property
    def keyring_home(self) -> str:
        return self.gpg_home or os.path.join(self.state_dir, "gnupg")

    def problems(self) -> list[str]:
        found: list[str | None] = []
        if not self.bucket:
            found.append("bucket must not be empty")
        for problem in (naming.name_problem(self.set_name), naming.prefix_problem(self.key_prefix)):
            if problem:
                found.append(problem)
        found += self.schedule.problems()
        if self.encrypt and not self.gpg_recipient:
            found.append("gpg_recipient is required to encrypt (set encrypt: false to store backups in clear)")
        if not self.encrypt and (self.gpg_recipient or self.gpg_public_key):
            found.append("encrypt is false but gpg_recipient or gpg_public_key is set: remove one or the other")
        if self.compression not in COMPRESSORS:
            found.append(f"compression must be one of {', '.join(COMPRESSORS)}, not {self.compression!r}")
        else:
            found.append(COMPRESSORS[self.compression].level_problem(self.compression_level))
        if not os.path.isabs(self.state_dir):
            found.append(f"state_dir {self.state_dir!r} must be an absolute path")
        if not 1 <= self.upload_concurrency <= 64:
            found.append("upload_concurrency must be from 1 to 64")
        if self.bandwidth_limit is not None and self.bandwidth_limit < MIN_BANDWIDTH:
            found.append(f"bandwidth_limit must be at least {MIN_BANDWIDTH} bytes per second")
        found += self.protection.problems()
        found += self.retention.problems()
        found += self.connection.problems()
        return [problem for problem in found if problem]
