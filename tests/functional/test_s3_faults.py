"""S3 faults on the wire, made by a proxy in front of the real S3 API (moto): errors, throttling,
dropped connections, stalls and a slow link, on the PUTs that store a backup's volumes and on the
HEADs that check them. Transient faults are retried and the backup is whole; persistent ones fail
the run in bounded time, delete the volumes already stored and leave state as it was."""

import datetime
import json
import os
import re
import threading
import time

import pytest
from support import trees
from support.engine import restore_set, state_files
from support.faulty_proxy import FaultyProxy, Hold
from support.fixtures import bucket_contents, engine_connection, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError

DAY = datetime.datetime(2026, 12, 10, 3, tzinfo=datetime.timezone.utc)
PART = 5 * 1024 * 1024
VOLUME = re.compile(r"\.gpg(?:~(\d{5}))?$")  # a volume of a backup's data: KEY, KEY~00002, ...


def volume_number(path):
    """The number of the data's volume that ``path`` names (1: the data key itself), or None."""
    match = VOLUME.search(path)
    return None if match is None else int(match.group(1) or 1)


def volume(number=None, method="PUT"):
    """Requests on volume ``number`` (None: on any): PUT stores it, HEAD checks what the store kept."""

    def test(asked, path, _query):
        found = volume_number(path)
        return asked == method and found is not None and number in (None, found)

    return test


def manifest(method, path, _query):
    return method == "PUT" and path.endswith(".json")


def first_tries(test, fault, tries=1):
    """A rule that answers the first ``tries`` requests that pass ``test`` with ``fault``."""
    seen, lock = [], threading.Lock()

    def rule(method, path, query):
        with lock:
            if test(method, path, query) and len(seen) < tries:
                seen.append(path)
                return fault
        return None

    return rule


def first_try_of_each(test, fault):
    """A rule that answers the first request for each key that passes ``test`` with ``fault``."""
    seen, lock = set(), threading.Lock()

    def rule(method, path, query):
        with lock:
            if test(method, path, query) and path not in seen:
                seen.add(path)
                return fault
        return None

    return rule


def always(test, fault):
    return lambda method, path, query: fault if test(method, path, query) else None


@pytest.fixture
def source(tmp_path):
    tree = tmp_path / "source"
    trees.build_tree(str(tree))
    trees.write(str(tree / "big.bin"), os.urandom(12 * 1024 * 1024))  # three volumes
    return tree


def through(proxy, make_request, source, timeout=60, attempts=6):
    connection = engine_connection(proxy.url, timeout=timeout, attempts=attempts)
    return make_request(source, connection=connection, part_size=PART)


def data_key(request):
    """The key of the full that ``request`` makes on DAY in an empty set."""
    return naming.data_key("host1", request.set_name, naming.stamp(DAY), "full", ".tar.zst.gpg")


def volumes_of(key, count=3):
    return [naming.volume_key(key, number) for number in range(1, count + 1)]


def deletions(proxy, bucket):
    """What the requests through ``proxy`` deleted, in order: each DELETE's key, and "*" for each
    DeleteObjects (a POST to the bucket itself, its keys in its body)."""
    found = []
    for method, path, _headers in proxy.requests:
        if method == "DELETE":
            found.append(path.split("/", 2)[2])
        elif method == "POST" and path.rstrip("/") == f"/{bucket}":
            found.append("*")
    return found


def whole_backup(s3, bucket, key):
    """The bucket holds the backup ``key`` and nothing else: its three volumes, index and manifest."""
    assert bucket_contents(s3, bucket) == sorted([*volumes_of(key), naming.index_key(key), naming.manifest_key(key)])
    stored = json.loads(s3.get_object(Bucket=bucket, Key=naming.manifest_key(key))["Body"].read())
    assert stored["volumes"] == 3


def assert_restores(request, keys, source, tmp_path, moto):
    restored = tmp_path / "restored"
    direct = engine_connection(moto.url)
    restore_set(request, keys, dest=str(restored), connection=direct)
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []


# a new rule; how many faults it makes; the connection's settings
TRANSIENT = {
    "500 InternalError on a volume": (lambda: first_tries(volume(2), (500, "InternalError")), 1, {}),
    "503 SlowDown twice on the first volume": (lambda: first_tries(volume(1), (503, "SlowDown"), 2), 2, {}),
    "503 SlowDown on every volume once": (lambda: first_try_of_each(volume(), (503, "SlowDown")), 3, {}),
    "connection reset in the middle of a volume": (lambda: first_tries(volume(2), ("reset", None)), 1, {}),
    "connection reset on checking a stored volume": (
        lambda: first_tries(volume(2, "HEAD"), ("reset", None)),
        1,
        {},
    ),
    "a stalled volume, past the timeout": (lambda: first_tries(volume(1), ("stall", 4)), 1, {"timeout": 2}),
    "500 on writing the manifest": (lambda: first_tries(manifest, (500, "InternalError")), 1, {}),
}


@pytest.mark.parametrize("case", TRANSIENT)
def test_a_transient_fault_is_retried_and_the_backup_is_whole(
    case, tmp_path, make_request, moto, s3, bucket, keys, source
):
    make_rule, faults, connection = TRANSIENT[case]
    with FaultyProxy(moto.port, make_rule()) as proxy:
        request = through(proxy, make_request, source, **connection)
        outcome = run_backup(request, now=DAY)
        assert proxy.faults == faults
    assert outcome.backup["kind"] == "full" and outcome.backup["key"] == data_key(request)
    whole_backup(s3, bucket, outcome.backup["key"])
    assert open_uploads(s3, bucket) == []
    assert_restores(request, keys, source, tmp_path, moto)


def test_a_slow_link_is_slow_and_whole(tmp_path, make_request, moto, s3, bucket, keys, source):
    rate = 8 * 1024 * 1024
    with FaultyProxy(moto.port, always(lambda method, _path, _query: method == "PUT", ("slow", rate))) as proxy:
        request = through(proxy, make_request, source)
        started = time.monotonic()
        outcome = run_backup(request, now=DAY)
        elapsed = time.monotonic() - started
    assert elapsed >= outcome.backup["bytes_out"] / rate / 4  # four volumes in flight at most
    assert_restores(request, keys, source, tmp_path, moto)


class Stall:
    """A fault that holds each request it answers, past any timeout, until the test releases them:
    a store that does not reply. ``forward``: whether the store then does what it was asked after
    all (each request goes on to moto) or never does (each is dropped)."""

    def __init__(self, forward: bool):
        self.forward, self.holds = forward, []
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.holds.append(Hold())
            return ("hold", self.holds[-1])

    def release(self) -> None:
        for hold in self.holds:
            hold.release(self.forward)  # returns once the proxy is done with the request


# the rule's test; the fault (True or False: a Stall forwarding or not); the connection's
# settings; the run's error after "s3: " ({volume}: the second volume's key); the suffixes of the
# data key that the run leaves in the bucket, and the next run removes
PERSISTENT = {
    "503 SlowDown for good": (
        volume(2),
        (503, "SlowDown"),
        {"attempts": 3},
        "writing {volume} failed: SlowDown: injected",
        [],
    ),
    "500 for good": (volume(2), (500, "InternalError"), {"attempts": 3}, "writing {volume} failed: InternalError", []),
    "every try reset": (volume(2), ("reset", None), {"attempts": 3}, "writing {volume} failed: ", []),
    # A reset, not an error status: the proxy sends an error's body after a HEAD's reply too, which
    # the client takes for the start of the next reply on that connection.
    "every try reset on checking a stored volume": (
        volume(2, "HEAD"),
        ("reset", None),
        {"attempts": 3},
        "reading back {volume} failed: ",
        [],
    ),
    "every try stalled, the store never does it": (
        volume(2),
        False,
        {"attempts": 2, "timeout": 1},
        "writing {volume} failed: Read timeout",
        [],
    ),
    "every try stalled, the store does it after the client gave up": (
        volume(2),
        True,
        {"attempts": 2, "timeout": 1},
        "writing {volume} failed: Read timeout",
        ["~00002"],  # a lonely volume: the store wrote it after the run had deleted the others
    ),
}


@pytest.mark.parametrize("case", PERSISTENT)
def test_a_persistent_fault_fails_in_bounded_time_and_changes_nothing(
    case, tmp_path, make_request, moto, s3, bucket, keys, source
):
    test, fault, connection, message, left = PERSISTENT[case]
    stall = Stall(fault) if isinstance(fault, bool) else None
    broken = {"on": True}

    def rule(method, path, query):
        if not (broken["on"] and test(method, path, query)):
            return None
        return stall() if stall else fault

    state_dir = tmp_path / "state"
    with FaultyProxy(moto.port, rule) as proxy:
        request = through(proxy, make_request, source, **connection)
        key = data_key(request)
        started = time.monotonic()
        with pytest.raises(BackupError) as failure:
            run_backup(request, now=DAY)
        elapsed = time.monotonic() - started
        attempts, timeout = connection["attempts"], connection.get("timeout", 0)
        assert elapsed < attempts * (timeout + 20) + 10, elapsed  # the bound docs/RELIABILITY.md gives
        assert str(failure.value).startswith("s3: " + message.format(volume=naming.volume_key(key, 2)))
        assert "\n" not in str(failure.value)
        # Every volume the run stored (the first and second at least) is deleted, the first one last.
        deleted = deletions(proxy, bucket)
        assert deleted[-1:] == [key] and deleted.count(key) == 1, deleted
        assert set(deleted) <= {"*", *volumes_of(key)}, deleted
        assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
        if stall:
            assert len(stall.holds) == attempts  # every try waited for a reply that never came
            stall.release()
        else:
            assert proxy.faults == attempts  # ``attempts`` tries in all, the first one included
        assert bucket_contents(s3, bucket) == [key + suffix for suffix in left]
        assert state_files(str(state_dir)) == {}
        broken["on"] = False  # the fault is gone: the next run clears what was left and is a whole full
        again = run_backup(request, now=DAY)
    assert again.backup["kind"] == "full" and again.debris.removed_strays == [key + suffix for suffix in left]
    whole_backup(s3, bucket, again.backup["key"])
    assert open_uploads(s3, bucket) == []
    assert_restores(request, keys, source, tmp_path, moto)


def lists_uploads(method, _path, query):
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
