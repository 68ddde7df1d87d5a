"""Strays, data objects without a manifest that a killed run left, made deterministic by putting one
into the set's prefix: the next run removes those newer than the newest backup (check mode says
it would), leaves older ones to rotation, and under Object Lock reports a locked one with its
date and removes it once the lock has ended, in a later run."""

import datetime
import json
import time
import uuid

import pytest
from support import trees
from support.fixtures import bucket_contents
from test_host_command import s3napback

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import describe_bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.protection import Protection
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket

DAY = datetime.datetime(2026, 12, 10, 3, tzinfo=datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)


def stray_beside(s3, bucket, backup_key, moment, index=True, **lock):
    """A killed full's leftovers at ``moment``: a copy of ``backup_key``'s data object without its
    manifest, and its file index. Their keys, index first."""
    key = backup_key.rsplit("/", 1)[0] + "/" + naming.stamp(moment) + "-full.tar.zst.gpg"
    written = [naming.index_key(key)] if index else []
    for target, source in ((key, backup_key), *((k, naming.index_key(backup_key)) for k in written)):
        body = s3.get_object(Bucket=bucket, Key=source)["Body"].read()
        s3.put_object(Bucket=bucket, Key=target, Body=body, **lock)
    return [*written, key]


@pytest.fixture
def source(tmp_path):
    directory = tmp_path / "source"
    trees.build_tree(str(directory))
    return directory


def test_a_stray_newer_than_the_newest_backup_is_removed_by_the_next_run(source, make_request, s3, bucket):
    request = make_request(source)
    first = run_backup(request, now=DAY).backup
    stray = stray_beside(s3, bucket, first["key"], DAY + HOUR)
    planned = run_backup(request, now=DAY + 24 * HOUR, check_mode=True)
    assert planned.debris.removed_strays == stray and set(stray) <= set(bucket_contents(s3, bucket))
    done = run_backup(request, now=DAY + 24 * HOUR)
    assert done.as_dict()["removed_strays"] == stray and done.backup["kind"] == "diff"
    assert not set(stray) & set(bucket_contents(s3, bucket))
    assert describe_bucket(Bucket(request.connection, bucket))["problems"] == []


def test_a_run_with_nothing_due_clears_a_stray_too(source, make_request, s3, bucket):
    request = make_request(source)
    first = run_backup(request, now=DAY).backup
    stray = stray_beside(s3, bucket, first["key"], DAY + HOUR, index=False)
    outcome = run_backup(request, now=DAY + 2 * HOUR)
    assert outcome.backup is None and "already has backup" in outcome.reason
    assert outcome.changed and outcome.debris.removed_strays == stray
    assert bucket_contents(s3, bucket) == sorted([first["key"], first["index_key"], first["manifest_key"]])


def test_a_stray_older_than_a_kept_backup_is_reported_and_left_to_rotation(source, make_request, s3, bucket):
    request = make_request(source, diffs=0, fulls=3)
    first = run_backup(request, now=DAY).backup
    run_backup(request, now=DAY + 24 * HOUR)
    stray = stray_beside(s3, bucket, first["key"], DAY + HOUR)
    kept = run_backup(request, now=DAY + 48 * HOUR)
    assert kept.debris.removed_strays == [] and set(stray) <= set(bucket_contents(s3, bucket))
    problems = describe_bucket(Bucket(request.connection, bucket))["problems"]
    assert [p for p in problems if "without its manifest" in p] == [
        f"host1/{request.set_name}: object without its manifest (a failed run?): {stray[-1]}"
    ]
    rotated = run_backup(request, now=DAY + 72 * HOUR)  # the first chain goes, and the stray after it
    assert rotated.rotated[-2:] == stray and not set(stray) & set(bucket_contents(s3, bucket))


def test_the_host_command_counts_the_strays_it_removed(setup, tmp_path, s3, bucket):
    config, _document = setup
    assert s3napback(config, "run", "etc").returncode == 0
    (first,) = [key for key in bucket_contents(s3, bucket) if key.endswith(".gpg")]
    stray = stray_beside(s3, bucket, first, naming.parse_stamp(first.rsplit("/", 1)[1][:16]) + HOUR)
    run = s3napback(config, "run", "etc", "--force")
    assert run.returncode == 0 and run.stdout.rstrip().endswith(" rotated=0 removed_strays=2"), run.stdout
    status = json.loads((tmp_path / "state" / "etc.status.json").read_text())
    assert (status["removed_strays"], status["aborted_uploads"], status["locked_strays"]) == (2, 0, 0)
    assert not set(stray) & set(bucket_contents(s3, bucket))


def test_a_locked_stray_is_reported_with_its_date_and_removed_by_a_later_run_once_unlocked(
    source, make_request, s3, tmp_path
):
    bucket = f"locked-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    request = make_request(source, bucket=bucket, protection=Protection(object_lock_days=1))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    first = run_backup(request, now=now - 48 * HOUR).backup
    until = now + datetime.timedelta(seconds=4)  # moto keeps the lock by its own clock: a short one
    lock = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
    stray = stray_beside(s3, bucket, first["key"], now - 47 * HOUR, **lock)
    held = run_backup(request, now=now - 24 * HOUR)
    assert held.debris.removed_strays == [] and held.backup is not None
    assert held.debris.locked_strays == [{"key": key, "locked_until": naming.iso(until)} for key in stray]
    (remembered,) = (tmp_path / "state").glob("*.locked-strays.json")
    assert json.loads(remembered.read_text()) == [stray[-1]] and set(stray) <= set(bucket_contents(s3, bucket))
    time.sleep(max(0.0, (until - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1)
    later = run_backup(request, now=datetime.datetime.now(datetime.timezone.utc))
    assert later.debris.removed_strays == stray and later.debris.locked_strays == []
    assert not [v for v in s3.list_object_versions(Bucket=bucket).get("Versions", []) if v["Key"] in stray]
    assert not remembered.exists()
