"""A full of the hard tree (support/hard_tree.py) and a diff after each of its changes, with what
the source was at each backup: what restores, ls and find are held to."""

from __future__ import annotations

import datetime
import os
import stat
from dataclasses import dataclass

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import RestoreRequest

from . import hard_tree
from .trees import picture

# The first day of a 7-day cycle (days count from 1970-01-01), so the first backup is a full.
DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)
STEPS = 3  # diffs after the full


def stamp(step: int) -> str:
    return (DAY + datetime.timedelta(days=step)).strftime("%Y-%m-%dT%H:%M:%SZ")


def listing(root: str) -> dict[bytes, tuple]:
    """{relative path: (type, size, whole-second mtime, symlink target)}, as ls should show the tree;
    the root is ``b""``."""
    base = os.fsencode(root)
    found = {}
    for directory, dirnames, filenames in os.walk(base):
        for name in [b".", *dirnames, *filenames] if directory == base else [*dirnames, *filenames]:
            path = os.path.normpath(os.path.join(directory, name))
            info = os.lstat(path)
            relative = os.path.relpath(path, base) if path != base else b""
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("symlink", 0, int(info.st_mtime), os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("directory", 0, int(info.st_mtime), None)
            else:
                found[relative] = ("file", info.st_size, int(info.st_mtime), None)
    return found


@dataclass
class HardChain:
    name: str
    connection: object
    keys_made: list  # data keys, full first
    pictures: list  # the source's picture after each backup
    groups: list  # the source's hard-link groups after each backup
    listings: list  # the source's listing() after each backup

    def restore_request(self, bucket, keys, **fields) -> RestoreRequest:
        return RestoreRequest(
            bucket=bucket,
            name=self.name,
            prefix="host1",
            connection=self.connection,
            gpg_home=keys.secret_home,
            **fields,
        )


def make_hard_chain(source, request) -> HardChain:
    hard_tree.build_hard_tree(str(source))
    keys_made, pictures, groups, listings = [], [], [], []
    for step in range(STEPS + 1):
        if step:
            hard_tree.change_hard_tree(str(source), step)
        outcome = run_backup(request, now=DAY + datetime.timedelta(days=step))
        assert outcome.changed and outcome.backup["kind"] == ("full" if step == 0 else "diff")
        assert outcome.backup["tar_warnings"] == []
        keys_made.append(outcome.backup["key"])
        pictures.append(picture(str(source)))
        groups.append(hard_tree.hard_link_groups(str(source)))
        listings.append(listing(str(source)))
    return HardChain(outcome.backup_set["name"], request.connection, keys_made, pictures, groups, listings)
