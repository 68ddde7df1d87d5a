"""Killing a whole process tree at a chosen instant, as a host that dies or the OOM killer does."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def group_members(group: int) -> list[int]:
    """The processes of process group ``group`` that still exist (zombies excepted)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()  # the name may hold spaces and ")"
        except (OSError, IndexError):  # ended while we looked
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(pid))
    return found


def start_group(argv: list[str], env: dict) -> subprocess.Popen:
    """``argv`` as the leader of a process group of its own, which its children (tar, zstd, gpg)
    join: killing the group kills them all, and no other process of the tests."""
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def kill_group(process: subprocess.Popen) -> tuple[str, str]:
    """SIGKILL every process of ``process``'s group at once; return once none is left, with what
    the leader had written."""
    os.killpg(process.pid, signal.SIGKILL)
    out, err = process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # children the leader never waited for, being reaped by init
    left = group_members(process.pid)
    if left:
        raise AssertionError(f"processes of the killed group are still alive: {left}")
    return out, err
