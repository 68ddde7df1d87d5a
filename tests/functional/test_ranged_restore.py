"""Restores read a backup's volumes as parallel ranged GETs: byte for byte over many ranges and
volumes, a range that fails or breaks off is fetched again, a fault that persists fails the restore
in bounded time and leaves nothing behind, an object replaced during the read fails it instead of
being spliced, and a backup missing a volume is not restored at all."""

import datetime
import hashlib
import os
import re
import time

import pytest
from support import trees
from support.engine import restore_set
from support.faulty_proxy import FaultyProxy
from support.fixtures import engine_connection

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.download import read_object, read_volumes
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket

DAY = datetime.datetime(2026, 12, 10, 3, tzinfo=datetime.timezone.utc)
MIB = 1024 * 1024
SMALL_RANGE = 1 * MIB
VOLUME = re.compile(r"\.gpg(~\d+)?$")  # the key of a volume of a backup's data


def data_gets(numbers, fault):
    """A rule that answers the data object's GETs with these (1-based) ``numbers`` with ``fault``."""
    seen = []

    def rule(method, path, _query):
        if method == "GET" and VOLUME.search(path):
            seen.append(path)
            return fault if len(seen) in numbers else None
        return None

    return rule


@pytest.fixture
def backed_up(tmp_path, make_request):
    """A full backup of a small tree and 50 MiB of random bytes: seven volumes of the default size."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(50 * MIB))
    request = make_request(source)
    return request, source, run_backup(request, now=DAY).backup["key"]


def test_many_small_ranges_give_the_volumes_byte_for_byte(backed_up, s3, bucket):
    request, _source, key = backed_up
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    volumes = [(o["Key"], o["Size"]) for o in listed if VOLUME.search(o["Key"])]
    assert [name for name, _size in volumes] == [key] + [f"{key}~{number:05d}" for number in range(2, 8)]
    whole = b"".join(s3.get_object(Bucket=bucket, Key=name)["Body"].read() for name, _size in volumes)
    digest, chunks = hashlib.sha256(), 0
    for chunk in read_volumes(Bucket(request.connection, bucket), volumes, range_size=SMALL_RANGE, window=3):
        digest.update(chunk)
        chunks += 1
    assert digest.hexdigest() == hashlib.sha256(whole).hexdigest()
    assert chunks == sum(-(-size // SMALL_RANGE) for _name, size in volumes) > 50


FAULTS = {
    "a range cut off in the middle of its body": ("cut", None),
    "500 InternalError on a range": (500, "InternalError"),
    "connection reset on a range": ("reset", None),
}


@pytest.mark.parametrize("case", FAULTS)
def test_a_range_that_fails_once_is_fetched_again(case, backed_up, keys, tmp_path, moto):
    request, source, _key = backed_up
    with FaultyProxy(moto.port, data_gets({2, 5}, FAULTS[case])) as proxy:
        restore_set(request, keys, dest=str(tmp_path / "dest"), connection=engine_connection(proxy.url))
        assert proxy.faults == 2
    assert trees.differences(trees.picture(str(source)), trees.picture(str(tmp_path / "dest"))) == []


@pytest.mark.parametrize("case", ["a range cut off in the middle of its body", "500 InternalError on a range"])
def test_a_persistent_fault_fails_in_bounded_time_and_leaves_nothing(case, backed_up, keys, tmp_path, moto):
    request, _source, key = backed_up
    attempts = 3
    every_range_but_the_first = set(range(2, 1000))
    with FaultyProxy(moto.port, data_gets(every_range_but_the_first, FAULTS[case])) as proxy:
        connection = engine_connection(proxy.url, attempts=attempts)
        started = time.monotonic()
        with pytest.raises(BackupError, match=rf"^s3: reading {key}(~\d+)? failed") as failure:
            restore_set(request, keys, dest=str(tmp_path / "dest"), connection=connection)
        elapsed = time.monotonic() - started
    assert elapsed < attempts * 20 + 10, elapsed  # the bound docs/RELIABILITY.md gives, without stalls
    assert "\n" not in str(failure.value)
    assert not (tmp_path / "dest").exists()
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".dest.restoring-")]


def test_an_object_replaced_during_the_read_fails_it(backed_up, s3, bucket, moto):
    _request, _source, key = backed_up
    seen = []

    def replace_before_the_second_range(method, path, _query):
        if method == "GET" and path.endswith(".gpg"):  # the first volume only
            seen.append(path)
            if len(seen) == 2:
                s3.put_object(Bucket=bucket, Key=key, Body=b"another object")

    with FaultyProxy(moto.port, replace_before_the_second_range) as proxy:
        reading = read_object(Bucket(engine_connection(proxy.url), bucket), key, range_size=SMALL_RANGE, window=1)
        with pytest.raises(BackupError, match=rf"^s3: reading {key} failed: it was replaced while it was read$"):
            for _chunk in reading:
                pass
    assert len(seen) == 2


def test_a_backup_missing_a_volume_is_not_restored(backed_up, keys, tmp_path, s3, bucket):
    request, _source, key = backed_up
    s3.delete_object(Bucket=bucket, Key=f"{key}~00004")
    with pytest.raises(BackupError) as failure:
        restore_set(request, keys, dest=str(tmp_path / "dest"))
    assert str(failure.value) == (
        f"restore: the chain is broken: {key}: volume 4 of the 7 its manifest names is not in the bucket"
    )
    assert not (tmp_path / "dest").exists()
