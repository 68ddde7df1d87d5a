"""describe_bucket: every set of every host, its chains and age, and the debris it must point out."""

import datetime
import os

from support import trees

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import describe_bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


def test_sets_of_several_hosts_with_chains_ages_and_no_problem(tmp_path, make_request, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    for host in ("web1", "web2"):
        request = make_request(source, prefix=host, state_dir=str(tmp_path / host), diffs=1)
        for day in range(3):
            run_backup(request, now=DAY + datetime.timedelta(days=day))
    storage = Bucket(request.connection, bucket)
    now = DAY + datetime.timedelta(days=2, hours=5)
    everything = describe_bucket(storage, "", now=now)
    assert [(s["prefix"], s["name"]) for s in everything["sets"]] == [
        ("web1", request.set_name),
        ("web2", request.set_name),
    ]
    first = everything["sets"][0]
    assert first["backups"] == 3 and [len(c["diffs"]) for c in first["chains"]] == [1, 0]
    assert first["newest"]["kind"] == "full" and first["newest"]["age_s"] == 5 * 3600
    assert first["source"] == {"type": "directory", "path": str(source), "exclude": []}
    assert everything["problems"] == [] and everything["stalest_age_s"] == 5 * 3600
    assert everything["bytes"] == sum(s["bytes"] for s in everything["sets"]) > 0
    one_host = describe_bucket(storage, "web2", now=now)
    assert [s["prefix"] for s in one_host["sets"]] == ["web2"]


def test_debris_is_reported_set_by_set(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    keys_made = [run_backup(request, now=DAY + datetime.timedelta(days=d)).backup["key"] for d in range(3)]
    s3.delete_object(Bucket=bucket, Key=keys_made[0])  # the full's data: its manifest is left alone
    s3.delete_object(Bucket=bucket, Key=keys_made[2] + ".json")  # the newest diff's manifest
    set_prefix = keys_made[0].rsplit("/", 1)[0]
    s3.create_multipart_upload(Bucket=bucket, Key=f"{set_prefix}/20270105T000000Z-diff.tar.zst.gpg")
    report = describe_bucket(Bucket(request.connection, bucket), "host1", now=DAY + datetime.timedelta(days=3))
    (described,) = report["sets"]
    problems = described["problems"]
    assert f"diff without its full: {keys_made[1]}" in problems
    assert f"manifest without its object: {keys_made[0]}.json" in problems
    assert f"object without its manifest (a failed run?): {keys_made[2]}" in problems
    assert any(p.startswith(f"unfinished upload: {set_prefix}/20270105T000000Z-diff") for p in problems)
    assert f"file index without its object: {keys_made[0]}.index" in problems
    assert len(problems) == 5
    assert report["problems"] == [f"host1/{request.set_name}: {p}" for p in problems]


def test_a_volume_missing_from_the_newest_backup_is_a_problem(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(11 * 1024 * 1024))
    request = make_request(source, part_size=5 * 1024 * 1024)
    key = run_backup(request, now=DAY).backup["key"]
    storage = Bucket(request.connection, bucket)
    assert describe_bucket(storage, "", now=DAY)["problems"] == []
    s3.delete_object(Bucket=bucket, Key=f"{key}~00003")
    (the_set,) = describe_bucket(storage, "", now=DAY)["sets"]
    assert the_set["problems"] == [f"{key}: volume 3 of the 3 its manifest names is not in the bucket"]
