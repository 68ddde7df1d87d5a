# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A chain's file indexes read together: which paths exist as of each backup, and which backup
holds each one's content, under which name.

tar's snapshot of backup k lists every directory with its inode and entries: ``Y`` stored in k,
``N`` stored before. An ``N`` entry's content is where the same entry was in backup k-1, found
through its directory's inode, as tar finds it: a directory renamed between two backups keeps its
inode, and its unchanged files stay in the older backup under the old name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .errors import BackupError
from .file_index import BackupIndex, Directory, Member, display


@dataclass(frozen=True)
class Holder:
    """Where a path's content is: the position of the backup in the chain, the member's path there."""

    __slots__ = ("backup", "path")  # one per path of the tree

    backup: int
    path: bytes


def join(directory: bytes, name: bytes) -> bytes:
    return directory + b"/" + name if directory else name


def member_name(member: Member) -> bytes:
    """The member's name in the archive, as tar lists and extracts it (``./etc/``, ``./etc/a``)."""
    if not member.path:
        return b"./"
    return b"./" + member.path + (b"/" if member.type == "directory" else b"")


def _not_stored_before(path: bytes, number: int) -> BackupError:
    return BackupError("index", f"{display(path)} is said to be stored before backup {number}, but is not")


def _states(indexes: Sequence[BackupIndex]) -> Iterator[dict[bytes, Holder]]:
    """The state of the tree as of each backup in turn: every path mapped to its holder."""
    previous: dict[bytes, Holder] = {}
    for number, index in enumerate(indexes):
        state: dict[bytes, Holder] = {}
        previous_dirs = indexes[number - 1].paths_by_inode if number else {}
        for directory in index.directories:
            state[directory.path] = Holder(number, directory.path)
            before = previous_dirs.get(directory.inode, directory.path)
            for flag, name in directory.entries:
                if flag == "D":
                    continue  # a directory: its own record places it
                path = join(directory.path, name)
                if flag == "Y" or not number:
                    state[path] = Holder(number, path)
                    continue
                holder = previous.get(join(before, name)) or previous.get(path)
                if holder is None:
                    raise _not_stored_before(path, number)
                state[path] = holder
        previous = state
        yield state


@dataclass(frozen=True)
class Entry:
    """A path as of a backup: its member (metadata as stored) and the backup that holds it."""

    path: bytes
    member: Member
    holder: Holder


class ChainIndex:
    """The indexes of a chain, full first, with the keys of their backups."""

    def __init__(self, keys: Sequence[str], indexes: Sequence[BackupIndex]):
        if len(keys) != len(indexes) or not keys:
            raise AssertionError("one index per backup of a non-empty chain")
        self.keys, self.indexes = list(keys), list(indexes)

    def member(self, holder: Holder) -> Member:
        found = self.indexes[holder.backup].members.get(holder.path)
        if found is None:
            raise BackupError("index", f"{display(holder.path)} is not listed in {self.keys[holder.backup]}'s index")
        return found

    def describe(self, entry: Entry) -> dict:
        """What ``ls`` shows of an entry: a name tar stored as a link to another shows as the
        file it is, with that file's size and a ``hardlink_to``."""
        member = entry.member
        shown = member.as_dict()
        if member.type == "hardlink" and member.target is not None:
            linked = self.indexes[entry.holder.backup].members.get(member.target)
            shown.update(type="file", size=linked.size if linked else 0, hardlink_to=display(member.target))
            shown.pop("target", None)
        shown["path"] = display(entry.path)
        return {**shown, "backup": self.keys[entry.holder.backup]}

    def holders(self, number: int, tops: Sequence[bytes]) -> dict[bytes, Holder]:
        """Each path at or below ``tops`` as of backup ``number`` and its holder. Only the
        directories they are in are read, in this backup and, for content stored before it, in
        the earlier ones: as _states gives, without the state of the whole tree at each backup."""
        index, found = self.indexes[number], {}
        for top in tops:
            if top in index.by_path:  # a directory: it and everything below it
                for directory in index.directories:
                    if _within(directory.path, top):
                        found[directory.path] = Holder(number, directory.path)
                        for flag, name in directory.entries:
                            if flag != "D":
                                found[join(directory.path, name)] = self._holder(number, directory, flag, name)
                continue
            held = self._held(number, top)
            if held is not None:
                found[top] = held
        return found

    def resolve(self, number: int, tops: Sequence[bytes]) -> tuple[dict[bytes, Holder], list[bytes]]:
        """``holders`` of all ``tops`` together, and the tops that backup ``number``'s tree had not."""
        found: dict[bytes, Holder] = {}
        absent = []
        for top in tops:
            held = self.holders(number, [top])
            found.update(held)
            if not held:
                absent.append(top)
        return found, absent

    def _held(self, number: int, path: bytes) -> Holder | None:
        """``path``'s holder as of backup ``number``; None where the tree had no such path."""
        index = self.indexes[number]
        if path in index.by_path:
            return Holder(number, path)
        parent, _slash, name = path.rpartition(b"/")
        directory = index.by_path.get(parent)
        flag = directory.flags.get(name) if directory else None
        if directory is None or flag in (None, "D"):
            return None  # a "D" entry without its own record is not in the tree
        return self._holder(number, directory, flag, name)

    def _holder(self, number: int, directory: Directory, flag: str, name: bytes) -> Holder:
        """The holder of ``directory``'s entry ``name`` in backup ``number``: that backup if it
        stored it, else where the same entry was one backup before, under the name its
        directory (the same inode) had then."""
        path = join(directory.path, name)
        if flag == "Y" or not number:
            return Holder(number, path)
        before = self.indexes[number - 1].paths_by_inode.get(directory.inode, directory.path)
        holder = self._held(number - 1, join(before, name)) or self._held(number - 1, path)
        if holder is None:
            raise _not_stored_before(path, number)
        return holder

    def entries(self, found: dict[bytes, Holder]) -> Iterator[Entry]:
        """The paths ``holders`` found, sorted, one entry at a time (a million paths' entries and
        their descriptions need not be held at once)."""
        for path in sorted(found):
            yield Entry(path, self.member(found[path]), found[path])

    def last_seen(self, path: bytes, before: int) -> int | None:
        """The newest backup before ``before`` whose tree holds ``path``, or None."""
        last = None
        for position, state in enumerate(_states(self.indexes[:before])):
            if path in state:
                last = position
        return last


def _within(path: bytes, top: bytes) -> bool:
    return not top or path == top or path.startswith(top + b"/")


def matches(path: bytes, pattern: str) -> bool:
    """Shell glob on the path: a pattern with a ``/`` matches the whole relative path, one without
    matches the last component, as ``find -name`` does."""
    text = path.decode("utf-8", "surrogateescape")
    return fnmatch.fnmatchcase(text if "/" in pattern else text.rsplit("/", 1)[-1], pattern)


@dataclass
class Version:
    path: bytes
    member: Member
    backup: str  # the key of the first backup whose tree has this version at this path
    stored_in: str  # the key of the backup whose object holds its content
    deleted_in: str | None = None  # the key of the backup in which the path stopped existing after it

    def as_dict(self, time: str) -> dict:
        shown = {**self.member.as_dict(), "path": display(self.path)}
        return {
            **shown,
            "backup": self.backup,
            "time": time,
            "stored_in": self.stored_in,
            "deleted_in": self.deleted_in,
        }


def _same(one: Member, other: Member) -> bool:
    """Whether two stored copies are the same version: a full stores every file again."""
    return all(getattr(one, name) == getattr(other, name) for name in ("type", "size", "mtime", "target", "mode"))


def versions(chains: Sequence[ChainIndex], pattern: str) -> list[Version]:
    """Every version of every path matching ``pattern`` across ``chains`` (oldest first): a new
    one wherever a path appears or its content differs from the last (a full that stores the same
    file again makes none), and the backup where the path stopped existing."""
    found: list[Version] = []
    current: dict[bytes, Version] = {}  # the live version of each matching path
    matching: dict[bytes, bool] = {}  # most paths are in every backup: glob each once
    for chain in chains:
        for number, state in enumerate(_states(chain.indexes)):
            key = chain.keys[number]
            for path in [p for p in current if p not in state]:
                current.pop(path).deleted_in = key
            for path, holder in state.items():
                hit = matching.get(path)
                if hit is None:
                    hit = matching[path] = matches(path, pattern)
                if not hit:
                    continue
                live = current.get(path)
                if live is not None and holder.backup != number and live.stored_in == chain.keys[holder.backup]:
                    continue  # unchanged since this chain stored it
                member = chain.member(holder)
                if live is not None and _same(live.member, member):
                    continue
                current[path] = Version(path, member, key, chain.keys[holder.backup])
                found.append(current[path])
    return found
