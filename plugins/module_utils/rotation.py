# s3napback's engine: plain Python shared by the modules and the host command. Private to this
# collection; its interfaces may change without notice.
"""Rotation: which objects to delete so that only the newest ``fulls`` chains remain.

Whole chains go, never a full under a kept diff. Within a chain the newest diff goes first and the
full last, and each backup's manifest before its data, so an interrupted rotation leaves a shorter
chain that still restores, never a diff without its parent.
"""

from __future__ import annotations

from .catalog import Backup, SetListing


def _keys_of(backups: list[Backup]) -> list[str]:
    keys = []
    for backup in reversed(backups):
        keys += [backup.manifest_key, backup.key]
    return keys


def expired_groups(listing: SetListing, fulls: int) -> list[list[str]]:
    """Keys to delete, in deletion order, to keep the newest ``fulls`` chains of ``listing``: one
    group per expired chain, then one of the leftovers older than the oldest kept full. A group
    goes whole or not at all, so a locked diff keeps its full."""
    chains, orphans = listing.chains()
    expired, kept = chains[:-fulls], chains[-fulls:]
    groups = [_keys_of(chain.backups) for chain in expired]
    if kept:
        oldest_kept = kept[0].full.key
        leftovers = _keys_of([b for b in orphans if b.key < oldest_kept])
        leftovers += [k for k in listing.strays if k < oldest_kept]
        leftovers += [k for k in listing.lonely_manifests if k < oldest_kept]
        groups.append(leftovers)
    return [group for group in groups if group]


def expired_keys(listing: SetListing, fulls: int) -> list[str]:
    """Keys to delete, in deletion order, to keep the newest ``fulls`` chains of ``listing``."""
    return [key for group in expired_groups(listing, fulls) for key in group]
