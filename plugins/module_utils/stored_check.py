# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the store kept, held against what was sent: one HEAD per object, never a read of its data.

A store can answer every request with success and still keep other bytes than it was sent: one
that does not decode botocore's aws-chunked uploads keeps their framing as the object's data, and a
gateway or proxy may rewrite bodies. A backup is recorded only after its object and its manifest
passed this check, so a green run means the store holds what was sent.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field


def crc32_text(value: int) -> str:
    """A CRC32 as S3 writes it: base64 of its four big-endian bytes."""
    return base64.b64encode(value.to_bytes(4, "big")).decode()


@dataclass
class Sent:
    """What an upload sent: its size, the CRC32 of the whole, and each part's CRC32 (multipart)."""

    size: int = 0
    crc32: int = 0
    parts: dict[int, int] = field(default_factory=dict)  # part number: its CRC32
    version_id: str | None = None  # the version the store made of it (a versioned bucket)

    def add(self, data) -> None:
        self.size += len(data)
        self.crc32 = zlib.crc32(data, self.crc32)

    def composite(self) -> str:
        """S3's checksum of a multipart object declared CRC32: the CRC32 of its parts' CRC32s."""
        joined = b"".join(self.parts[number].to_bytes(4, "big") for number in sorted(self.parts))
        return crc32_text(zlib.crc32(joined))


@dataclass(frozen=True)
class Kept:
    """What a HEAD says the store keeps: its size and, where the store returns one, its CRC32."""

    size: int
    crc32: str | None = None  # whole-object, or "<composite>-<parts>" for a multipart object


def problem(sent: Sent, kept: Kept) -> str | None:
    """Why ``kept`` is not what was ``sent``, or None. A checksum is compared only where the store
    returned one; a composite may come with or without its ``-<parts>`` suffix (moto omits it)."""
    if kept.size != sent.size:
        return f"the store kept {kept.size} bytes of {sent.size} sent"
    if kept.crc32 is None:
        return None
    value, _dash, parts = kept.crc32.partition("-")
    expected = {crc32_text(sent.crc32)}
    if sent.parts and (not parts or int(parts) == len(sent.parts)):
        expected.add(sent.composite().partition("-")[0])
    if value not in expected:
        return f"the store's CRC32 is {kept.crc32}, not that of the bytes sent"
    return None
