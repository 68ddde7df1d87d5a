"""Process trees (a command and every descendant) read from /proc, and their peak memory.

VmHWM is per process and a tree's processes peak at different moments, so the tree's peak is the
largest sum seen. The sum is of Pss (each shared page divided among the processes that share it),
not of VmRSS, which would count twice every page a forked child still shares with its parent.
"""

from __future__ import annotations

import os
import threading


def parents() -> dict[int, int]:
    """Every process's parent now: ``{pid: ppid}``."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                # the command name may hold spaces and parentheses: the fields after its last ")" are fixed
                found[int(pid)] = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # the process ended while we looked
            continue
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            return next((int(line.split()[1]) * 1024 for line in handle if line.startswith(b"VmRSS:")), 0)
    except OSError:
        return 0  # ended


def tree(root: int) -> list[int]:
    """``root`` and its descendants now."""
    by_pid, found = parents(), [root]
    for pid in found:
        found.extend(child for child, parent in by_pid.items() if parent == pid)
    return found


class TreePeak:
    """``with TreePeak(pid) as peak: ...``; then ``peak.kb`` is the largest tree Pss sampled and
    ``peak.most`` the most processes seen at once."""

    def __init__(self, root: int, interval: float = 0.05):
        self.root, self.interval = root, interval
        self.kb, self.most = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            pids = tree(self.root)
            self.kb = max(self.kb, sum(pss_kb(pid) for pid in pids))
            self.most = max(self.most, len(pids))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
