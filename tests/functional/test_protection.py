"""S3's own protections, against the real S3 API of moto: storage class and server-side
encryption on every object, object locks that the host's own credentials cannot lift, rotation
that keeps what a lock holds and says so, and an upload held to a bandwidth limit."""

import datetime
import os
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from support import trees
from support.engine import restore_set
from support.faulty_proxy import FaultyProxy
from support.fixtures import bucket_contents, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.protection import Protection

DAY = datetime.datetime.now(datetime.timezone.utc).replace(hour=3, minute=0, second=0, microsecond=0)


@pytest.fixture
def locked_bucket(s3):
    name = f"locked-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_storage_class_and_server_side_encryption_on_each_object(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(6 * 1024 * 1024))  # two volumes
    protection = Protection(storage_class="STANDARD_IA", sse="AES256")
    request = make_request(source, protection=protection, part_size=5 * 1024 * 1024)
    backup = run_backup(request, now=DAY).backup
    for volume in (backup["key"], backup["key"] + "~00002"):
        data = s3.head_object(Bucket=bucket, Key=volume)
        assert (data["StorageClass"], data["ServerSideEncryption"]) == ("STANDARD_IA", "AES256")
    manifest = s3.head_object(Bucket=bucket, Key=backup["manifest_key"])
    assert manifest.get("StorageClass", "STANDARD") == "STANDARD" and manifest["ServerSideEncryption"] == "AES256"
    restored = tmp_path / "restored"
    restore_set(request, keys, dest=str(restored))
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []


def test_an_object_lock_holds_against_the_hosts_own_credentials(tmp_path, make_request, s3, locked_bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(6 * 1024 * 1024))  # two volumes, each locked
    protection = Protection(object_lock_days=3)
    request = make_request(source, bucket=locked_bucket, protection=protection, part_size=5 * 1024 * 1024)
    backup = run_backup(request, now=DAY).backup
    for key in (backup["key"], backup["key"] + "~00002", backup["manifest_key"]):
        head = s3.head_object(Bucket=locked_bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] >= DAY + datetime.timedelta(days=3) - datetime.timedelta(seconds=1)
        # What ransomware with this host's keys would try: delete the version, overwrite the key.
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.delete_object(Bucket=locked_bucket, Key=key, VersionId=head["VersionId"])
    original = s3.get_object(Bucket=locked_bucket, Key=backup["key"])["Body"].read()
    s3.put_object(Bucket=locked_bucket, Key=backup["key"], Body=b"encrypted by ransomware")
    versions = s3.list_object_versions(Bucket=locked_bucket, Prefix=backup["key"])["Versions"]
    kept = next(v for v in versions if v["Key"] == backup["key"] and not v["IsLatest"])
    assert (
        s3.get_object(Bucket=locked_bucket, Key=backup["key"], VersionId=kept["VersionId"])["Body"].read() == original
    )


def test_rotation_keeps_a_chain_a_lock_still_holds_and_says_so(tmp_path, make_request, s3, locked_bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, bucket=locked_bucket, diffs=0, fulls=1, protection=Protection(object_lock_days=30))
    first = run_backup(request, now=DAY)
    planned = run_backup(request, now=DAY + datetime.timedelta(days=1), check_mode=True)
    assert planned.rotated == [] and [entry["key"] for entry in planned.kept_locked] == [first.backup["manifest_key"]]
    second = run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert second.rotated == []
    assert [entry["key"] for entry in second.kept_locked] == [first.backup["manifest_key"]]
    assert second.kept_locked[0]["locked_until"] >= (DAY + datetime.timedelta(days=30)).strftime("%Y-%m-%d")
    stored = bucket_contents(s3, locked_bucket)
    assert first.backup["key"] in stored and second.backup["key"] in stored and open_uploads(s3, locked_bucket) == []


def test_a_bucket_without_object_lock_is_refused_before_anything_is_stored(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    with pytest.raises(Exception, match="has no Object Lock"):
        run_backup(make_request(source, protection=Protection(object_lock_days=1)), now=DAY)
    assert bucket_contents(s3, bucket) == [] and not (tmp_path / "state").exists()


def test_the_upload_keeps_to_the_bandwidth_limit(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    source.mkdir()
    (source / "random.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # incompressible
    limit = 1024 * 1024
    request = make_request(
        source, compression="none", encrypt=False, gpg_recipient=[], gpg_public_key=None, bandwidth_limit=limit
    )
    started = time.monotonic()
    backup = run_backup(request, now=DAY).backup
    elapsed = time.monotonic() - started
    # A lower bound only: the limit may slow a backup down, never speed it up.
    assert elapsed >= backup["bytes_out"] / limit * 0.95, (elapsed, backup["bytes_out"])


def test_a_failed_run_under_object_lock_leaves_no_version_behind(tmp_path, make_request, moto, s3, locked_bucket):
    """Volumes are locked only once all are stored: a run that fails halfway deletes the versions it
    stored (not only their keys, which would hide them behind delete markers, locked and billed)."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(11 * 1024 * 1024))

    def refuse_the_last_volume(method, path, _query):
        return (403, "AccessDenied") if method == "PUT" and path.endswith("~00003") else None

    with FaultyProxy(moto.port, refuse_the_last_volume) as proxy:
        protection = Protection(object_lock_days=3)
        request = make_request(
            source, bucket=locked_bucket, protection=protection, part_size=5 * 1024 * 1024, endpoint_url=proxy.url
        )
        with pytest.raises(BackupError, match=r"^s3: access denied"):
            run_backup(request, now=DAY)
    listed = s3.list_object_versions(Bucket=locked_bucket)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
