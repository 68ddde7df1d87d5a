"""A multipart upload declares CRC32, as s3transfer does: S3 checks every part against the CRC32
s3napback sends with it (in a header, never in the aws-chunked trailer that some stores keep as
data) and keeps a checksum of the object made of them. An operator whose store rejects checksums
sets checksum_calculation (or botocore's request_checksum_calculation) to when_required, and
nothing is declared or sent."""

import base64
import io
import os
import zlib

from support.faulty_proxy import FaultyProxy
from support.fixtures import engine_connection

from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.upload import StreamUpload

MIB = 1024 * 1024
PART = 5 * MIB


def composite_crc32(data: bytes, part: int) -> str:
    """S3's checksum of an object uploaded in parts with CRC32: the CRC32 of the parts' CRC32s."""
    crcs = b"".join(zlib.crc32(data[at : at + part]).to_bytes(4, "big") for at in range(0, len(data), part))
    return base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode()


def upload_in_parts(url: str, bucket: str, key: str, data: bytes) -> list[dict]:
    """Upload ``data`` through the engine in 5 MiB parts; return the parts its completion listed."""
    engine = Bucket(engine_connection(url), bucket)
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


def sent_checksums(url: str, bucket: str, data: bytes, monkeypatch, option=None, env=None) -> list[tuple]:
    """(method, query words, CRC32 header, checksum algorithm declared) of each request of one
    engine upload of ``data`` in 5 MiB parts, seen through a recording proxy."""
    if env:
        monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", env)
    port = int(url.rsplit(":", 1)[1])
    with FaultyProxy(port, lambda *_request: None) as proxy:
        connection = engine_connection(proxy.url, checksum_calculation=option)
        with StreamUpload(Bucket(connection, bucket), "checked.gpg", {}, first_part=PART) as stream:
            stream.feed(io.BytesIO(data))
            stream.complete()
    return [
        (method, headers.get("x-amz-checksum-crc32"), headers.get("x-amz-checksum-algorithm"), headers)
        for method, path, headers in proxy.requests
        if path.endswith("/checked.gpg")
    ]


def test_when_supported_sends_each_parts_crc32_in_a_header_never_in_an_aws_chunked_trailer(moto, bucket, monkeypatch):
    data = os.urandom(PART + MIB)
    seen = sent_checksums(moto.url, bucket, data, monkeypatch, option="when_supported", env="when_required")
    create, *parts, complete, head = seen
    assert create[0] == "POST" and create[2] == "CRC32"
    assert sorted(crc for _method, crc, _algorithm, _headers in parts) == sorted(
        base64.b64encode(zlib.crc32(piece).to_bytes(4, "big")).decode() for piece in (data[:PART], data[PART:])
    )
    for _method, _crc, _algorithm, headers in parts:
        assert "aws-chunked" not in headers.get("content-encoding", "") and "x-amz-trailer" not in headers
        assert "x-amz-decoded-content-length" not in headers
    assert sorted(int(headers["content-length"]) for *_sent, headers in parts) == [MIB, PART]  # plain bodies
    assert complete[0] == "POST" and head[0] == "HEAD" and head[3].get("x-amz-checksum-mode") == "ENABLED"


def test_the_option_when_required_sends_no_checksum_whatever_botocores_setting(moto, bucket, monkeypatch):
    seen = sent_checksums(moto.url, bucket, os.urandom(PART + MIB), monkeypatch, option="when_required")
    assert [(method, crc, algorithm) for method, crc, algorithm, _headers in seen] == [
        ("POST", None, None),
        ("PUT", None, None),
        ("PUT", None, None),
        ("POST", None, None),
        ("HEAD", None, None),
    ]
    for _method, _crc, _algorithm, headers in seen:
        assert not [name for name in headers if name.startswith("x-amz-checksum") or name == "x-amz-trailer"]
