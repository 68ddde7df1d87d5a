"""Rotation over weeks of simulated days against a real S3 server: exactly ``fulls`` chains remain,
no diff is ever left without its full, and the newest chain always restores."""

import datetime
import json
import os
import threading

import pytest
from support import trees
from support.faulty_proxy import FaultyProxy
from support.fixtures import bucket_contents
from support.manual_restore import restore_chain

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.rotation import Retention

START = datetime.datetime(2026, 12, 24, 4, tzinfo=datetime.timezone.utc)


def chains_in(s3, bucket):
    """[[full, diff, ...], ...] rebuilt from the manifests alone."""
    manifests = [
        json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        for k in bucket_contents(s3, bucket)
        if k.endswith(".json")
    ]
    by_key = {m["key"]: m for m in manifests}
    chains = {}
    for manifest in manifests:
        assert manifest["chain"] in by_key, f"{manifest['key']} lost its full {manifest['chain']}"
        assert manifest["parent"] is None or manifest["parent"] in by_key, f"{manifest['key']} lost its parent"
        chains.setdefault(manifest["chain"], []).append(manifest["key"])
    return [sorted(keys) for _full, keys in sorted(chains.items())]


def test_weeks_of_runs_with_gaps_keep_fulls_chains(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, diffs=2, fulls=2)
    skipped = {5, 6, 13}  # the host was down, among them the first day of a cycle
    kinds, rotations = [], []
    for day in range(20):
        if day in skipped:
            continue
        trees.change_tree(str(source), 10 + day)
        now = START + datetime.timedelta(days=day)
        planned = run_backup(request, now=now, check_mode=True)
        outcome = run_backup(request, now=now)
        assert (planned.backup["kind"], planned.rotated) == (outcome.backup["kind"], outcome.rotated)
        kinds.append(outcome.backup["kind"])
        rotations.append(outcome.rotated)
        chains = chains_in(s3, bucket)
        assert len(chains) <= 2
        assert all(len(chain) <= 3 for chain in chains)
        assert all(key.split("/")[-1].split("-")[1].startswith("full") for key in (c[0] for c in chains))
        objects = bucket_contents(s3, bucket)
        assert len(objects) == 3 * sum(len(c) for c in chains), "every data object has its manifest and index"
    assert len(chains_in(s3, bucket)) == 2
    assert any(len(rotated) > 0 for rotated in rotations)
    assert kinds.count("full") >= 20 // 3 - 1 and "diff" in kinds
    destination = tmp_path / "restored"
    destination.mkdir()
    restore_chain(s3, bucket, f"host1/{outcome.backup_set['name']}/", keys.secret_home, str(destination))
    assert trees.differences(trees.picture(str(source)), trees.picture(str(destination))) == []


def test_frequency_two_backs_up_every_other_day_and_rotates_by_chain(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, frequency=2, phase=1, diffs=1, fulls=1)
    changed = [run_backup(request, now=START + datetime.timedelta(days=d)).changed for d in range(12)]
    assert changed.count(True) == 6
    chains = chains_in(s3, bucket)
    assert len(chains) == 1 and len(chains[0]) in (1, 2)


def test_grandfather_father_son_check_mode_shows_what_the_run_then_deletes(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    for day in range(20):  # three weeks kept by the simple cycle, then the rules take over
        trees.change_tree(str(source), day)
        run_backup(make_request(source, diffs=3, fulls=100), now=START + datetime.timedelta(days=day))
    request = make_request(source, diffs=3, retention=Retention(keep_daily=3, keep_weekly=2))
    now = START + datetime.timedelta(days=20)
    before = bucket_contents(s3, bucket)
    planned = run_backup(request, now=now, check_mode=True)
    assert bucket_contents(s3, bucket) == before  # check mode deleted nothing
    done = run_backup(request, now=now)
    assert len(planned.rotated) > 10 and planned.rotated == done.rotated
    assert not set(done.rotated) & set(bucket_contents(s3, bucket))
    chains = chains_in(s3, bucket)  # every remaining backup still has its full and its parent
    assert len(chains) <= 1 + 3 + 2
    restored = tmp_path / "restored"
    restored.mkdir()
    restore_chain(s3, bucket, chains[-1][-1].rsplit("/", 1)[0] + "/", keys.secret_home, str(restored))
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []


def test_hanoi_rotation_against_s3_keeps_one_chain_per_disc(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, diffs=0, retention=Retention(cycle="hanoi", discs=3))
    for day in range(12):
        run_backup(request, now=START + datetime.timedelta(days=day))
    assert len(chains_in(s3, bucket)) == 3


def test_a_clock_that_jumps_back_never_writes_a_backup_before_the_newest(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    first = run_backup(request, now=START + datetime.timedelta(days=5))
    trees.change_tree(str(source), 1)
    before = bucket_contents(s3, bucket)
    with pytest.raises(
        BackupError, match=r"^schedule: the newest backup .* is dated after now .*check this host's clock"
    ):
        run_backup(request, now=START + datetime.timedelta(days=3))
    assert bucket_contents(s3, bucket) == before
    behind = run_backup(make_request(source, force=True), now=START + datetime.timedelta(days=3))
    assert behind.backup["key"] > first.backup["key"]  # keys keep creation order whatever the clock says
    assert behind.backup["kind"] == "diff" and behind.backup["parent"] == first.backup["key"]
    restored = tmp_path / "restored"
    restored.mkdir()
    restore_chain(s3, bucket, first.backup["key"].rsplit("/", 1)[0] + "/", keys.secret_home, str(restored))
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []


def test_a_host_down_for_a_week_starts_a_new_chain_not_a_diff_of_a_stale_one(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, diffs=3)
    for day in range(2):
        run_backup(request, now=START + datetime.timedelta(days=day))
    back = run_backup(request, now=START + datetime.timedelta(days=9))
    assert back.backup["kind"] == "full" and "cycle" in back.reason
    assert all(chain[0].endswith("-full.tar.zst.gpg") for chain in chains_in(s3, bucket))


def test_a_tampered_manifest_makes_the_next_due_run_a_full(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, diffs=3)
    first = run_backup(request, now=START + datetime.timedelta(days=1))  # the first day of a cycle
    s3.put_object(Bucket=bucket, Key=first.backup["manifest_key"], Body=b"not json")
    # The same day nothing is due, whatever the chain holds (test_plan_and_rotation checks it is not read).
    same_day = run_backup(request, now=START + datetime.timedelta(days=1, hours=1))
    assert not same_day.changed and "already has backup" in same_day.reason
    next_day = run_backup(request, now=START + datetime.timedelta(days=2))
    assert next_day.backup["kind"] == "full"
    manifest = first.backup["manifest_key"]
    assert next_day.reason.startswith(f"the newest chain is broken: manifest {manifest} is unreadable")


def test_the_chain_s_manifests_are_read_at_once(tmp_path, make_request, moto, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    # Once armed, each manifest GET waits for the other: read one after the other, the first waits in vain.
    both, armed = threading.Barrier(2, timeout=10), threading.Event()

    def meet(method, path, _query):
        if armed.is_set() and method == "GET" and path.endswith(".json"):
            both.wait()

    with FaultyProxy(moto.port, meet) as proxy:
        request = make_request(source, diffs=3, endpoint_url=proxy.url)
        for day in (1, 2):  # a full and a diff, from the first day of a cycle
            run_backup(request, now=START + datetime.timedelta(days=day))
        armed.set()
        third = run_backup(request, now=START + datetime.timedelta(days=3))
    assert third.reason.startswith("diff 2 of 3") and not both.broken


def test_rotation_deletes_every_volume_of_an_expired_backup(tmp_path, make_request, moto, s3, bucket, keys):
    """The manifest first and the first volume last, one DELETE each; the volumes between them in
    one DeleteObjects request (a large backup is thousands of volumes)."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(11 * 1024 * 1024))  # three volumes of 5 MiB parts
    deletes = []

    def record(method, path, query):
        if method == "DELETE" or (method == "POST" and "delete" in query):
            deletes.append((method, path.split("/", 2)[2] if path.count("/") > 1 else "", "delete" in query))

    with FaultyProxy(moto.port, record) as proxy:
        request = make_request(source, diffs=0, fulls=1, part_size=5 * 1024 * 1024, endpoint_url=proxy.url)
        first = run_backup(request, now=START).backup["key"]
        second = run_backup(request, now=START + datetime.timedelta(days=1))
    old = [first, f"{first}~00002", f"{first}~00003", f"{first}.index", f"{first}.json"]
    assert second.rotated == [f"{first}.json", f"{first}.index", f"{first}~00003", f"{first}~00002", first]
    assert deletes == [
        ("DELETE", f"{first}.json", False),
        ("DELETE", f"{first}.index", False),
        ("POST", "", True),
        ("DELETE", first, False),
    ]
    stored = bucket_contents(s3, bucket)
    assert not set(old) & set(stored) and len(stored) == 5  # the second full: three volumes, index, manifest
    restored = tmp_path / "restored"
    restored.mkdir()
    assert restore_chain(s3, bucket, f"host1/{request.set_name}/", keys.secret_home, str(restored)) == [
        second.backup["key"]
    ]
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []


@pytest.mark.parametrize(("status", "code"), [(400, "MissingContentMD5"), (501, "NotImplemented")])
def test_a_store_that_refuses_deleteobjects_gets_one_delete_per_volume(
    status, code, tmp_path, make_request, moto, s3, bucket
):
    """Some stores want a Content-MD5 on DeleteObjects, which botocore 1.36 and later no longer send;
    others lack the call: rotation deletes the volumes one by one instead, still the first last."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(11 * 1024 * 1024))
    deletes = []

    def refuse_batches(method, path, query):
        if method == "POST" and "delete" in query:
            deletes.append(("POST", ""))
            return (status, code)
        if method == "DELETE":
            deletes.append((method, path.split("/", 2)[2]))
        return None

    with FaultyProxy(moto.port, refuse_batches) as proxy:
        request = make_request(source, diffs=0, fulls=1, part_size=5 * 1024 * 1024, endpoint_url=proxy.url)
        first = run_backup(request, now=START).backup["key"]
        second = run_backup(request, now=START + datetime.timedelta(days=1))
    assert second.rotated[-3:] == [f"{first}~00003", f"{first}~00002", first]
    assert deletes == [
        ("DELETE", f"{first}.json"),
        ("DELETE", f"{first}.index"),
        ("POST", ""),
        ("DELETE", f"{first}~00003"),
        ("DELETE", f"{first}~00002"),
        ("DELETE", first),
    ]
    assert not [key for key in bucket_contents(s3, bucket) if key.startswith(first)]
