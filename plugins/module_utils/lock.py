# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One run per backup set at a time: an flock the kernel drops when the process dies, so a
killed run never leaves a lock that blocks the next one."""

from __future__ import annotations

import fcntl
import os

from .errors import BackupError


class SetLock:
    def __init__(self, path: str, set_name: str):
        self.path, self.set_name = path, set_name
        self._fd: int | None = None

    def __enter__(self) -> SetLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise BackupError("lock", f"cannot open {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise BackupError(
                "lock", f"a backup of set {self.set_name} is already running (pid {holder}, lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
