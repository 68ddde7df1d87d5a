# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A round trip through the store, to run before the first backup: does it keep what s3napback
sends (a PutObject and a two-part multipart upload, read back whole), and does it decode the
aws-chunked uploads that botocore 1.36+ and aws-cli 2.23+ send over HTTPS?

The last one cannot hurt s3napback's own uploads, which carry their checksum in a header, but it
decides whether other tools may upload into the same store, and so it is reported on its own.
Every probe object is deleted afterwards; the probe leaves the bucket as it found it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import uuid

from .errors import BackupError
from .s3 import Bucket, Connection
from .upload import MIN_PART_SIZE, StreamUpload

PUT_SIZE = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _read_back(bucket: Bucket, key: str, sent: bytes) -> None:
    kept = bucket.read_all(key)
    if kept != sent:
        raise BackupError("s3", f"{key} read back as {len(kept)} other bytes than the {len(sent)} sent")


def _put(bucket: Bucket, key: str) -> str:
    body = os.urandom(PUT_SIZE)
    bucket.check_kept(key, bucket.write(key, body, {}))
    _read_back(bucket, key, body)
    return f"{PUT_SIZE} bytes stored and read back" + (" with their CRC32" if bucket.checksums else "")


def _multipart(bucket: Bucket, key: str) -> str:
    body = os.urandom(MIN_PART_SIZE + PUT_SIZE)
    with StreamUpload(bucket, key, {}, first_part=MIN_PART_SIZE) as upload:
        upload.feed(io.BytesIO(body))
        upload.complete()
    _read_back(bucket, key, body)
    return f"two parts, {len(body)} bytes, stored and read back"


def _botocore_default(connection: Connection, bucket_name: str) -> Bucket | None:
    """A bucket whose uploads leave the checksum to botocore, as other tools do: over HTTPS, from
    botocore 1.36 on, in an aws-chunked trailer. None where botocore would not send one."""
    if not (connection.endpoint_url or "https:").startswith("https:"):
        return None
    plain = Bucket(dataclasses.replace(connection, checksum_calculation="when_supported"), bucket_name)
    if getattr(plain.client.meta.config, "request_checksum_calculation", None) != "when_supported":
        return None
    plain.checksums = False  # botocore adds its own
    return plain


def _aws_chunked(plain: Bucket, key: str) -> str:
    body = b'{"s3napback": "probe"}\n'
    plain.write(key, body, {})
    kept = plain.read_all(key)
    if kept != body:
        raise BackupError(
            "s3",
            f"the store kept {len(kept)} bytes of {len(body)}: it keeps the framing of aws-chunked uploads as data."
            " s3napback is not affected (it sends checksums in headers), but uploads by aws-cli 2.23+ or"
            " boto3 1.36+ are: give those tools AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
        )
    return "aws-chunked uploads are decoded"


def run_probe(connection: Connection, bucket_name: str, prefix: str) -> dict:
    """Probe the store under ``prefix``: ``ok`` is whether s3napback's own uploads are kept as sent;
    ``checks`` says what each step found."""
    bucket = Bucket(connection, bucket_name)
    base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    token = uuid.uuid4().hex[:12]
    steps = [("put", _put), ("multipart", _multipart)]
    checks = []
    written = []
    try:
        for name, step in steps:
            key = f"{base}.s3napback-probe-{token}-{name}"
            written.append(key)
            checks.append(_attempt(name, lambda key=key, step=step: step(bucket, key)))
        plain = _botocore_default(connection, bucket_name)
        if plain is not None:
            key = f"{base}.s3napback-probe-{token}-aws-chunked"
            written.append(key)
            checks.append(_attempt("aws_chunked", lambda: _aws_chunked(plain, key)))
    finally:
        for key in written:
            with contextlib.suppress(BackupError):
                bucket.delete(key)
    own = [check for check in checks if check.name != "aws_chunked"]
    return {"ok": all(check.ok for check in own), "checks": [dataclasses.asdict(check) for check in checks]}


def _attempt(name: str, step) -> Check:
    try:
        return Check(name, True, step())
    except BackupError as exc:
        return Check(name, False, str(exc))
