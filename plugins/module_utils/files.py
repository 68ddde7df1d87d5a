# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private files and directories: created 0700/0600 from the start, replaced atomically."""

from __future__ import annotations

import contextlib
import os

from .errors import BackupError


def private_directory(path: str, stage: str) -> None:
    """Create ``path`` (and parents) mode 0700, or tighten an existing one to 0700."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o700)
    except OSError as exc:
        raise BackupError(stage, f"cannot create directory {path}: {exc.strerror}") from exc


def write_private(path: str, data: bytes, stage: str) -> None:
    """Write ``data`` to ``path`` mode 0600 through a temporary file and a rename."""
    temporary = f"{path}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise BackupError(stage, f"cannot write {path}: {exc.strerror}") from exc


def remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
