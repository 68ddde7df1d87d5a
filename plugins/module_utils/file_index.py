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
import re
from dataclasses import dataclass

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
_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34, "?": 63}


class DamagedIndex(ValueError):
    """An index that does not read as one: damaged, or not an index at all."""


def unquote(quoted: str) -> bytes:
    """The bytes of a name tar quoted in C style (``"./a\\nb\\377"``)."""
    text, out, index = quoted[1:-1], bytearray(), 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out += char.encode("latin-1")  # tar wrote plain ASCII; anything else came escaped
            index += 1
            continue
        following = text[index + 1]
        if following in _ESCAPES:
            out.append(_ESCAPES[following])
            index += 2
        else:
            digits = re.match(r"[0-7]{1,3}", text[index + 1 :])
            if not digits:
                raise DamagedIndex(f"bad escape in {quoted}")
            out.append(int(digits.group(), 8))
            index += 1 + len(digits.group())
    return bytes(out)


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

    path: bytes
    type: str
    mode: int
    owner: str
    group: str
    size: int
    mtime: datetime.datetime
    target: bytes | None = None

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
        match["owner"],
        match["group"],
        size,
        moment,
        target,
    )


@dataclass(frozen=True)
class Directory:
    """A directory of tar's snapshot: its path, inode, and entries (flag, name)."""

    path: bytes
    inode: int
    entries: tuple[tuple[str, bytes], ...]


def parse_snapshot(data: bytes) -> list[Directory]:
    """The directories of a snapshot file in tar's format 2."""
    header, _newline, body = data.partition(b"\n")
    if not header.startswith(b"GNU tar-") or not header.endswith(b"-2"):
        raise DamagedIndex("the snapshot is not in GNU tar's format 2")
    fields = body.split(b"\0")
    position = 2  # the time of the dump: seconds, nanoseconds
    directories = []
    while position + 6 <= len(fields) and fields[position] != b"":
        _nfs, _sec, _nsec, _dev, inode, name = fields[position : position + 6]
        position += 6
        entries = []
        while position < len(fields) and fields[position] != b"":
            entry = fields[position]
            entries.append((chr(entry[0]), entry[1:]))
            position += 1
        position += 2  # the empty entry that ends the contents, and the record's own terminator
        directories.append(Directory(relative(name), int(inode), tuple(entries)))
    return directories


@dataclass(frozen=True)
class BackupIndex:
    """One backup's index, read: the members it stored, and every directory as of it."""

    members: dict[bytes, Member]
    directories: list[Directory]


def parse_index(plain: bytes) -> BackupIndex:
    if not plain.startswith(HEADER.split(b":", maxsplit=1)[0]):
        raise DamagedIndex("not an s3napback file index")
    header_end = plain.index(b"\n") + 1
    marker = plain.find(b"\n" + SNAPSHOT_MARKER, header_end - 1)
    if marker < 0:
        raise DamagedIndex("the index has no snapshot part")
    listing = plain[header_end : marker + 1].decode("ascii", "strict")
    members = {}
    for line in listing.splitlines():
        if line:
            member = parse_listing_line(line)
            members[member.path] = member
    return BackupIndex(members, parse_snapshot(plain[marker + 1 + len(SNAPSHOT_MARKER) :]))
