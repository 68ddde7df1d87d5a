# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private temporary directories that a killed run does not leave behind for good.

A restore given ``gpg_private_key`` imports the secret key into a scratch GnuPG home (in /dev/shm
unless TMPDIR is set: secret_parent), and every restore writes decrypted data into a work
directory beside its target (restore_work.py); each removes its own when it ends. SIGKILL or the
OOM killer skip that, and the secret key (its gpg-agent running) or the plaintext would stay. So
each such directory holds a lock file, flocked for its owner's lifetime (the kernel drops the lock
when the owner dies), and every run that makes one first removes the ones of the same kind whose
lock it can take: their owner is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable

LOCK_NAME = ".owner.lock"
SHARED_MEMORY = "/dev/shm"  # noqa: S108 (a tmpfs on Linux; each directory made in it is 0700)


def secret_parent() -> str:
    """Where a directory holding a secret goes: TMPDIR if the operator set one, else /dev/shm, a
    tmpfs, so that the secret never reaches a disk; the system's temporary directory without it."""
    if not os.environ.get("TMPDIR") and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        return SHARED_MEMORY
    return tempfile.gettempdir()


class ScratchDirectory:
    """``with ScratchDirectory(prefix, release) as path``: a new 0700 directory in ``parent``
    (TMPDIR unless given), removed on exit. ``release(path)`` runs before each removal, this one's
    or an abandoned one's (to stop processes that use it)."""

    def __init__(self, prefix: str, release: Callable[[str], None], parent: str | None = None):
        self.prefix, self.release = prefix, release
        self.parent = parent or tempfile.gettempdir()
        self.path: str | None = None
        self._fd: int | None = None

    def __enter__(self) -> str:
        self.remove_abandoned()
        path = tempfile.mkdtemp(prefix=self.prefix, dir=self.parent)
        # Locked under another name first, so that no other run can find the lock file unlocked.
        # O_CLOEXEC: a gpg-agent started from here must not inherit the lock and keep it after we die.
        making = os.path.join(path, f"{LOCK_NAME}.new")
        fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(making, os.path.join(path, LOCK_NAME))
        self.path, self._fd = path, fd
        return path

    def __exit__(self, *exc) -> None:
        if self.path is not None and self._fd is not None:
            self._remove(self.path)
            os.close(self._fd)
            _remove_emptied(self.path)
            self.path = self._fd = None

    def remove_abandoned(self) -> None:
        """Remove this kind's directories whose owner has died."""
        for name in os.listdir(self.parent):
            if name.startswith(self.prefix):
                self._remove_if_abandoned(os.path.join(self.parent, name))

    def _remove_if_abandoned(self, path: str) -> None:
        try:
            fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDWR | os.O_CLOEXEC)
        except OSError:  # another user's, one being made (no key in it yet) or one just removed
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its owner is alive
            os.close(fd)
            return
        self._remove(path)
        os.close(fd)
        _remove_emptied(path)

    def _remove(self, path: str) -> None:
        with contextlib.suppress(OSError):
            self.release(path)
        shutil.rmtree(path, ignore_errors=True)


def _remove_emptied(path: str) -> None:
    """Remove what the lock file's open descriptor kept: a FUSE file system (bindfs, sshfs) keeps an
    unlinked file that is still open as a hidden one (.fuse_hidden...), and with it the directory,
    until the descriptor is closed."""
    shutil.rmtree(path, ignore_errors=True)
