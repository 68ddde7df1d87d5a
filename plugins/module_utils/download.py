# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One object's bytes (or a backup's volumes', one after the other), in order, fetched as ranged
GETs of which ``window`` are in flight at once.

One GET streams only as fast as one connection; awscli reads ranges in parallel and so must a
restore to keep up with it. ``window + 1`` buffers of ``range_size`` bytes are allocated once and
reused (one with the consumer, the others filling), so memory stays bounded whatever the object's
size. Every range of one object names the ETag (and version) that it had when it was first looked
at, so an object replaced during the read fails it instead of splicing two objects together; a
backup's volumes are checked by the SHA-256 of the whole, which its manifest holds.
"""

from __future__ import annotations

import collections
import concurrent.futures
import queue
import random
import threading
from collections.abc import Generator

from .errors import BackupError
from .s3 import Bucket, ObjectVersion

MIB = 1024 * 1024
# Measured into moto on 127.0.0.1 (a 256 MiB object): 8 MiB ranges went at awscli's speed with four
# or eight in flight, 16 MiB ranges twice as fast, as fast with three in flight as with four. moto
# copies the whole object for each range, which real S3 does not; there, ranges of 8 to 16 MiB are
# what AWS advises. Two in flight restored the 1 GB data set as fast as three did, on moto and on
# s3rver over TLS (python -m bench.ab, 2026-12-05: 14.70 against 14.78 s, 4.33 against 4.27 s), and
# keep 16 MiB less: the module's own processes stayed under the 150 MB budget only so.
RANGE_SIZE = 16 * MIB
WINDOW = 2
MAX_WINDOW = 8  # ranges in flight at most, however small (volumes of 5 MiB: 6)
_READ_SIZE = 1 * MIB  # between two reads a worker notices that the consumer has gone

try:
    import botocore.exceptions

    # What a body that breaks off mid-range raises; botocore retries only failures before the body.
    _BROKEN_BODY: tuple[type[BaseException], ...] = (botocore.exceptions.BotoCoreError, OSError)
except ImportError:  # the module reports missing_required_lib('boto3')
    _BROKEN_BODY = (OSError,)


def read_object(
    bucket: Bucket, key: str, range_size: int = RANGE_SIZE, window: int = WINDOW
) -> Generator[memoryview, None, None]:
    """Yield ``key``'s bytes in order; each chunk is valid until the next one is asked for.

    Closing the iterator (or an exception in the consumer) stops the workers between two reads.
    """
    version = bucket.head(key)
    return read_volumes(bucket, [(key, version.size)], range_size, window, {key: version})


def read_volumes(
    bucket: Bucket,
    volumes: list[tuple[str, int]],
    range_size: int = RANGE_SIZE,
    window: int = WINDOW,
    versions: dict[str, ObjectVersion] | None = None,
) -> Generator[memoryview, None, None]:
    """Yield the bytes of ``volumes`` (key, size), one after the other, in order; ranges of the next
    volume are fetched while the last ones of the one before are consumed. Volumes smaller than
    ``range_size`` are read with more in flight, the same bytes in flight in all (``window`` x
    ``range_size``). A volume named in ``versions`` is read as that version only; the others are
    checked by the caller (a backup's SHA-256)."""
    pieces = [
        (key, start, min(start + range_size, size)) for key, size in volumes for start in range(0, size, range_size)
    ]
    if not pieces:
        return _nothing()
    largest = max(end - start for _key, start, end in pieces)
    in_flight = min(len(pieces), MAX_WINDOW, max(window, window * range_size // largest))
    return _read_pieces(bucket, pieces, largest, in_flight, versions or {})


def _nothing() -> Generator[memoryview, None, None]:
    yield from ()


def _read_pieces(
    bucket: Bucket, pieces: list[tuple[str, int, int]], largest: int, window: int, versions: dict
) -> Generator[memoryview, None, None]:
    ranges = _Ranges(bucket, versions)
    free: queue.SimpleQueue = queue.SimpleQueue()
    for _buffer in range(window + 1):
        free.put(bytearray(largest))
    remaining = iter(pieces)
    pending: collections.deque = collections.deque()
    with concurrent.futures.ThreadPoolExecutor(window, thread_name_prefix="s3-range") as pool:

        def submit_next() -> None:
            piece = next(remaining, None)
            if piece is not None:
                pending.append(pool.submit(ranges.fetch, *piece, free.get()))

        try:
            for _range in range(window):
                submit_next()
            while pending:
                buffer, filled = pending.popleft().result()
                submit_next()  # before the consumer gets this range, so that ``window`` stay in flight
                yield memoryview(buffer)[:filled]
                free.put(buffer)
        finally:
            ranges.stop.set()
            for future in pending:
                future.cancel()


class _Ranges:
    """Ranges of objects (of one version of those in ``versions``), each tried again when its body
    breaks off."""

    def __init__(self, bucket: Bucket, versions: dict[str, ObjectVersion]):
        self.bucket, self.versions = bucket, versions
        self.stop = threading.Event()

    def fetch(self, key: str, start: int, end: int, buffer: bytearray) -> tuple[bytearray, int]:
        """Fill ``buffer`` with bytes ``start`` to ``end`` (exclusive) of ``key``."""
        attempt = 1
        while True:
            body = self.bucket.read_range(key, self.versions.get(key), start, end - 1)
            try:
                return buffer, self._read_into(body, memoryview(buffer)[: end - start])
            except _BROKEN_BODY as exc:
                if attempt >= self.bucket.attempts:
                    raise BackupError("s3", f"reading {key} failed: bytes {start}-{end - 1}: {exc}") from exc
            finally:
                body.close()
            if self.stop.wait(random.uniform(0, min(20, 2**attempt))):  # noqa: S311 (jitter, like botocore's)
                raise BackupError("s3", f"reading {key} stopped")  # nobody waits for it any more
            attempt += 1

    def _read_into(self, body, target: memoryview) -> int:
        filled = 0
        while filled < len(target) and not self.stop.is_set():
            chunk = body.read(min(_READ_SIZE, len(target) - filled))
            if not chunk:
                raise OSError(f"the body ended after {filled} of {len(target)} bytes")
            target[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        return filled
