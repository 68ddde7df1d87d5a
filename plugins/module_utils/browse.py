# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Browsing a directory set through its file indexes, without reading a data object: the tree as
of a point in time (``ls``), and every version of the paths that match a glob (``find``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from . import naming
from .chain_index import versions
from .errors import BackupError
from .file_index import display
from .index_reader import NoIndex, read_chain
from .options import CONNECTION, Option, connection_from, fields_of
from .point_in_time import chain_at, checked_manifests
from .s3 import Bucket
from .set_listing import build_listing
from .set_request import SECRET_KEY, SET, SetRequest

BROWSE = {**SET, "find": Option("str"), **SECRET_KEY, **CONNECTION}


@dataclass(frozen=True)
class BrowseRequest(SetRequest):
    """The set to look into: ``at`` and ``paths`` for ls; find looks at every backup."""

    find: str | None = None  # a glob: every version of the paths it matches, in place of the tree


def browse_request(options: dict) -> BrowseRequest:
    """The request of s3napback_file_info, by its option names (BROWSE)."""
    return BrowseRequest(connection=connection_from(options), **fields_of(BrowseRequest, options))


def browse(request: BrowseRequest) -> dict:
    """The versions ``request.find`` matches, or else the tree; changing nothing."""
    found = find_versions(request, request.find) if request.find else list_tree(request)
    return {"changed": False, **found}


def encoded(path: str) -> bytes:
    """A path as the user gave it, as the bytes of a name (``./`` and outer slashes dropped)."""
    raw = os.fsencode(path).strip(b"/")
    return raw[2:] if raw.startswith(b"./") else b"" if raw == b"." else raw


def _connected(request: BrowseRequest) -> Bucket:
    problems = request.problems()
    if problems:
        raise BackupError("config", "; ".join(problems))
    return Bucket.checked(request.connection, request.bucket)


def tree_as_of(request: BrowseRequest) -> tuple[dict, Iterator[dict]]:
    """The backup that ``request.at`` names (``at``, ``backup``), and the tree as of it, each path
    with its type, size, mtime and the backup that holds its content, one at a time."""
    bucket = _connected(request)
    chain, manifests = chain_at(bucket, request.set_prefix, request.at, request.gpg_verify_key)
    with request.keys() as keys:
        index = read_chain(bucket, chain, manifests, keys)
    newest = len(chain) - 1
    found, absent = index.resolve(newest, [encoded(path) for path in request.paths] or [b""])
    missing = [path for path in request.paths if encoded(path) in absent]
    if missing:
        raise BackupError("index", f"not in the backup of {naming.iso(chain[-1].stamp)}: {', '.join(missing)}")
    head = {"at": naming.iso(chain[-1].stamp), "backup": chain[-1].key}
    return head, (index.describe(entry) for entry in index.entries(found))


def list_tree(request: BrowseRequest) -> dict:
    """The tree as of ``request.at`` (tree_as_of), whole."""
    head, files = tree_as_of(request)
    return {**head, "files": list(files)}


def find_versions(request: BrowseRequest, pattern: str) -> dict:
    """Every version of every path matching ``pattern`` across every chain of the set."""
    bucket = _connected(request)
    listing = build_listing(bucket.list_objects(request.set_prefix), request.set_prefix)
    chains, _orphans = listing.chains()
    if not chains:
        raise BackupError("index", f"there is no backup in {request.bucket}/{request.set_prefix}")
    read, skipped = [], []
    with request.keys() as keys:
        for chain in chains:
            manifests = checked_manifests(bucket, chain.backups, request.gpg_verify_key)
            try:
                read.append(read_chain(bucket, chain.backups, manifests, keys))
            except NoIndex:
                skipped.append(chain.full.key)
    times = {backup.key: naming.iso(backup.stamp) for backup in listing.backups}
    found = versions(read, pattern)
    return {
        "pattern": pattern,
        "versions": [version.as_dict(times[version.backup]) for version in found],
        "paths": sorted({display(version.path) for version in found}),
        "chains_without_index": skipped,
    }
