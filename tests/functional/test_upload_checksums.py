"""A multipart upload declares CRC32, as s3transfer does: S3 checks every part against the CRC32
botocore sends with it and keeps a checksum of the object made of them. An operator whose store
rejects checksums sets request_checksum_calculation to when_required, and nothing is declared."""

import base64
import io
import os
import zlib

from support.fixtures import ACCESS_KEY, SECRET_KEY

from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket, Connection
from ansible_collections.s3napback.s3napback.plugins.module_utils.upload import StreamUpload

MIB = 1024 * 1024
PART = 5 * MIB


def composite_crc32(data: bytes, part: int) -> str:
    """S3's checksum of an object uploaded in parts with CRC32: the CRC32 of the parts' CRC32s."""
    crcs = b"".join(zlib.crc32(data[at : at + part]).to_bytes(4, "big") for at in range(0, len(data), part))
    return base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode()


def upload_in_parts(url: str, bucket: str, key: str, data: bytes) -> list[dict]:
    """Upload ``data`` through the engine in 5 MiB parts; return the parts its completion listed."""
    connection = Connection(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="us-east-1", endpoint_url=url)
    engine = Bucket(connection, bucket)
    completed = []

    def seen(params, **_kwargs):
        completed.extend(params["MultipartUpload"]["Parts"])

    engine.client.meta.events.register("provide-client-params.s3.CompleteMultipartUpload", seen)
    with StreamUpload(engine, key, {}, first_part=PART) as stream:
        stream.feed(io.BytesIO(data))
        stream.complete()
    return completed


def test_the_parts_are_declared_crc32_and_s3_combines_them(moto, s3, bucket):
    data = os.urandom(2 * PART + MIB)
    completed = upload_in_parts(moto.url, bucket, "declared.gpg", data)
    assert [part["PartNumber"] for part in completed] == [1, 2, 3]
    assert all(part["ChecksumCRC32"] for part in completed)
    stored = s3.get_object_attributes(Bucket=bucket, Key="declared.gpg", ObjectAttributes=["Checksum"])
    assert stored["Checksum"] == {"ChecksumCRC32": composite_crc32(data, PART), "ChecksumType": "COMPOSITE"}


def test_when_required_declares_no_checksum(moto, s3, bucket, monkeypatch):
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    data = os.urandom(PART + MIB)
    completed = upload_in_parts(moto.url, bucket, "undeclared.gpg", data)
    assert [sorted(part) for part in completed] == [["ETag", "PartNumber"]] * 2
    stored = s3.get_object_attributes(Bucket=bucket, Key="undeclared.gpg", ObjectAttributes=["Checksum"])
    assert stored["Checksum"]["ChecksumType"] == "FULL_OBJECT"  # S3 (and moto) then checksum it whole
    assert s3.get_object(Bucket=bucket, Key="undeclared.gpg")["Body"].read() == data
