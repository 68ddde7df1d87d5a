"""A new, empty ext4 file system for each restore: a sparse file, loop-mounted.

Why: on ext4, creating a file after tens of thousands were deleted is slow. When ext4 picks an
inode, it passes over the ones freed recently (``recently_deleted()``), reading each one's
inode-table block. The benchmark deletes a whole restored tree, a copy of the source and a scratch
directory before every restore, so on the work directory's disk a restore's time depended on how
much had been deleted just before it, not on the tool (docs/BENCHMARKS.md, "Restores and the disk").
A file system made for the restore has no such history, and every tool gets the same one.

Mounting needs root. Without it, the restore goes to the work directory's disk as before, and
``place`` says so, for the report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

FRESH = "a new ext4 file system for each restore (a loop-mounted sparse file)"
MIN_BYTES = 512 << 20


def restore_fs_bytes(source_bytes: int) -> int:
    """The size of the file system a restore of ``source_bytes`` of data goes into.

    Why four times the data: ext4 starts writing a file system's delayed-allocation pages back as
    soon as they exceed half of its free blocks (``ext4_nonda_switch``), and the writer then waits
    for the disk. On a file system twice the data's size, a restored tree of the whole data set
    sits right at that line (1.12 GB dirty against about 1.10 GB): a restore that crossed it took
    7.3 to 7.9 s, the same restore on 3 GB or more 4.8 to 5.2 s (2026-12-05, the 1 GB data set).
    Which tool crossed depended on a few MB of metadata, not on the tool. A restore target with
    room to spare, as most are, is what the benchmark compares.
    """
    return 4 * source_bytes + MIN_BYTES


class FreshFilesystems:
    """Makes the file systems; ``place`` is where the restores went, in words for the report."""

    def __init__(self) -> None:
        self.place = FRESH

    @contextlib.contextmanager
    def make(self, where: str, size: int) -> Iterator[str]:
        """Yield ``where``: a new file system of ``size`` bytes mounted there, or a plain directory."""
        os.makedirs(where)
        image = where + ".ext4"
        mounted = self.place == FRESH and self._mount(image, where, max(size, MIN_BYTES))
        try:
            yield where
        finally:
            if mounted:
                subprocess.run(["umount", where], check=True)
                os.unlink(image)
            shutil.rmtree(where, ignore_errors=True)

    def _mount(self, image: str, where: str, size: int) -> bool:
        with open(image, "wb") as handle:
            handle.truncate(size)
        # lazy_*_init=0: mkfs zeroes inode tables and journal now, not a kernel thread during the restore
        mkfs = ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image]
        for argv in (mkfs, ["mount", "-o", "loop", image, where]):
            try:
                result = subprocess.run(argv, capture_output=True, text=True, check=False)
            except OSError as error:
                result = subprocess.CompletedProcess(argv, 127, "", str(error))
            if result.returncode != 0:
                os.unlink(image)
                cause = (result.stderr.strip() or f"exit {result.returncode}").splitlines()[-1]
                self.place = f"the work directory's file system ({argv[0]} failed: {cause})"
                print(f"restores go to the work directory: {argv[0]}: {cause}", flush=True)
                return False
        return True
