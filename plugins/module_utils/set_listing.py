# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a backup set holds in the bucket: backups, chains, and the debris of failed runs.

A backup is its data (one object, or volumes: naming.volume_key) plus the manifest written after
it; a chain is a full and the diffs that
followed it, each depending on the one before. Keys sort in creation order, so a listing alone
gives the chains; manifests confirm them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable

from . import naming


@dataclass(frozen=True)
class Backup:
    key: str
    kind: str
    stamp: datetime.datetime
    size: int  # of its data: every volume's
    indexed: bool = False  # its file index is in the bucket
    more_volumes: tuple[tuple[str, int], ...] = ()  # (key, size) of its second and later volumes

    @property
    def manifest_key(self) -> str:
        return naming.manifest_key(self.key)

    @property
    def index_key(self) -> str:
        return naming.index_key(self.key)

    @property
    def volumes(self) -> list[tuple[str, int]]:
        """(key, size) of each volume of its data, in order."""
        first = self.size - sum(size for _key, size in self.more_volumes)
        return [(self.key, first), *self.more_volumes]

    @property
    def keys(self) -> list[str]:
        """Its objects in the order rotation deletes them: the manifest first, so that a backup
        half deleted is a stray, never a manifest pointing at nothing; its first volume last, so
        that what a half-done deletion leaves is still a stray, with the volumes it has left."""
        later = [key for key, _size in self.more_volumes]
        return naming.deletion_order(self.key, later, self.manifest_key, *([self.index_key] if self.indexed else []))


@dataclass
class Chain:
    full: Backup
    diffs: list[Backup] = field(default_factory=list)

    @property
    def backups(self) -> list[Backup]:
        return [self.full, *self.diffs]

    @property
    def newest(self) -> Backup:
        return self.backups[-1]


@dataclass
class SetListing:
    """One set's objects, sorted by key: complete backups and the leftovers of failed runs."""

    backups: list[Backup] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)  # data objects whose manifest never came
    lonely_manifests: list[str] = field(default_factory=list)  # manifests whose data is gone
    lonely_indexes: list[str] = field(default_factory=list)  # file indexes whose data is gone
    stray_indexes: list[str] = field(default_factory=list)  # file indexes of strays: part of the stray
    stray_volumes: dict[str, list[str]] = field(default_factory=dict)  # a stray's later volumes, by its key
    lonely_volumes: list[str] = field(default_factory=list)  # later volumes whose first one is gone

    @property
    def newest(self) -> Backup | None:
        return self.backups[-1] if self.backups else None

    def stray_keys(self, key: str) -> list[str]:
        """The objects of the stray ``key`` in the order they are deleted: its file index first, so
        that one half deleted is still a stray (a data object without manifest), never an index
        hidden behind a data object that is gone."""
        index = naming.index_key(key)
        companions = [index] if index in self.stray_indexes else []
        return naming.deletion_order(key, self.stray_volumes.get(key, []), *companions)

    def without(self, keys: list[str]) -> SetListing:
        """This listing once ``keys`` (leftovers, never a backup's) are deleted."""
        gone = set(keys)
        return SetListing(
            self.backups,
            [k for k in self.strays if k not in gone],
            [k for k in self.lonely_manifests if k not in gone],
            [k for k in self.lonely_indexes if k not in gone],
            [k for k in self.stray_indexes if k not in gone],
            {k: [v for v in volumes if v not in gone] for k, volumes in self.stray_volumes.items() if k not in gone},
            [k for k in self.lonely_volumes if k not in gone],
        )

    def chains(self) -> tuple[list[Chain], list[Backup]]:
        """The chains, oldest first, and the diffs that precede every full (orphans)."""
        chains: list[Chain] = []
        orphans: list[Backup] = []
        for backup in self.backups:
            if backup.kind == "full":
                chains.append(Chain(backup))
            elif chains:
                chains[-1].diffs.append(backup)
            else:
                orphans.append(backup)
        return chains, orphans

    def chain_of_newest(self) -> Chain | None:
        chains, _orphans = self.chains()
        if chains and chains[-1].newest is self.newest:
            return chains[-1]
        return None

    def with_backup(self, backup: Backup) -> SetListing:
        backups = sorted([*self.backups, backup], key=lambda b: b.key)
        return SetListing(
            backups,
            self.strays,
            self.lonely_manifests,
            self.lonely_indexes,
            self.stray_indexes,
            self.stray_volumes,
            self.lonely_volumes,
        )


def _later_volumes(sizes: dict[str, int], prefix: str, listing: SetListing) -> dict[str, list[tuple[str, int]]]:
    """The second and later volumes (key, size) of each data key in ``sizes``, in order; those
    whose first volume is not there go into ``listing.lonely_volumes``."""
    later: dict[str, list[tuple[str, int]]] = {}
    for key in sorted(sizes):
        volume = naming.parse_volume_key(key[len(prefix) :])
        if volume is None or "/" in volume[0] or not naming.parse_data_key(volume[0]):
            continue
        data = prefix + volume[0]
        if data in sizes:
            later.setdefault(data, []).append((key, sizes[key]))
        else:
            listing.lonely_volumes.append(key)
    return later


def build_listing(objects: list[tuple[str, int]], prefix: str) -> SetListing:
    """Sort a set's objects (key, size) under ``prefix`` into backups and leftovers."""
    sizes = dict(objects)
    listing = SetListing()
    later_volumes = _later_volumes(sizes, prefix, listing)
    for key in sorted(sizes):
        basename = key[len(prefix) :]
        if "/" in basename:
            continue
        companion = next((s for s in (naming.MANIFEST_SUFFIX, naming.INDEX_SUFFIX) if basename.endswith(s)), None)
        if companion:
            data = key[: -len(companion)]
            if not naming.parse_data_key(basename[: -len(companion)]):
                continue
            if data not in sizes:
                lonely = listing.lonely_manifests if companion == naming.MANIFEST_SUFFIX else listing.lonely_indexes
                lonely.append(key)
            elif companion == naming.INDEX_SUFFIX and naming.manifest_key(data) not in sizes:
                listing.stray_indexes.append(key)
            continue
        parts = naming.parse_data_key(basename)
        if parts is None:
            continue
        later = tuple(later_volumes.get(key, ()))  # in volume order: their numbers have equal digits
        if naming.manifest_key(key) in sizes:
            stamp = naming.parse_stamp(parts.stamp)
            size = sizes[key] + sum(each for _key, each in later)
            listing.backups.append(Backup(key, parts.kind, stamp, size, naming.index_key(key) in sizes, later))
        else:
            listing.strays.append(key)
            if later:
                listing.stray_volumes[key] = [each for each, _size in later]
    return listing


def chain_problem(chain: Chain, read_manifest: Callable[[str], dict]) -> str | None:
    """Why ``chain`` cannot take another diff (a manifest unreadable or not linking to the backup
    before it), or None when every link holds."""
    previous = None
    for backup in chain.backups:
        try:
            manifest = read_manifest(backup.manifest_key)
        except (ValueError, KeyError) as exc:
            return f"manifest {backup.manifest_key} is unreadable: {exc}"
        if manifest.get("key") != backup.key or manifest.get("kind") != backup.kind:
            return f"manifest {backup.manifest_key} does not describe {backup.key}"
        parent = previous.key if previous else None
        if manifest.get("parent") != parent:
            return f"{backup.key} depends on {manifest.get('parent')}, not on {parent}"
        missing = volumes_problem(backup, manifest)
        if missing:
            return missing
        previous = backup
    return None


def volumes_problem(backup: Backup, manifest: dict) -> str | None:
    """Why the bucket does not hold every volume ``manifest`` names of ``backup``'s data, and only
    those, or None."""
    count = manifest.get("volumes", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return f"{backup.key}: its manifest's volumes ({count!r}) is not a count"
    held = {key for key, _size in backup.volumes}
    missing = next((n for n in range(1, count + 1) if naming.volume_key(backup.key, n) not in held), None)
    if missing is not None:
        return f"{backup.key}: volume {missing} of the {count} its manifest names is not in the bucket"
    if len(held) > count:
        return f"{backup.key}: the bucket holds {len(held)} volumes of it, its manifest names {count}"
    return None


def fetched(documents: dict[str, dict | str]) -> Callable[[str], dict]:
    """A ``read_manifest`` for chain_problem over manifests read beforehand (``Bucket.read_json_each``),
    where a string in place of a document says why it could not be read."""

    def read(key: str) -> dict:
        document = documents[key]
        if isinstance(document, str):
            raise ValueError(document)
        return document

    return read
