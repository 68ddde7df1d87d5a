"""Backups in cold storage, against moto, which refuses a GET of a GLACIER or DEEP_ARCHIVE object
until RestoreObject, and then completes the restore at once (a proxy says "still under way" where a
test needs it). Fulls cold and diffs warm; a restore asks for what it needs, once, returns at once
(exit 75 for the host command) or waits; the same command later restores; check mode shows what
would be retrieved; bad input asks for nothing."""

import datetime
import json
import os
import re
import subprocess
import sys

import pytest
from support import trees
from support.faulty_proxy import FaultyProxy
from support.fixtures import ACCESS_KEY, SECRET_KEY
from support.host_config import write_host_config

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import describe_bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.protection import Protection
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import RestoreRequest
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import run_restore
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket, Connection

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)  # a 7-day cycle starts
MODULE = "ansible_collections.s3napback.s3napback.plugins.module_utils.host_command"


@pytest.fixture
def cold_chain(tmp_path, make_request):
    """A full in DEEP_ARCHIVE and two warm diffs: (the request, the data keys, the source's picture)."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, protection=Protection(storage_class_fulls="DEEP_ARCHIVE"))
    made = []
    for day in range(3):
        if day:
            trees.change_tree(str(source), day)
        made.append(run_backup(request, now=DAY + datetime.timedelta(days=day)).backup["key"])
    return request, made, trees.picture(str(source))


def restore_request(request, keys, connection=None, **fields) -> RestoreRequest:
    return RestoreRequest(
        bucket=request.bucket,
        name=request.set_name,
        prefix="host1",
        connection=connection or request.connection,
        gpg_home=keys.secret_home,
        **fields,
    )


def through(proxy) -> Connection:
    return Connection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=proxy.url)


def test_fulls_go_cold_diffs_stay_warm_and_the_listing_says_so(cold_chain, s3, bucket):
    request, made, _picture = cold_chain
    classes = {key: s3.head_object(Bucket=bucket, Key=key).get("StorageClass", "STANDARD") for key in made}
    assert classes == {made[0]: "DEEP_ARCHIVE", made[1]: "STANDARD", made[2]: "STANDARD"}
    for key in made:  # manifests and indexes stay STANDARD: listing, rotation and ls never need a retrieval
        for suffix in (".json", ".index"):
            assert "StorageClass" not in s3.head_object(Bucket=bucket, Key=key + suffix)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=made[0] + ".json")["Body"].read())
    assert manifest["storage_class"] == "DEEP_ARCHIVE"
    described = describe_bucket(Bucket(request.connection, bucket), "host1", now=DAY + datetime.timedelta(days=3))
    (the_set,) = described["sets"]
    assert [(h["kind"], h["storage_class"]) for h in the_set["history"]] == [
        ("full", "DEEP_ARCHIVE"),
        ("diff", "STANDARD"),
        ("diff", "STANDARD"),
    ]
    assert the_set["history"][0]["retrieval"] == {"state": "archived", "expires": None}
    assert set(described["bytes_by_storage_class"]) == {"DEEP_ARCHIVE", "STANDARD"}


def test_a_restore_asks_for_what_it_needs_then_the_same_restore_later_restores(
    cold_chain, tmp_path, moto, s3, bucket, keys
):
    request, made, picture = cold_chain
    dest = tmp_path / "restored"
    planned = run_restore(restore_request(request, keys, dest=str(dest)), check_mode=True)
    assert planned.retrieval["requested"] == [made[0]] and planned.retrieval["bytes"] > 0
    assert planned.retrieval["expected_ready"] == {"DEEP_ARCHIVE": "within 48 hours"}
    assert "Restore" not in s3.head_object(Bucket=bucket, Key=made[0])  # check mode asked for nothing
    with FaultyProxy(moto.port, lambda *_request: None) as proxy:
        first = run_restore(restore_request(request, keys, through(proxy), dest=str(dest)))
        asked = [p for m, p, _h in proxy.requests if m == "POST"]
    assert first.pending and first.changed and not dest.exists()
    assert first.retrieval["requested"] == [made[0]] and first.retrieval["tier"] == "Bulk"
    assert len(asked) == 1 and asked[0].endswith(made[0].rsplit("/", 1)[1])
    again = run_restore(restore_request(request, keys, dest=str(dest)))  # moto restored it at once
    assert not again.pending and again.retrieval["ready"] == [made[0]]
    assert trees.differences(picture, trees.picture(str(dest))) == []
    verified = run_restore(restore_request(request, keys, verify=True))
    assert verified.verified


def test_a_path_held_by_a_warm_diff_needs_no_retrieval(cold_chain, tmp_path, keys):
    request, made, picture = cold_chain
    dest = tmp_path / "one"
    outcome = run_restore(restore_request(request, keys, dest=str(dest), paths=["new-2.txt"]))
    assert outcome.method == "index" and outcome.retrieval is None and not outcome.pending
    assert [o["key"] for o in outcome.objects] == [made[2]]
    assert trees.picture(str(dest))[b"new-2.txt"] == picture[b"new-2.txt"]


def restoring_for(heads: int):
    """A proxy rule: the first ``heads`` HEADs of the archived object say its restore is under way."""
    left = [heads]

    def rule(method, path, _query):
        if method == "HEAD" and path.endswith("-full.tar.zst.gpg") and left[0] > 0:
            left[0] -= 1
            return ("restoring", None)
        return None

    return rule


def test_an_object_under_way_is_never_asked_for_twice_and_wait_goes_on_when_it_is_ready(
    cold_chain, tmp_path, moto, s3, bucket, keys
):
    request, made, picture = cold_chain
    run_restore(restore_request(request, keys, dest=str(tmp_path / "first")))  # asks for the full
    with FaultyProxy(moto.port, restoring_for(100)) as proxy:
        under_way = run_restore(restore_request(request, keys, through(proxy), dest=str(tmp_path / "a")))
        assert under_way.pending and not under_way.changed
        assert under_way.retrieval["in_progress"] == [made[0]] and under_way.retrieval["requested"] == []
        assert [m for m, _p, _h in proxy.requests if m == "POST"] == []
    dest = tmp_path / "waited"
    with FaultyProxy(moto.port, restoring_for(3)) as proxy:
        waited = run_restore(restore_request(request, keys, through(proxy), dest=str(dest), wait=True))
        heads = [p for m, p, _h in proxy.requests if m == "HEAD" and p.endswith(made[0].rsplit("/", 1)[1])]
    assert not waited.pending and len(heads) >= 4  # polled until the proxy let the restore complete
    assert trees.differences(picture, trees.picture(str(dest))) == []
    with FaultyProxy(moto.port, restoring_for(1000)) as proxy:
        late = restore_request(request, keys, through(proxy), dest=str(tmp_path / "late"), wait=True, wait_timeout=2)
        with pytest.raises(BackupError, match=r"^retrieval: 1 of 1 archived objects not restored after 2 s, first "):
            run_restore(late)
    assert not (tmp_path / "late").exists()


@pytest.mark.parametrize(
    "fields, said",
    [
        ({"retrieval_tier": "Expedited"}, r"^config: retrieval_tier Expedited is not available for DEEP_ARCHIVE "),
        ({"retrieval_days": 0}, r"^config: retrieval_days must be from 1 to 365, not 0$"),
        ({"wait": True, "wait_timeout": 0}, r"^config: wait needs a wait_timeout from 1 to 172800 seconds, not 0$"),
        ({"retrieval_tier": "Fast"}, r"^config: retrieval_tier must be one of Bulk, Standard, Expedited"),
    ],
    ids=["expedited-deep-archive", "days", "unbounded-wait", "tier"],
)
def test_bad_retrieval_input_gets_one_line_and_asks_for_nothing(fields, said, cold_chain, tmp_path, moto, keys):
    request, _made, _picture = cold_chain
    dest = tmp_path / "restored"
    with FaultyProxy(moto.port, lambda *_request: None) as proxy:
        with pytest.raises(BackupError, match=said):
            run_restore(restore_request(request, keys, through(proxy), dest=str(dest), **fields))
        assert [m for m, _p, _h in proxy.requests if m == "POST"] == []
    assert not dest.exists()


def test_the_host_command_exits_75_until_the_retrieval_is_done(cold_chain, tmp_path, keys):
    request, _made, picture = cold_chain
    config = write_host_config(tmp_path / "config.yml", request)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    listed = subprocess.run(
        [sys.executable, "-m", MODULE, "--config", str(config), "list"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    job_line, archived_line = listed.stdout.splitlines()
    assert re.search(r" storage=DEEP_ARCHIVE:\d+,STANDARD:\d+$", job_line), job_line
    assert archived_line.endswith(" class=DEEP_ARCHIVE retrieval=archived"), archived_line
    dest = tmp_path / "restored"
    command = [sys.executable, "-m", MODULE, "--config", str(config), "restore", request.set_name, "--dest", str(dest)]
    command += ["--gpg-home", keys.secret_home, "--retrieval-tier", "Standard"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 75, first.stderr
    assert re.search(
        r" status=retrieving requested=1 in_progress=0 ready=0 tier=Standard bytes=\d+"
        r' expected="DEEP_ARCHIVE within 12 hours"$',
        first.stdout.strip(),
    ), first.stdout
    assert not dest.exists()
    second = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert second.returncode == 0 and " status=restored " in second.stdout, second.stderr
    assert trees.differences(picture, trees.picture(str(dest))) == []


def test_cold_diffs_warn_that_rotation_deletes_them_before_their_minimum(tmp_path, make_request):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    cold_diffs = Protection(storage_class_diffs="DEEP_ARCHIVE")
    outcome = run_backup(make_request(source, protection=cold_diffs, fulls=2, diffs=6), now=DAY)
    assert outcome.warnings == [
        "DEEP_ARCHIVE bills 180 days per object, and rotation deletes diffs after as few as 8 days: each pays"
        " for 172 days it is no longer kept. Keep diffs longer (fulls, diffs, frequency) or set"
        " storage_class_diffs to a class without a minimum (STANDARD)"
    ]
    glacier = Protection(storage_class="GLACIER")
    long_kept = run_backup(make_request(source, protection=glacier, fulls=14, diffs=6, force=True), now=DAY)
    assert long_kept.warnings == []  # a full lives 98 days, the last diff 92: more than GLACIER's 90


def test_a_storage_class_the_store_refuses_fails_the_backup_in_one_line_and_writes_nothing(
    tmp_path, make_request, s3rver_tls, keys
):
    bucket = s3rver_tls.new_bucket()
    source = tmp_path / "source"
    trees.build_tree(str(source))
    connection = Connection(
        s3rver_tls.access_key,
        s3rver_tls.secret_key,
        region="us-east-1",
        endpoint_url=s3rver_tls.url,
        aws_ca_bundle=s3rver_tls.ca,
    )
    request = make_request(
        source, bucket=bucket, connection=connection, protection=Protection(storage_class="GLACIER_IR")
    )
    with pytest.raises(BackupError, match=r"^s3: writing host1/\S+-full\.tar\.zst\.gpg failed: InvalidStorageClass: "):
        run_backup(request, now=DAY)
    assert s3rver_tls.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_every_volume_of_a_cold_full_is_asked_for_and_the_restore_reads_them_all(
    tmp_path, make_request, moto, s3, bucket, keys
):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(11 * 1024 * 1024))
    protection = Protection(storage_class_fulls="DEEP_ARCHIVE")
    request = make_request(source, protection=protection, part_size=5 * 1024 * 1024)
    full = run_backup(request, now=DAY).backup["key"]
    volumes = [full, f"{full}~00002", f"{full}~00003"]
    assert [s3.head_object(Bucket=bucket, Key=key).get("StorageClass") for key in volumes] == ["DEEP_ARCHIVE"] * 3
    dest = tmp_path / "restored"
    with FaultyProxy(moto.port, lambda *_request: None) as proxy:
        first = run_restore(restore_request(request, keys, through(proxy), dest=str(dest)))
        asked = sorted(p.rsplit("/", 1)[1].split("?")[0] for m, p, _h in proxy.requests if m == "POST")
    assert first.pending and sorted(first.retrieval["requested"]) == volumes and first.retrieval["objects"] == 3
    assert asked == [key.rsplit("/", 1)[1] for key in volumes]
    again = run_restore(restore_request(request, keys, dest=str(dest)))  # moto restored them at once
    assert not again.pending and sorted(again.retrieval["ready"]) == volumes
    assert trees.differences(trees.picture(str(source)), trees.picture(str(dest))) == []
