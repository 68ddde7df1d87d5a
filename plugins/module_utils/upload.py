# s3napback's engine: plain Python shared by the modules and the host command. Private to this
# collection; its interfaces may change without notice.
"""A stream of unknown length into one S3 object, through a multipart upload.

Memory is bounded by (part size x parts in flight): the next part is read from the pipe while
earlier ones upload, and reading waits when ``concurrency`` parts are already in flight. Part sizes
double every 1,000 parts, so 10,000 parts hold about 8 TiB with the default 8 MiB first part while
a backup of a few GB stays at 8 MiB parts. The SHA-256 of the whole stream is computed on the way.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
from dataclasses import dataclass

from .errors import BackupError
from .s3 import Bucket

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


class StreamUpload:
    """``with StreamUpload(bucket, key, extra) as upload: upload.feed(stream); ...; upload.complete()``.

    Leaving the block without ``complete()`` aborts the upload: no object, no open upload left.
    """

    def __init__(self, bucket: Bucket, key: str, extra: dict, first_part: int = 8 * MIB, concurrency: int = 4):
        if not MIN_PART_SIZE <= first_part <= MAX_PART_SIZE:
            raise BackupError("upload", f"the part size must be from {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes")
        self.bucket, self.key, self.extra = bucket, key, extra
        self.first_part, self.concurrency = first_part, max(1, concurrency)
        self.upload_id: str | None = None
        self._etags: list[str] = []
        self._completed = False

    def __enter__(self) -> StreamUpload:
        self.upload_id = self.bucket.start_multipart(self.key, self.extra)
        return self

    def feed(self, stream) -> Uploaded:
        """Upload everything ``stream`` yields until EOF, as parts; return its size and SHA-256."""
        digest, size, number = hashlib.sha256(), 0, 0
        futures: list[concurrent.futures.Future] = []
        in_flight: set[concurrent.futures.Future] = set()
        with concurrent.futures.ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3-part") as pool:
            try:
                while True:
                    number += 1
                    if number > MAX_PARTS:
                        raise BackupError("upload", f"the stream needs more than {MAX_PARTS} parts")
                    data = stream.read(part_size(number, self.first_part))
                    if not data and number > 1:
                        break
                    digest.update(data)
                    size += len(data)
                    futures.append(pool.submit(self.bucket.upload_part, self.key, self.upload_id, number, data))
                    in_flight.add(futures[-1])
                    del data
                    in_flight = self._wait_for_room(in_flight)
                    if size == 0:
                        break
                self._etags = [future.result() for future in futures]
            finally:
                for future in futures:
                    future.cancel()
        return Uploaded(size, digest.hexdigest(), len(self._etags))

    def _wait_for_room(self, in_flight: set) -> set:
        """Block until fewer than ``concurrency`` parts are in flight; re-raise a part's failure."""
        if len(in_flight) < self.concurrency:
            return in_flight
        done, pending = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            future.result()
        return pending

    def complete(self) -> None:
        self.bucket.complete_multipart(self.key, self.upload_id, self._etags)
        self._completed = True

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._completed and self.upload_id is not None:
            try:
                self.bucket.abort_multipart(self.key, self.upload_id)
            except BackupError:
                if exc_type is None:
                    raise
