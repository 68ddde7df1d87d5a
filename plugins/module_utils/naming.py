# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Names: backup set names, object keys, and the local file names of a set's state.

Every name is collision-free by construction: two different sources never share a set name and two
different sets never share a state file (the original's ``/`` -> ``_`` mapping made ``/a/b_c`` and
``/a_b/c`` one file).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import socket
from dataclasses import dataclass

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MANIFEST_SUFFIX = ".json"
INDEX_SUFFIX = ".index"  # a directory backup's file index (file_index.py)
# A backup's data is a run of volumes: the first at the data key, the next ones beside it with the
# number appended after a "~" (never in a data key's extension, so no listing takes one for a backup).
VOLUME_MARK = "~"
VOLUME_DIGITS = 5
KINDS = ("full", "diff")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~+-]{0,199}$")
_CLEAN_COMPONENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
_SLUG_UNSAFE_RE = re.compile(r"[^A-Za-z0-9.+-]+")
_VOLUME_RE = re.compile(r"^(?P<data>.+)~(?P<number>\d{5,})$")
_DATA_KEY_RE = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<kind>full|diff)(?P<ext>(?:\.[a-z0-9]+)+)$")


def _digest(*parts: str, length: int) -> str:
    joined = "\0".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.sha256(joined).hexdigest()[:length]


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a backup set, or None when it can."""
    if not _NAME_RE.match(name or "") or ".." in name:
        return (
            f"name {name!r} must be 1 to 200 letters, digits and . _ ~ + -, start with a letter or"
            " digit, and contain no '/' or '..'"
        )
    return None


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot prefix a bucket's keys, or None when it can."""
    parts = prefix.split("/") if prefix else []
    if any(part in ("", ".", "..") for part in parts) or any(ord(c) < 32 for c in prefix):
        return f"prefix {prefix!r} must be '/'-separated names without empty, '.' or '..' parts"
    return None


def source_name(kind: str, identity: str) -> str:
    """A readable set name for a source of ``kind`` (``dir``, later ``mysql`` ...) at ``identity``.

    Names made only of clean path components join them with ``_`` (``/var/www`` -> ``dir-var_www``);
    clean components contain no ``_`` so this is one-to-one. Anything else becomes a lossy slug plus
    ``~`` and a hash of the exact identity: ``~`` never occurs in a clean name, so the two forms
    cannot collide either.
    """
    components = [part for part in identity.split("/") if part]
    if components and all(_CLEAN_COMPONENT_RE.match(part) for part in components):
        readable = "_".join(components)
        if len(readable) <= 120:
            return f"{kind}-{readable}"
    slug = _SLUG_UNSAFE_RE.sub("_", "_".join(components)).strip("_")[:80] or "root"
    return f"{kind}-{slug}~{_digest(kind, identity, length=10)}"


def set_id(endpoint: str | None, bucket: str, prefix: str, name: str) -> str:
    """The local identity of a backup set: its state files' base name."""
    return f"{name}.{_digest(endpoint or '', bucket, prefix, name, length=12)}"


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime(STAMP_FORMAT)


def iso(moment: datetime.datetime) -> str:
    """``moment`` as an ISO 8601 UTC timestamp to the second, as results and manifests show it."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=datetime.timezone.utc)


def host_prefix(prefix: str | None) -> str:
    """The key prefix of a host's sets: ``prefix`` without outer slashes, by default the FQDN."""
    return (socket.getfqdn() if prefix is None else prefix).strip("/")


def set_prefix(prefix: str, name: str) -> str:
    """The key prefix of every object of one set, ending in ``/``."""
    return f"{prefix}/{name}/" if prefix else f"{name}/"


def data_key(prefix: str, name: str, when: str, kind: str, extension: str) -> str:
    return f"{set_prefix(prefix, name)}{when}-{kind}{extension}"


def manifest_key(key: str) -> str:
    return key + MANIFEST_SUFFIX


def index_key(key: str) -> str:
    return key + INDEX_SUFFIX


def volume_key(key: str, number: int) -> str:
    """The key of volume ``number`` (1-based) of the backup whose data key is ``key``."""
    return key if number == 1 else f"{key}{VOLUME_MARK}{number:0{VOLUME_DIGITS}d}"


def deletion_order(key: str, later: list[str], *companions: str) -> list[str]:
    """The order in which a backup's objects are deleted: its ``companions`` (manifest, index)
    first, then its ``later`` volumes from the last, its first volume (``key``) last, so that what
    a deletion cut short leaves is still recognised (a stray, a lonely index or volume)."""
    return [*companions, *sorted(later, reverse=True), key]


def parse_volume_key(key: str) -> tuple[str, int] | None:
    """The data key and the number of a backup's second or later volume, or None for any other key."""
    match = _VOLUME_RE.match(key)
    if not match or int(match["number"]) < 2:
        return None
    return match["data"], int(match["number"])


@dataclass(frozen=True)
class KeyParts:
    stamp: str
    kind: str
    extension: str


def parse_data_key(basename: str) -> KeyParts | None:
    """The parts of a data object's base name, or None for anything that is not one."""
    match = _DATA_KEY_RE.match(basename)
    if not match or basename.endswith((MANIFEST_SUFFIX, INDEX_SUFFIX)):
        return None
    return KeyParts(match["stamp"], match["kind"], match["ext"])
