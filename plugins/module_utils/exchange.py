# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Putting a finished restore in place of ``dest`` in one step, so that no moment finds it missing.

Linux's renameat2(RENAME_EXCHANGE) swaps two paths atomically: the restored tree becomes ``dest``
and the old ``dest`` takes the tree's name, to be removed after. Python has no call for it, so it
goes through libc. Some file systems refuse the flag (FUSE ones such as bindfs and sshfs, NFS), as
do kernels before 3.15 and C libraries without the call: there the old way is left, two renames,
with a moment between them when ``dest`` does not exist.
"""

from __future__ import annotations

import ctypes
import errno
import os

AT_FDCWD = -100
RENAME_EXCHANGE = 2
# What a file system, a kernel or a C library answers when it cannot exchange.
_REFUSED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _renameat2():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # glibc before 2.28, or no C library to load
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def exchange(first: str, second: str) -> bool:
    """Swap the paths ``first`` and ``second`` (both existing) in one step: True once swapped,
    False where the system refuses it (nothing was changed then)."""
    function = _renameat2()
    if function is None:
        return False
    if function(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _REFUSED:
        return False
    raise OSError(code, os.strerror(code), first, None, second)


def put_in_place(tree: str, dest: str, aside: str) -> str:
    """Make the directory ``tree`` be ``dest``. An existing ``dest`` ends up at ``tree`` (exchanged)
    or at ``aside`` (two renames) for the caller to remove. Returns how: "renamed" (``dest`` did not
    exist), "exchanged", or "renamed twice" (refused, with a moment when ``dest`` was missing)."""
    if not os.path.lexists(dest):
        os.rename(tree, dest)
        return "renamed"
    if exchange(tree, dest):
        return "exchanged"
    os.rename(dest, aside)
    try:
        os.rename(tree, dest)
    except OSError:
        os.rename(aside, dest)  # the old one back where it was
        raise
    return "renamed twice"
