# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A set as of a point in time: the newest full at or before it and the diffs up to it, with their
manifests read, the chain's links checked and, when asked, every manifest's signature."""

from __future__ import annotations

import datetime
import re

from . import naming
from .errors import BackupError
from .s3 import Bucket
from .set_listing import Backup, Chain, SetListing, build_listing, chain_problem, fetched
from .signature import Verifier


def point_in_time(text: str | None) -> datetime.datetime | None:
    """``text`` as an aware UTC moment: a date means the end of that day (UTC); a naive time is UTC."""
    if text is None:
        return None
    value = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = datetime.date.fromisoformat(value)
            return datetime.datetime.combine(day, datetime.time.max, datetime.timezone.utc).replace(microsecond=0)
        moment = datetime.datetime.fromisoformat(re.sub(r"Z$", "+00:00", value))
    except ValueError:
        raise ValueError(f"at {value!r} is not an ISO 8601 date or timestamp, such as 2026-11-26T03:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def select_chain(listing: SetListing, at: datetime.datetime | None) -> list[Backup]:
    """The newest full at or before ``at`` and the diffs after it, up to ``at``."""
    eligible = [b for b in listing.backups if at is None or b.stamp <= at]
    fulls = [index for index, backup in enumerate(eligible) if backup.kind == "full"]
    if not fulls:
        return []
    return eligible[fulls[-1] :]


def checked_manifests(bucket: Bucket, chain: list[Backup], verify_key: str | None) -> dict[str, dict]:
    """The manifests of ``chain`` (full first) by data key, once its links hold and, with
    ``verify_key``, each is signed by it; a BackupError saying what is broken otherwise."""
    manifests = bucket.read_json_each([backup.manifest_key for backup in chain])
    problem = chain_problem(Chain(chain[0], chain[1:]), fetched(manifests))
    if problem:
        raise BackupError("restore", f"the chain is broken: {problem}")
    documents = {}
    for backup in chain:
        document = manifests[backup.manifest_key]
        if isinstance(document, dict):  # chain_problem found every one readable
            documents[backup.key] = document
    if verify_key:
        with Verifier(verify_key) as verify:
            for backup in chain:
                verify(backup.key, documents[backup.key])
    return documents


def chain_at(bucket: Bucket, set_prefix: str, at: str | None, verify_key: str | None = None) -> tuple[list, dict]:
    """The chain of the set under ``set_prefix`` as of ``at`` and its manifests by data key."""
    listing = build_listing(bucket.list_objects(set_prefix), set_prefix)
    where = f"{bucket.bucket}/{set_prefix}"
    if not listing.backups:
        raise BackupError("restore", f"there is no backup in {where}")
    moment = point_in_time(at)
    chain = select_chain(listing, moment)
    if not chain:
        when = f" at or before {naming.iso(moment)}" if moment is not None else ""
        raise BackupError("restore", f"there is no full backup in {where}{when}")
    return chain, checked_manifests(bucket, chain, verify_key)
