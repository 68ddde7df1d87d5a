"""S3 faults on the wire, made by a proxy in front of the real S3 API (moto): errors, throttling,
dropped connections, stalls and a slow link. Transient faults are retried and the backup is whole;
persistent ones fail the run in bounded time, abort the upload and leave state as it was."""

import datetime
import os
import time

import pytest
from support import trees
from support.engine import restore_set, state_files
from support.faulty_proxy import FaultyProxy
from support.fixtures import ACCESS_KEY, SECRET_KEY, bucket_contents, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection

DAY = datetime.datetime(2026, 12, 10, 3, tzinfo=datetime.timezone.utc)
PART = 5 * 1024 * 1024


def part(number):
    return lambda method, query: method == "PUT" and query.get("partNumber") == [str(number)]


def first_tries(test, fault, tries=1):
    """A rule that answers the first ``tries`` requests that pass ``test`` with ``fault``."""
    seen = []

    def rule(method, _path, query):
        if test(method, query) and len(seen) < tries:
            seen.append(method)
            return fault
        return None

    return rule


def always(test, fault):
    return lambda method, _path, query: fault if test(method, query) else None


@pytest.fixture
def source(tmp_path):
    tree = tmp_path / "source"
    trees.build_tree(str(tree))
    trees.write(str(tree / "big.bin"), os.urandom(12 * 1024 * 1024))  # three parts
    return tree


def through(proxy, make_request, source, timeout=60, attempts=6):
    connection = Connection(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
        endpoint_url=proxy.url,
        timeout=timeout,
        attempts=attempts,
    )
    return make_request(source, connection=connection, part_size=PART)


def assert_restores(request, keys, source, tmp_path, moto):
    restored = tmp_path / "restored"
    direct = Connection(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="us-east-1", endpoint_url=moto.url)
    restore_set(request, keys, dest=str(restored), connection=direct)
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []


TRANSIENT = {
    "500 InternalError on a part": (part(2), (500, "InternalError"), 1, {}),
    "503 SlowDown twice on starting the upload": (
        lambda method, query: method == "POST" and "uploads" in query,
        (503, "SlowDown"),
        2,
        {},
    ),
    "503 SlowDown on every part once": (
        lambda method, query: method == "PUT" and "partNumber" in query,
        (503, "SlowDown"),
        3,
        {},
    ),
    "connection reset in the middle of a part": (part(2), ("reset", None), 1, {}),
    "connection reset on completing the upload": (
        lambda method, query: method == "POST" and "uploadId" in query,
        ("reset", None),
        1,
        {},
    ),
    "a stalled part, past the timeout": (part(1), ("stall", 4), 1, {"timeout": 2}),
    "500 on writing the manifest": (
        lambda method, query: method == "PUT" and "partNumber" not in query,
        (500, "InternalError"),
        1,
        {},
    ),
}


@pytest.mark.parametrize("case", TRANSIENT)
def test_a_transient_fault_is_retried_and_the_backup_is_whole(
    case, tmp_path, make_request, moto, s3, bucket, keys, source
):
    test, fault, tries, connection = TRANSIENT[case]
    with FaultyProxy(moto.port, first_tries(test, fault, tries)) as proxy:
        request = through(proxy, make_request, source, **connection)
        outcome = run_backup(request, now=DAY)
        assert proxy.faults == tries
    assert outcome.backup["kind"] == "full" and open_uploads(s3, bucket) == []
    assert_restores(request, keys, source, tmp_path, moto)


def test_a_slow_link_is_slow_and_whole(tmp_path, make_request, moto, s3, bucket, keys, source):
    rate = 8 * 1024 * 1024
    with FaultyProxy(moto.port, always(lambda method, _query: method == "PUT", ("slow", rate))) as proxy:
        request = through(proxy, make_request, source)
        started = time.monotonic()
        outcome = run_backup(request, now=DAY)
        elapsed = time.monotonic() - started
    assert elapsed >= outcome.backup["bytes_out"] / rate / 4  # four parts in flight at most
    assert_restores(request, keys, source, tmp_path, moto)


PERSISTENT = {
    "503 SlowDown for good": ((503, "SlowDown"), {"attempts": 3}, r"^s3: uploading part 2 of .* failed: SlowDown"),
    "500 for good": ((500, "InternalError"), {"attempts": 3}, r"^s3: uploading part 2 of .* failed: InternalError"),
    "every try reset": (("reset", None), {"attempts": 3}, r"^s3: .*uploading part 2 of .*"),
    "every try stalled": (("stall", 3), {"attempts": 2, "timeout": 1}, r"^s3: .*uploading part 2 of .*"),
}


@pytest.mark.parametrize("case", PERSISTENT)
def test_a_persistent_fault_fails_in_bounded_time_and_changes_nothing(
    case, tmp_path, make_request, moto, s3, bucket, source
):
    fault, connection, message = PERSISTENT[case]
    broken = {"on": True}
    rule = always(lambda method, query: broken["on"] and part(2)(method, query), fault)
    state_dir = tmp_path / "state"
    with FaultyProxy(moto.port, rule) as proxy:
        request = through(proxy, make_request, source, **connection)
        started = time.monotonic()
        with pytest.raises(BackupError, match=message) as failure:
            run_backup(request, now=DAY)
        elapsed = time.monotonic() - started
        attempts, timeout = connection["attempts"], connection.get("timeout", 0)
        assert elapsed < attempts * (timeout + 20) + 10, elapsed  # the bound docs/RELIABILITY.md gives
        assert "\n" not in str(failure.value)
        assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
        assert state_files(str(state_dir)) == {}
        broken["on"] = False  # the fault is gone: the next run is a whole full
        assert run_backup(request, now=DAY).backup["kind"] == "full"
    assert open_uploads(s3, bucket) == []


def lists_uploads(method, query):
    return method == "GET" and "uploads" in query


def test_a_store_that_cannot_list_uploads_still_backs_up(tmp_path, make_request, moto, s3, bucket, keys, source):
    """s3rver answers ListMultipartUploads with NotImplemented: nothing to clean up is assumed there."""
    with FaultyProxy(moto.port, always(lists_uploads, (501, "NotImplemented"))) as proxy:
        request = through(proxy, make_request, source)
        outcome = run_backup(request, now=DAY)
        assert proxy.faults >= 1
    assert outcome.backup["kind"] == "full"
    assert_restores(request, keys, source, tmp_path, moto)


def test_any_other_failure_to_list_uploads_stops_the_run(tmp_path, make_request, moto, s3, bucket, source):
    with FaultyProxy(moto.port, always(lists_uploads, (403, "AccessDenied"))) as proxy:
        request = through(proxy, make_request, source, attempts=1)
        with pytest.raises(BackupError, match=r"^s3: .*unfinished uploads"):
            run_backup(request, now=DAY)
    assert bucket_contents(s3, bucket) == []
