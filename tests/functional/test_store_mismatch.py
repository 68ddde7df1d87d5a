"""A store that answers success but keeps other bytes than it was sent (here, as one that does not
decode aws-chunked uploads keeps their framing) fails the backup with one line: the object is
removed, nothing is recorded, the state stays, and the next run against a sound store makes the
full that was missed. The check costs one HEAD per object and no read of the data."""

import datetime
import os
import re

import pytest
from support import trees
from support.engine import state_files
from support.faulty_proxy import FaultyProxy
from support.fixtures import bucket_contents, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError

DAY = datetime.datetime(2026, 12, 2, 2, 30, tzinfo=datetime.timezone.utc)
MIB = 1024 * 1024


def framing(target):
    """A proxy rule that frames the bodies of ``target`` requests: "data" (every volume's PUT),
    "volume" (the second volume's only) or "manifest"."""

    def rule(method, path, query):
        if method != "PUT" or path.count("/") < 2:
            return None
        manifest = path.endswith(".json")
        if (target == "manifest") == manifest and (target != "volume" or path.endswith("~00002")):
            return ("frame", None)
        return None

    return rule


@pytest.mark.parametrize(
    "target, stream_size",
    [("data", 0), ("volume", 6 * MIB), ("manifest", 0)],
    ids=["one put", "a second volume", "the manifest"],
)
def test_an_object_the_store_did_not_keep_as_sent_fails_the_backup_and_is_removed(
    target, stream_size, tmp_path, make_request, moto, s3, bucket
):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    if stream_size:
        trees.write(str(source / "big.bin"), os.urandom(stream_size))
    state = tmp_path / "state"
    with FaultyProxy(moto.port, framing(target)) as proxy:
        request = make_request(source, endpoint_url=proxy.url, part_size=5 * MIB, state_dir=str(state))
        with pytest.raises(BackupError) as failed:
            run_backup(request, now=DAY)
    assert proxy.faults >= 1
    assert failed.value.stage == "s3"
    line = str(failed.value)
    assert "\n" not in line
    assert re.match(r"s3: the store kept (\d+) bytes of (\d+) sent for host1/dir-\S+: ", line), line
    kept, sent = map(int, re.findall(r"kept (\d+) bytes of (\d+)", line)[0])
    assert kept > sent
    assert "removed it and recorded nothing" in line and "s3napback list --probe" in line
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
    assert state_files(state) == {}  # no snapshot: the next run is a full again
    again = run_backup(make_request(source, state_dir=str(state)), now=DAY)
    assert again.backup["kind"] == "full"
    assert sorted(bucket_contents(s3, bucket)) == sorted(again.backup[k] for k in ("key", "manifest_key", "index_key"))


def test_a_diff_the_store_mangled_leaves_the_chain_and_the_snapshot_as_they_were(
    tmp_path, make_request, moto, s3, bucket
):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    state = tmp_path / "state"
    full = run_backup(make_request(source, state_dir=str(state)), now=DAY)
    before, stored = state_files(state), bucket_contents(s3, bucket)
    trees.change_tree(str(source), 1)
    with FaultyProxy(moto.port, framing("data")) as proxy, pytest.raises(BackupError, match="the store kept"):
        run_backup(make_request(source, endpoint_url=proxy.url, state_dir=str(state), force=True), now=DAY)
    assert state_files(state) == before and bucket_contents(s3, bucket) == stored
    diff = run_backup(make_request(source, state_dir=str(state), force=True), now=DAY)
    assert diff.backup["kind"] == "diff" and diff.backup["parent"] == full.backup["key"]
