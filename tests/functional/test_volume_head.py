"""A backup's first bytes, read while S3 is asked (backup._read_head), go to the store from the
buffer they were read into: a diff within its first part is stored without a copy, and a longer
stream's first volume is that buffer, the rest read from the pipe as before."""

import hashlib
import io
import os
import tracemalloc

from support.fixtures import engine_connection

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.upload import VolumeUpload

MIB = 1024 * 1024
PART = 5 * MIB


def engine(url: str, bucket: str) -> Bucket:
    return Bucket(engine_connection(url), bucket)


def stored(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_stream_within_its_first_part_is_stored_from_the_buffer_it_was_read_into(moto, s3, bucket):
    data = os.urandom(3 * MIB)
    head = bytearray(data)
    with VolumeUpload(engine(moto.url, bucket), "whole.gpg", {}, first_part=PART) as upload:
        tracemalloc.start()
        try:
            uploaded = upload.feed(io.BytesIO(b"never read"), head)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        upload.complete()
    assert peak < MIB  # neither copied nor read again: it was a copy of 3 MiB and a buffer of 5
    assert (uploaded.size, uploaded.parts, uploaded.sha256) == (len(data), 1, hashlib.sha256(data).hexdigest())
    assert upload.volumes == [("whole.gpg", len(data))]
    assert stored(s3, bucket, "whole.gpg") == data


def test_a_longer_stream_has_the_head_as_its_first_volume_and_the_rest_from_the_stream(moto, s3, bucket):
    data = os.urandom(2 * PART + MIB)
    with VolumeUpload(engine(moto.url, bucket), "parted.gpg", {}, first_part=PART) as upload:
        uploaded = upload.feed(io.BytesIO(data[PART:]), bytearray(data[:PART]))
        upload.complete()
    keys = ["parted.gpg", naming.volume_key("parted.gpg", 2), naming.volume_key("parted.gpg", 3)]
    assert [key for key, _size in upload.volumes] == keys
    assert b"".join(stored(s3, bucket, key) for key in keys) == data
    assert (uploaded.size, uploaded.parts, uploaded.sha256) == (len(data), 3, hashlib.sha256(data).hexdigest())
