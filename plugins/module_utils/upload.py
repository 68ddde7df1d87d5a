# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stream of unknown length into S3: as volumes (several objects, one PutObject each), or as one
object (a multipart upload, or one PutObject when the whole stream fits in the first part).

Memory is bounded by (part size x (parts in flight + 1)): the next part is read from the pipe
while earlier ones upload, and reading waits when ``concurrency`` parts are already in flight. Part sizes
double every 1,000 parts, so 10,000 parts hold about 8 TiB with the default 8 MiB first part while
a backup of a few GB stays at 8 MiB parts. The SHA-256 of the whole stream is computed on the way,
and the CRC32s that the store is sent and that what it kept is checked against.

A backup's data goes as volumes: a store completes a multipart upload by joining its parts, and
some (s3rver, for one) copy every byte again to do it while the client waits; a volume is stored
once, as it arrives. The file index goes as one object (it is read whole, and mostly small).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import queue
import signal
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Callable

from . import naming
from .errors import BackupError
from .held_signals import signals_held
from .s3 import Bucket
from .stored_check import Sent

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
PARTS_PER_STEP = 1_000


def part_size(number: int, first: int) -> int:
    """The size of part ``number`` (1-based) when the first part has ``first`` bytes."""
    return min(first * 2 ** ((number - 1) // PARTS_PER_STEP), MAX_PART_SIZE)


@dataclass(frozen=True)
class Uploaded:
    size: int
    sha256: str
    parts: int


def _read_into(stream, target: memoryview) -> int:
    """``stream.readinto(target)``, also for a SpooledTemporaryFile (the file index's), which has
    readinto only from Python 3.11 on; hosts may run 3.9."""
    if hasattr(stream, "readinto"):
        return stream.readinto(target)
    data = stream.read(len(target))
    target[: len(data)] = data
    return len(data)


def fill(stream, buffer: bytearray, wanted: int) -> int:
    """Read from ``stream`` into ``buffer`` until ``wanted`` bytes or EOF; return how many."""
    view = memoryview(buffer)[:wanted]
    filled = 0
    while filled < wanted:
        count = _read_into(stream, view[filled:])
        if not count:
            break
        filled += count
    return filled


def _filled(stream, buffer: bytearray, wanted: int, head: bytearray | None) -> tuple[bytearray, int]:
    """``buffer`` (or, when too small, a new one) holding the stream's next ``wanted`` bytes, and
    how many it holds: ``head``, when it is that buffer, holds them already."""
    if buffer is head:
        return buffer, len(buffer)
    if len(buffer) < wanted:
        buffer = bytearray(wanted)
    return buffer, fill(stream, buffer, wanted)


class _PartedUpload:
    """A stream cut into parts of ``part_size(number, first_part)`` bytes, ``concurrency`` of them
    uploading while the next one fills. What a part becomes is the subclass's: ``_send``."""

    def __init__(
        self,
        bucket: Bucket,
        key: str,
        extra: dict,
        *,
        first_part: int = 8 * MIB,
        concurrency: int = 4,
        progress: Callable[[int], None] | None = None,
        bandwidth_limit: int | None = None,
    ):
        if not MIN_PART_SIZE <= first_part <= MAX_PART_SIZE:
            raise BackupError("upload", f"the part size must be from {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes")
        self.bucket, self.key, self.extra = bucket, key, extra
        self.first_part, self.concurrency = first_part, max(1, concurrency)
        self._whole: bytearray | None = None  # the stream, when it ended within its first part
        self._parts: list = []  # what each part's _send returned, in order
        self._completed = False
        self._failure: BaseException | None = None
        self._progress = progress or (lambda _size: None)
        self._limit = bandwidth_limit

    def __enter__(self):
        return self

    def feed(self, stream, head: bytearray | None = None) -> Uploaded:
        """Upload everything ``stream`` yields until EOF, as parts; return its size and SHA-256.
        ``head``: the stream's first bytes, already read into a buffer the upload may keep, as
        many as the first part takes or, shorter, the whole stream.

        ``concurrency + 1`` buffers are allocated once and reused: one fills from the stream while
        the others upload. Reusing them keeps memory flat; fresh multi-MB objects per part
        fragment the heap and grew the process by half again in measurements.
        """
        digest, size, number = hashlib.sha256(), 0, 0
        started = time.monotonic()
        free: queue.SimpleQueue = queue.SimpleQueue()
        buffers = [bytearray() for _buffer in range(self.concurrency + 1)]
        if head is not None:
            buffers[0] = head  # the first out
        for buffer in buffers:
            free.put(buffer)
        futures: list[concurrent.futures.Future] = []
        with concurrent.futures.ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3-part") as pool:
            try:
                while True:
                    number += 1
                    if number > MAX_PARTS:
                        raise BackupError("upload", f"the stream needs more than {MAX_PARTS} parts")
                    wanted = part_size(number, self.first_part)
                    buffer = free.get()  # waits while every buffer is uploading
                    if self._failure is not None:
                        raise self._failure
                    buffer, filled = _filled(stream, buffer, wanted, head if number == 1 else None)
                    if filled == 0 and number > 1:
                        break
                    digest.update(memoryview(buffer)[:filled])
                    self._whole_stream_add(memoryview(buffer)[:filled])
                    size += filled
                    self._progress(size)
                    if number == 1 and filled < wanted:
                        del buffer[filled:]  # kept whole, not copied: nothing reuses it
                        self._whole = buffer
                        self._pace(started, size)
                        break
                    self._before_first_part()
                    futures.append(pool.submit(self._upload_part, number, buffer, filled, free))
                    self._pace(started, size)
                    if filled < wanted:
                        break
                self._parts = [future.result() for future in futures]
            finally:
                for future in futures:
                    future.cancel()
        return Uploaded(size, digest.hexdigest(), len(self._parts) or 1)

    def _whole_stream_add(self, data) -> None:
        """Take ``data``, the stream's next bytes, into what is checked of the whole stream."""

    def _before_first_part(self) -> None:
        """Whatever must exist before the first part is sent."""

    def _pace(self, started: float, size: int) -> None:
        """Hold the stream back (and with it the whole pipe) to stay within the bandwidth limit."""
        if self._limit:
            ahead = started + size / self._limit - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    def _upload_part(self, number: int, buffer: bytearray, filled: int, free: queue.SimpleQueue):
        try:
            # A bytes-like body goes out in one sendall and is hashed in one call. A file-like body
            # costs an Expect: 100-continue round trip and is read back 16 KiB at a time in Python for
            # the signature, the checksum and the socket: most of the runner's CPU when measured.
            # Only a stream's last part is shorter than its buffer, so only it is copied.
            body = buffer if filled == len(buffer) else bytes(memoryview(buffer)[:filled])
            try:
                sent = self._send(number, body, zlib.crc32(body))  # zlib lets go of the GIL
            finally:
                free.put(buffer)  # the next part may fill it while this one is checked
            return self._check(sent)
        except BaseException as exc:
            self._failure = exc
            raise

    def _send(self, number: int, body, crc32: int):
        raise NotImplementedError

    def _check(self, sent):
        """What a part's upload returns, once what ``_send`` returned is checked."""
        return sent


class VolumeUpload(_PartedUpload):
    """``with VolumeUpload(bucket, key, extra) as upload: upload.feed(stream); ...; upload.complete()``:
    the stream as volumes, each part its own object (naming.volume_key), checked with one HEAD once
    stored. Leaving the block without ``complete()`` deletes every volume stored. A stream that ends
    within its first part is held and stored by ``complete()``, after the caller has checked the
    pipe: nothing to delete when a stage failed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # the volumes stored (or being stored), by key, with the version the store made of each:
        # what a failure deletes, by version, so that a versioned bucket keeps nothing of them
        self.versions: dict[str, str | None] = {}
        self._stored_lock = threading.Lock()

    def _send(self, number: int, body, crc32: int) -> tuple[str, Sent]:
        key = naming.volume_key(self.key, number)
        with self._stored_lock:
            self.versions[key] = None
        sent = self.bucket.write(key, body, self.extra, crc32=crc32)
        with self._stored_lock:
            self.versions[key] = sent.version_id
        return key, sent

    def _check(self, sent: tuple[str, Sent]) -> tuple[str, int]:
        key, what = sent
        self.bucket.check_kept(key, what)
        return key, what.size

    @property
    def volumes(self) -> list[tuple[str, int]]:
        """(key, size) of every volume stored, in order."""
        if self._whole is not None:
            return [(self.key, len(self._whole))]
        return list(self._parts)

    def complete(self) -> None:
        if self._whole is not None:
            with self._stored_lock:
                self.versions[self.key] = None
            sent = self.bucket.write(self.key, self._whole, self.extra)
            self.versions[self.key] = sent.version_id
            self.bucket.check_kept(self.key, sent)
        self._completed = True

    def discard(self) -> None:
        """Delete every volume stored, the first one last (so that what a failure here leaves
        is a stray, which the next run clears)."""
        later = [key for key in self.versions if key != self.key]
        ordered = [key for key in naming.deletion_order(self.key, later) if key in self.versions]
        self.bucket.delete_in_order(ordered, self.versions)

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._completed:
            try:
                self.discard()
            except BackupError:
                if exc_type is None:
                    raise


class StreamUpload(_PartedUpload):
    """``with StreamUpload(bucket, key, extra) as upload: upload.feed(stream); ...; upload.complete()``.

    Leaving the block without ``complete()`` aborts the upload: no object, no open upload left. The
    multipart upload starts only once the stream fills its first part. A stream that ends within it
    (most diffs) is held and stored by ``complete()`` with one PutObject, after the caller has
    checked the pipe: one request instead of three, and nothing open for a killed run to leave.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.upload_id: str | None = None
        self.version_id: str | None = None  # of the object stored, in a versioned bucket
        self._sent = Sent()

    def _whole_stream_add(self, data) -> None:
        self._sent.add(data)

    def _before_first_part(self) -> None:
        if self.upload_id is None:
            # A SIGTERM handled while the upload is being created would lose its id, and the abort
            # with it: it waits for the reply (at most the client's timeouts), then takes its course.
            with signals_held(signal.SIGTERM, signal.SIGINT):
                self.upload_id = self.bucket.start_multipart(self.key, self.extra)

    def _send(self, number: int, body, crc32: int) -> dict:
        self._sent.parts[number] = crc32
        return self.bucket.upload_part(self.key, self.upload_id, number, body, crc32)

    def complete(self) -> None:
        """Store the object, then check with one HEAD that the store keeps what was sent: on a
        mismatch the object is removed and a BackupError says so."""
        if self.upload_id is None:
            self.version_id = self.bucket.write(self.key, self._whole or b"", self.extra).version_id
        else:
            self.version_id = self.bucket.complete_multipart(self.key, self.upload_id, self._parts)
        self._completed = True
        self._sent.version_id = self.version_id
        self.bucket.check_kept(self.key, self._sent)

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._completed and self.upload_id is not None:
            try:
                self.bucket.abort_multipart(self.key, self.upload_id)
            except BackupError:
                if exc_type is None:
                    raise
