# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A directory backup's file index: what GNU tar itself says about the backup, kept beside it.

Its plain text (before compression and encryption, which are the data's) is three parts:

    # s3napback file index 1 ...                  the header line
    <tar's verbose listing of the members stored in this backup>
    # tar snapshot ...                            a marker line
    <the snapshot file tar wrote: every directory as of this backup, with its entries>

The listing is ``tar --create -vv --quoting-style=c --full-time`` in UTC: type and mode, owner
and group (names where tar stored names, else numbers), size, mtime to the nanosecond, the name in
C quotes, and a link's target. The snapshot is tar's
``--listed-incremental`` file (format 2, NUL-separated): each directory's inode and entries, ``Y``
for a file stored in this backup, ``N`` for one stored before, ``D`` for a directory. Tar writes
both while it archives, so the index costs no second walk of the tree, and both are tar's own
documented formats, so ``gpg -d | zstd -d | grep -a`` answers questions by hand.
"""

from __future__ import annotations

import datetime
import functools
import re
import sys
from dataclasses import dataclass

from .errors import BackupError

VERSION = 1
HEADER = (
    f"# s3napback file index {VERSION}: the members of this backup as tar -cvv --quoting-style=c"
    " --full-time lists them (UTC), then tar's snapshot\n"
).encode()
SNAPSHOT_MARKER = b"# tar snapshot (GNU tar --listed-incremental format 2, NUL-separated)\n"
# The options that make tar write the listing this file reads, and the environment they need.
LISTING_OPTIONS = (
    "-vv",
    "--quoting-style=c",  # every name on one line, unambiguous, byte for byte
    "--full-time",
    # -v also reports each new or renamed directory on stderr: news, not warnings
    "--warning=no-new-directory",
    "--warning=no-rename-directory",
)
LISTING_ENV = {"LC_ALL": "C", "TZ": "UTC"}

TYPES = {"-": "file", "d": "directory", "l": "symlink", "h": "hardlink", "c": "char", "b": "block", "p": "fifo"}
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_LINE_RE = re.compile(
    rf"^(?P<type>.)(?P<mode>[-rwxsStT]{{9}}) (?P<owner>[^/ ]+)/(?P<group>\S+) +(?P<size>\d+|\d+,\d+)"
    rf" (?P<date>\d{{4}}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))? +(?P<name>{_QUOTED})"
    rf"(?: (?:->|link to) (?P<target>{_QUOTED}))?$"
)
_ESCAPES = {b"a": 7, b"b": 8, b"f": 12, b"n": 10, b"r": 13, b"t": 9, b"v": 11, b"\\": 92, b'"': 34, b"?": 63}
_ESCAPE_RE = re.compile(rb"\\(?:([0-7]{1,3})|(.))", re.DOTALL)


class DamagedIndex(ValueError):
    """An index that does not read as one: damaged, or not an index at all."""


def _unescaped(match: re.Match) -> bytes:
    octal, other = match.groups()
    if octal and int(octal, 8) > 0xFF:
        raise DamagedIndex(f"bad escape \\{octal.decode()} in a name")
    if octal:
        return bytes((int(octal, 8),))
    if other not in _ESCAPES:
        raise DamagedIndex(f"bad escape \\{other.decode('latin-1')} in a name")
    return bytes((_ESCAPES[other],))


def unquote(quoted: str) -> bytes:
    """The bytes of a name tar quoted in C style (``"./a\\nb\\377"``)."""
    raw = quoted[1:-1].encode("latin-1")  # tar wrote plain ASCII; anything else came escaped
    return _ESCAPE_RE.sub(_unescaped, raw) if b"\\" in raw else raw


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, kept by surrogateescape
        return f"\\{code - 0xDC00:03o}"
    return char if char.isprintable() or code > 0xFF else f"\\{code:03o}"


def display(path: bytes) -> str:
    """A path as text for people and JSON: UTF-8 where it is, tar's octal escapes for bytes that
    are not and for control characters (``bad\\377name``, ``new\\012line``)."""
    return "".join(_escaped(char) for char in path.decode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class Member:
    """One member of a backup as tar listed it. ``path`` is relative (``etc/app.conf``; the root
    is ``""``), ``target`` a symlink's target or a hard link's other path."""

    __slots__ = ("group", "mode", "mtime", "owner", "path", "size", "target", "type")  # a million of them for ls

    path: bytes
    type: str
    mode: int
    owner: str
    group: str
    size: int
    mtime: datetime.datetime
    target: bytes | None

    def as_dict(self) -> dict:
        return {
            "path": display(self.path),
            "type": self.type,
            "mode": f"{self.mode:04o}",
            "owner": self.owner,
            "group": self.group,
            "size": self.size,
            "mtime": self.mtime.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            **({"target": display(self.target)} if self.target is not None else {}),
        }


def relative(name: bytes) -> bytes:
    """``./etc/a`` -> ``etc/a``; ``./`` -> ``""``: paths as users name them."""
    if name.startswith(b"./"):
        name = name[2:]
    elif name == b".":
        name = b""
    return name.rstrip(b"/")


@functools.cache  # a tree has a handful of modes, listed once per member
def _mode(letters: str) -> int:
    bits = 0
    for index, (letter, on) in enumerate(zip(letters, "rwxrwxrwx")):
        if letter in (on, "s", "t"):
            bits |= 1 << (8 - index)
    special = {2: (letters[2], 0o4000), 5: (letters[5], 0o2000), 8: (letters[8], 0o1000)}
    for letter, bit in special.values():
        if letter in "sStT":
            bits |= bit
    return bits


def parse_listing_line(line: str) -> Member:
    match = _LINE_RE.match(line)
    if not match:
        raise DamagedIndex(f"not a line of tar's listing: {line[:80]!r}")
    kind = TYPES.get(match["type"], "other")
    moment = datetime.datetime.fromisoformat(f"{match['date']}T{match['time']}+00:00")
    fraction = match["fraction"] or ""
    moment = moment.replace(microsecond=int((fraction + "000000")[:6]))
    target = unquote(match["target"]) if match["target"] else None
    if kind == "hardlink" and target is not None:
        target = relative(target)
    size = 0 if "," in match["size"] else int(match["size"])
    return Member(
        relative(unquote(match["name"])),
        kind,
        _mode(match["mode"]),
        sys.intern(match["owner"]),  # one string per owner, not per member
        sys.intern(match["group"]),
        size,
        moment,
        target,
    )


@dataclass(frozen=True)
class Directory:
    """A directory of tar's snapshot: its path, inode, and its entries as tar wrote them (each a
    flag letter and a name, NUL-separated), split only when asked for."""

    path: bytes
    inode: int
    contents: bytes

    @property
    def entries(self) -> list[tuple[str, bytes]]:
        """(flag, name) of each entry: ``Y`` stored in this backup, ``N`` before, ``D`` a directory."""
        return [(chr(entry[0]), entry[1:]) for entry in self.contents.split(b"\0")] if self.contents else []

    @functools.cached_property
    def flags(self) -> dict[bytes, str]:
        return {name: flag for flag, name in self.entries}


def snapshot_body(data: bytes) -> bytes:
    """A snapshot file's records, after its header line, which must say tar's format 2."""
    header, _newline, body = data.partition(b"\n")
    if not header.startswith(b"GNU tar-") or not header.endswith(b"-2"):
        raise DamagedIndex("the snapshot is not in GNU tar's format 2")
    return body


def parse_snapshot(body: bytes) -> list[Directory]:
    """The directories of a snapshot file's body (snapshot_body) in tar's format 2: after the
    dump's time, records of six fields (nfs, mtime seconds and nanoseconds, device, inode, name)
    and the entries, each NUL-terminated, the entries ended by two more NULs. No field or entry is
    empty, so three NULs in a row end a record and nothing else."""
    dumped = body.split(b"\0", 2)
    if len(dumped) < 3:
        raise DamagedIndex("the snapshot has no time of dump")
    directories = []
    for record in dumped[2].split(b"\0\0\0"):
        if not record:
            continue  # after the last record
        fields = record.split(b"\0", 6)
        if len(fields) < 6 or not fields[4].isdigit():
            raise DamagedIndex(f"a directory record of the snapshot is damaged: {record[:80]!r}")
        directories.append(Directory(relative(fields[5]), int(fields[4]), fields[6] if len(fields) > 6 else b""))
    return directories


class BackupIndex:
    """One backup's index, read: the members it stored, and every directory as of it. Each part is
    parsed when first asked for, so that a restore of a few paths parses only the indexes it uses."""

    def __init__(self, name: str, listing: str, snapshot: bytes):
        """``snapshot``: the snapshot file's records (snapshot_body)."""
        self.name, self._listing, self._snapshot = name, listing, snapshot

    def _damaged(self, exc: ValueError) -> BackupError:
        return BackupError("index", f"{self.name} does not read as a file index: {exc}")

    @functools.cached_property
    def members(self) -> dict[bytes, Member]:
        """The members stored in this backup, by path."""
        members = {}
        try:
            for line in self._listing.splitlines():
                if line:
                    member = parse_listing_line(line)
                    members[member.path] = member
        except ValueError as exc:  # DamagedIndex among them
            raise self._damaged(exc) from exc
        self._listing = ""  # read once: 88 MB of text for a million files need not stay
        return members

    @functools.cached_property
    def directories(self) -> list[Directory]:
        """Every directory of the tree as of this backup."""
        try:
            directories = parse_snapshot(self._snapshot)
        except ValueError as exc:
            raise self._damaged(exc) from exc
        self._snapshot = b""  # the directories hold their own entries now
        return directories

    @functools.cached_property
    def by_path(self) -> dict[bytes, Directory]:
        return {directory.path: directory for directory in self.directories}

    @functools.cached_property
    def paths_by_inode(self) -> dict[int, bytes]:
        return {directory.inode: directory.path for directory in self.directories}


def parse_index(name: str, plain: bytes) -> BackupIndex:
    """The index ``name`` from its plain text: its parts found, each parsed when first used."""
    if not plain.startswith(HEADER.split(b":", maxsplit=1)[0]):
        raise DamagedIndex("not an s3napback file index")
    header_end = plain.index(b"\n") + 1
    marker = plain.find(b"\n" + SNAPSHOT_MARKER, header_end - 1)
    if marker < 0:
        raise DamagedIndex("the index has no snapshot part")
    listing = plain[header_end : marker + 1].decode("ascii", "strict")
    return BackupIndex(name, listing, snapshot_body(plain[marker + 1 + len(SNAPSHOT_MARKER) :]))
