"""The S3 requests one backup makes: a stream that fits in the first part is one PutObject, sent
only once the pipe has succeeded; a longer one is volumes, one PutObject each. Each object written,
every volume as the manifest, is then checked with one HEAD, and its data is never read back."""

import datetime
import json
import os

from support import trees
from support.faulty_proxy import FaultyProxy
from support.fixtures import bucket_contents

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)
MIB = 1024 * 1024


def data_requests(make_request, moto, source, part_size, manifests=False):
    """(method, kind) of every request on the backup's data object (or, ``manifests``, on its
    manifest), and the outcome."""
    seen = []

    def record(method, path, query):
        if path.endswith(".json") == manifests and not path.endswith(".index") and path.count("/") > 1:
            seen.append((method, next((q for q in ("partNumber", "uploads", "uploadId") if q in query), "object")))

    with FaultyProxy(moto.port, record) as proxy:
        outcome = run_backup(make_request(source, endpoint_url=proxy.url, part_size=part_size), now=DAY)
    return seen, outcome


def test_a_stream_within_the_first_part_is_one_put(tmp_path, make_request, moto, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    seen, outcome = data_requests(make_request, moto, source, 5 * MIB)
    assert outcome.backup["bytes_out"] < 5 * MIB and seen == [("PUT", "object"), ("HEAD", "object")]
    assert outcome.backup["key"] in bucket_contents(s3, bucket)


def test_a_longer_stream_is_volumes_of_one_put_each(tmp_path, make_request, moto, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(6 * MIB))
    seen, outcome = data_requests(make_request, moto, source, 5 * MIB)
    assert sorted(seen) == [("HEAD", "object")] * 2 + [("PUT", "object")] * 2
    key = outcome.backup["key"]
    assert {key, f"{key}~00002"} <= set(bucket_contents(s3, bucket))
    first = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    second = s3.head_object(Bucket=bucket, Key=f"{key}~00002")["ContentLength"]
    assert first == 5 * MIB and first + second == outcome.backup["bytes_out"]
    manifest = s3.get_object(Bucket=bucket, Key=outcome.backup["manifest_key"])["Body"].read()
    assert json.loads(manifest)["volumes"] == 2


def test_the_manifest_is_one_put_and_one_head(tmp_path, make_request, moto, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    seen, outcome = data_requests(make_request, moto, source, 5 * MIB, manifests=True)
    assert seen == [("PUT", "object"), ("HEAD", "object")]
    assert outcome.backup["manifest_key"] in bucket_contents(s3, bucket)
