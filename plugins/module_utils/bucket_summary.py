# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a bucket holds, set by set: chains, sizes, the newest backup and its age, and problems.

It only reads. Problems are the debris of failed or interrupted runs and outside deletions: a diff
without its full, a manifest without its object, an object without its manifest, an upload left
open.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from . import naming
from .errors import BackupError
from .options import BucketRequest
from .protection import ARCHIVED
from .retrieval import state_of
from .s3 import Bucket
from .set_listing import build_listing, volumes_problem


def _set_of(key: str) -> str | None:
    """The set prefix (``host/name/``) of a key that looks like one of s3napback's, else None."""
    directory, _slash, basename = key.rpartition("/")
    if not directory:
        return None
    for suffix in (naming.MANIFEST_SUFFIX, naming.INDEX_SUFFIX):
        if basename.endswith(suffix):
            basename = basename[: -len(suffix)]
    volume = naming.parse_volume_key(basename)
    if volume is not None:
        basename = volume[0]
    return directory + "/" if naming.parse_data_key(basename) else None


def _missing_indexes(backups: list) -> list[str]:
    """Index keys a backup should have and lacks: once a set's backups have indexes, every later
    one does (the newest manifest's own claim is checked where it is read)."""
    first = next((number for number, backup in enumerate(backups) if backup.indexed), None)
    if first is None:
        return []
    return [backup.index_key for backup in backups[first:] if not backup.indexed]


def describe_set(bucket: Bucket, set_prefix: str, objects: list, uploads: list, now: datetime.datetime) -> dict:
    listing = build_listing(objects, set_prefix)
    chains, orphans = listing.chains()
    host, _slash, name = set_prefix[:-1].rpartition("/")
    problems = [f"diff without its full: {b.key}" for b in orphans]
    problems += [f"manifest without its object: {k}" for k in listing.lonely_manifests]
    problems += [f"object without its manifest (a failed run?): {k}" for k in listing.strays]
    problems += [f"file index without its object: {k}" for k in listing.lonely_indexes]
    problems += [f"volume without the first of its object: {k}" for k in listing.lonely_volumes]
    problems += [f"file index missing: {k}" for k in _missing_indexes(listing.backups)]
    problems += [f"unfinished upload: {u['key']} (upload id {u['upload_id']})" for u in uploads]
    newest = listing.newest
    source = None
    if newest is not None:
        try:
            manifest = bucket.read_json(newest.manifest_key)
            source = manifest.get("source")
            missing = f"file index missing: {newest.index_key}"
            if manifest.get("index") and not newest.indexed and missing not in problems:
                problems.append(missing)
            volumes = volumes_problem(newest, manifest)
            if volumes:
                problems.append(volumes)
        except BackupError as exc:
            problems.append(f"unreadable manifest {newest.manifest_key}: {exc.cause}")
        except (ValueError, AttributeError) as exc:
            problems.append(f"unreadable manifest {newest.manifest_key}: {exc}")
    sizes = dict(objects)
    by_class: dict[str, int] = defaultdict(int)
    for key, size in objects:
        by_class[bucket.listed_classes.get(key, "STANDARD")] += size
    return {
        "bucket": bucket.bucket,
        "prefix": host,
        "name": name,
        "source": source,
        "backups": len(listing.backups),
        "bytes": sum(sizes.values()),
        "chains": [
            {
                "full": chain.full.key,
                "diffs": [b.key for b in chain.diffs],
                "time": naming.iso(chain.full.stamp),
                "bytes": sum(b.size for b in chain.backups),
            }
            for chain in chains
        ],
        "newest": None
        if newest is None
        else {
            "key": newest.key,
            "kind": newest.kind,
            "time": naming.iso(newest.stamp),
            "age_s": round((now - newest.stamp).total_seconds()),
        },
        "history": [_history_entry(bucket, b) for b in listing.backups],
        "bytes_by_storage_class": dict(sorted(by_class.items())),
        "problems": problems,
    }


def _history_entry(bucket: Bucket, backup) -> dict:
    """A backup as the history lists it; an archived one also says whether a restored copy is
    there to read (one HEAD: the listing does not say)."""
    storage_class = bucket.listed_classes.get(backup.key, "STANDARD")
    entry = {
        "time": naming.iso(backup.stamp),
        "kind": backup.kind,
        "bytes": backup.size,
        "storage_class": storage_class,
    }
    if storage_class in ARCHIVED:
        state, expires = state_of(bucket.archive_state(backup.key)[1])
        entry["retrieval"] = {"state": state, "expires": expires}
    return entry


def summarize(request: BucketRequest, now: datetime.datetime | None = None) -> dict:
    """What s3napback_info returns and s3napback_report draws: the bucket checked, then described."""
    return describe_bucket(Bucket.checked(request.connection, request.bucket), request.prefix, now=now)


def describe_bucket(bucket: Bucket, prefix: str = "", now: datetime.datetime | None = None) -> dict:
    """Every set under ``prefix`` (a host's prefix, or "" for the whole bucket)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    scope = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    objects_by_set: dict[str, list] = defaultdict(list)
    for key, size in bucket.list_objects(scope):
        set_prefix = _set_of(key)
        if set_prefix is not None:
            objects_by_set[set_prefix].append((key, size))
    uploads_by_set: dict[str, list] = defaultdict(list)
    for upload in bucket.open_uploads(scope):
        uploads_by_set[upload["key"].rpartition("/")[0] + "/"].append(upload)
    sets = [
        describe_set(bucket, set_prefix, objects_by_set.get(set_prefix, []), uploads_by_set.get(set_prefix, []), now)
        for set_prefix in sorted(set(objects_by_set) | set(uploads_by_set))
    ]
    ages = [s["newest"]["age_s"] for s in sets if s["newest"]]
    by_class: dict[str, int] = defaultdict(int)
    for described in sets:
        for storage_class, size in described["bytes_by_storage_class"].items():
            by_class[storage_class] += size
    return {
        "sets": sets,
        "bytes_by_storage_class": dict(sorted(by_class.items())),
        "problems": [f"{s['prefix']}/{s['name']}: {p}" for s in sets for p in s["problems"]],
        "stalest_age_s": max(ages) if ages else None,
        "bytes": sum(s["bytes"] for s in sets),
    }
