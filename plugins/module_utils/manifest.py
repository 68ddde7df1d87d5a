# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The manifest beside every data object: what it holds, what it depends on, how to check it.

A manifest is written only after every volume of its data is stored, so a manifest means a whole
backup; ``volumes`` says how many (manifests written before volumes have none: one).
"""

from __future__ import annotations

import socket

from .version import VERSION

FORMAT = 1


def build_manifest(
    *,
    key: str,
    kind: str,
    parent: str | None,
    chain: str,
    source: dict,
    compression: str,
    recipients: list[str],
    bytes_in: int | None,
    uploaded,
    started: str,
    finished: str,
    duration_s: float,
    period: int,
    warnings: list[str],
) -> dict:
    return {
        "format": FORMAT,
        "tool": f"s3napback {VERSION}",
        "host": socket.getfqdn(),
        "key": key,
        "kind": kind,
        "parent": parent,
        "chain": chain,
        "period": period,
        "source": source,
        "compression": compression,
        "encryption": {"type": "gpg", "recipients": recipients} if recipients else None,
        "bytes_in": bytes_in,
        "bytes_out": uploaded.size,
        "volumes": uploaded.parts,  # the data's objects: naming.volume_key
        "sha256": uploaded.sha256,
        "started": started,
        "finished": finished,
        "duration_s": duration_s,
        "warnings": warnings,
    }
