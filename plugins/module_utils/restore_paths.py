# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restoring some paths of a directory set through its file indexes: only the objects that hold
them are read, and only their members extracted, with no scratch copy of the tree.

For each path as of the newest backup of the chain (k), the index names the backup that holds its
content and the member's name there (a directory renamed since keeps its files under the old
name). Objects older than k are extracted into a staging directory and their members moved to
their paths; object k last, straight into place, with the directories, so that tar gives every
directory the owner, mode and time it has as of k, as a whole-chain restore would.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from . import naming
from .chain_index import ChainIndex, Holder, member_name
from .errors import BackupError
from .file_index import display

# Extracting named members only, without replaying the dumpdirs (--listed-incremental), so that
# tar neither recurses into nor purges a directory: every path extracted is one asked for.
SELECTED = ("--no-recursion", "--null", "--verbatim-files-from")


@dataclass
class ObjectPlan:
    """What to take from one backup: members by their name in it, and where each goes."""

    members: list[bytes] = field(default_factory=list)  # archive names, ./a/b
    moves: list[tuple[bytes, bytes]] = field(default_factory=list)  # (path in the object, path restored)
    extras: list[bytes] = field(default_factory=list)  # hard links' other names, extracted only to link


@dataclass
class Selection:
    objects: dict[int, ObjectPlan]  # by position in the chain; always the newest, for the directories
    count: int  # paths restored


def _ancestors(path: bytes) -> list[bytes]:
    parts = path.split(b"/")
    return [b"/".join(parts[:depth]) for depth in range(len(parts))]  # "" (the root) first


def _absent(index: ChainIndex, path: bytes, newest: int) -> BackupError:
    seen = index.last_seen(path, newest)
    where = display(path)
    if seen is None:
        return BackupError("restore", f"{where} is in no backup of this chain (from {index.keys[0]})")
    gone = index.keys[seen + 1]
    stamp = naming.parse_stamp(gone.rsplit("/", 1)[-1][:16])
    return BackupError("restore", f"{where} was deleted before {naming.iso(stamp)}; last in {index.keys[seen]}")


def select(index: ChainIndex, paths: list[bytes]) -> Selection:
    """Which members of which backups make ``paths`` (and everything under them) as of the chain's
    newest backup; a BackupError naming the first path that did not exist then."""
    newest = len(index.keys) - 1
    state, absent = index.resolve(newest, paths)
    if absent:
        raise _absent(index, absent[0], newest)
    wanted = set(state)
    directories = {a for p in wanted for a in _ancestors(p)}
    directories.update(p for p in wanted if index.member(state[p]).type == "directory")
    plans: dict[int, ObjectPlan] = {newest: ObjectPlan()}
    for path in sorted(wanted - directories):
        holder = state[path]
        plan = plans.setdefault(holder.backup, ObjectPlan())
        member = index.member(holder)
        plan.members.append(member_name(member))
        plan.moves.append((holder.path, path))
        if member.type == "hardlink" and member.target is not None:
            plan.extras.append(member.target)  # tar links to it: it must come out of the same object
    for number, plan in plans.items():
        taken = {moved for moved, _path in plan.moves}
        plan.extras = sorted({extra for extra in plan.extras if extra not in taken})
        plan.members += [member_name(index.member(Holder(number, extra))) for extra in plan.extras]
    for directory in sorted(directories):
        plans[newest].members.append(member_name(index.member(Holder(newest, directory))))
    return Selection(plans, len(wanted))


def names_file(work: str, number: int, plan: ObjectPlan) -> str:
    """The members to extract, NUL-separated for tar's --files-from, in the (0700) work directory."""
    path = os.path.join(work, f".s3napback-names-{number}")
    with open(path, "wb") as handle:
        handle.write(b"\0".join(plan.members) + b"\0")
    return path


def move_into(work: str, stage: str, plan: ObjectPlan) -> None:
    """Move an older object's members from ``stage`` to their paths in ``work``."""
    base, staged = os.fsencode(work), os.fsencode(stage)
    for member_path, path in plan.moves:
        target = os.path.join(base, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(os.path.join(staged, member_path), target)
    shutil.rmtree(stage)


def remove_extras(work: str, plan: ObjectPlan) -> None:
    """Remove the newest object's extra link names, leaving their directories as tar set them."""
    base = os.fsencode(work)
    for extra in plan.extras:
        path = os.path.join(base, extra)
        parent = os.path.dirname(path)
        before = os.lstat(parent)
        os.chmod(parent, before.st_mode | 0o700)  # tar may have made it read-only
        os.unlink(path)
        os.chmod(parent, before.st_mode & 0o7777)
        os.utime(parent, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
