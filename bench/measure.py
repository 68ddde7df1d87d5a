"""Measuring one command: wall time, CPU time and peak memory of its whole process tree, and the
peak size of the directories it may write temporary files to.

Memory is sampled from /proc: the sum of VmRSS of the process and every descendant, so a shell
pipeline counts all its stages. CPU comes from wait4's rusage, which includes every descendant the
child waited for. A daemon that leaves the tree (gpg-agent) is not counted by either.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from support.tree_memory import rss_bytes, tree

INTERVAL_S = 0.05
DROP_CACHES = "/proc/sys/vm/drop_caches"


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    peak_temp_bytes: int
    returncode: int
    stdout: str
    stderr: str
    peak_marked_rss_bytes: int = 0  # the processes of the tree named by ``marker``, and theirs


def marked_rss_bytes(root: int, marker: bytes) -> int:
    """The resident memory of the processes under ``root`` whose command line holds ``marker``, and
    of all their descendants: a module's processes on the host, without Ansible's controller."""
    pids = tree(root)
    marked = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if marker in handle.read():
                    marked.add(pid)
        except OSError:
            continue
    return sum(rss_bytes(pid) for pid in {p for m in marked for p in tree(m)})


def tree_rss_bytes(root: int) -> int:
    """The resident memory of ``root`` and all its descendants now."""
    return sum(rss_bytes(pid) for pid in tree(root))


def disk_usage_bytes(paths: Iterable[str]) -> int:
    """Allocated bytes (not apparent sizes) of everything below ``paths``, each inode counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    pending = [p for p in paths if os.path.lexists(p)]
    while pending:
        path = pending.pop()
        try:
            info = os.lstat(path)
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
            if os.path.isdir(path) and not os.path.islink(path):
                pending.extend(os.path.join(path, name) for name in os.listdir(path))
        except OSError:  # removed while we walked
            continue
    return total


def drop_page_cache() -> bool:
    """Write dirty pages back and drop the whole clean page cache, dentries and inodes; False where
    not permitted (not root). For experiments (bench/first_restore.py's ``--before drop``): it also drops
    every program's files, which the next command then reads from disk."""
    os.sync()
    try:
        with open(DROP_CACHES, "w") as handle:
            handle.write("3\n")
    except OSError:
        return False
    return True


def evict_page_cache(roots: Iterable[str]) -> int:
    """Write dirty pages back, then evict every file under ``roots`` from the page cache
    (posix_fadvise DONTNEED): the bytes of the files evicted.

    Before every step the benchmark evicts its own data that the step does not read (bench/run.py),
    so that every step starts from the same memory: what the data held, just given back, which the
    kernel hands out first. This machine is a VM whose balloon takes back memory that stays free
    (free page reporting), and writing into memory the host took back cost tar twice the kernel
    time: a restore took 14.65 s, or 4.18 s after an eviction, depending on what the steps before it
    had freed (s3rver frees a multipart upload's part files when it joins them; a backup of volumes
    frees nothing), not on the tool (docs/BENCHMARKS.md). A restore also reads its objects from
    disk, as a restore long after its backup does. Programs' files stay cached, unlike with
    ``drop_page_cache``, so no step starts cold."""
    os.sync()
    evicted = 0
    for root in roots:
        for directory, _dirs, names in os.walk(root):
            for name in names:
                try:
                    descriptor = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:
                    continue  # removed meanwhile, a symbolic link or a socket
                try:
                    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                    evicted += os.fstat(descriptor).st_size
                finally:
                    os.close(descriptor)
    return evicted


def run_measured(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    watch_dirs: Sequence[str] = (),
    interval_s: float = INTERVAL_S,
    *,
    marker: str = "",
) -> Measurement:
    """Run ``argv`` to its end, sampling its tree's memory and ``watch_dirs``' size every ``interval_s``
    (and the memory of the part of the tree that ``marker`` names, see ``marked_rss_bytes``).

    A thread waits for the command's exit, so that its wall time ends when it does: found by the
    sampling loop instead, it would be up to ``interval_s`` late, 8% of a 0.6 s incremental."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        ended = threading.Event()
        reaped: list = []

        def reap() -> None:
            reaped.extend((*os.wait4(process.pid, 0)[1:], time.monotonic()))
            ended.set()

        threading.Thread(target=reap, daemon=True).start()
        peak_rss = peak_temp = peak_marked = 0
        while not ended.is_set():
            peak_rss = max(peak_rss, tree_rss_bytes(process.pid))
            if marker:
                peak_marked = max(peak_marked, marked_rss_bytes(process.pid, marker.encode()))
            peak_temp = max(peak_temp, disk_usage_bytes(watch_dirs))
            ended.wait(interval_s)
        status, usage, exited = reaped
        wall = exited - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        peak_temp = max(peak_temp, disk_usage_bytes(watch_dirs))
        out.seek(0)
        err.seek(0)
        return Measurement(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_bytes=peak_rss,
            peak_temp_bytes=peak_temp,
            returncode=process.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            peak_marked_rss_bytes=peak_marked,
        )
