"""A failing stage, a failing upload, a corrupt state: no object, no open upload, state unchanged."""

import contextlib
import dataclasses
import datetime
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
from support import trees
from support.engine import restore_set, state_files
from support.faulty_proxy import FaultyProxy
from support.fixtures import bucket_contents, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils import gpg
from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.lock import SetLock
from ansible_collections.s3napback.s3napback.plugins.module_utils.pipeline import Pipeline, Stage
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.sources import DirectorySource
from ansible_collections.s3napback.s3napback.plugins.module_utils.upload import StreamUpload

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


def stream_through(request, stages, key="host1/failing/20261231T000000Z-full.tar.gpg"):
    bucket = Bucket(request.connection, request.bucket)
    with StreamUpload(bucket, key, {}) as upload, Pipeline(stages) as pipe:
        upload.feed(pipe.stdout)
        pipe.finish()
        upload.complete()


def test_gpg_failing_in_the_pipe_uploads_nothing(tmp_path, make_request, s3, bucket, keys):
    request = make_request(tmp_path)
    stages = [
        Stage("tar", ["tar", "--create", "--file=-", f"--directory={tmp_path}", "."]),
        Stage("zstd", ["zstd", "-q", "-c"]),
        Stage(
            "gpg",
            [
                "gpg",
                "--homedir",
                keys.public_home,
                "--batch",
                "--trust-model",
                "always",
                "--no-auto-key-locate",
                "--encrypt",
                "--recipient",
                "nobody@example.com",
            ],
        ),
    ]
    with pytest.raises(BackupError) as failure:
        stream_through(request, stages)
    assert str(failure.value) == "gpg: nobody@example.com: skipped: No public key"
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []


def test_tar_on_a_vanished_directory_uploads_nothing(tmp_path, make_request, s3, bucket):
    request = make_request(tmp_path)
    stages = [
        Stage("tar", ["tar", "--create", "--file=-", f"--directory={tmp_path}/gone", "."], warning_codes=(1,)),
        Stage("zstd", ["zstd", "-q", "-c"]),
    ]
    with pytest.raises(BackupError, match=r"^tar: Cannot open: No such file or directory|^tar: .*gone"):
        stream_through(request, stages)
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []


def test_a_stage_that_fails_after_a_complete_stream_still_fails_the_upload(tmp_path, make_request, s3, bucket):
    request = make_request(tmp_path)
    stages = [Stage("source", ["sh", "-c", "head -c 100000 /dev/zero; echo 'dump: lost connection' >&2; exit 3"])]
    with pytest.raises(BackupError, match=r"^source: dump: lost connection$"):
        stream_through(request, stages)
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []


def test_a_missing_program_is_named(tmp_path, make_request, s3, bucket):
    request = make_request(tmp_path)
    with pytest.raises(BackupError, match=r"^zstd: cannot start no-such-zstd: No such file or directory$"):
        stream_through(request, [Stage("tar", ["true"]), Stage("zstd", ["no-such-zstd"])])
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []


def test_a_corrupt_snapshot_fails_the_diff_and_is_left_as_it_was(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)
    state_dir = str(tmp_path / "state")
    snapshot = next(os.path.join(state_dir, n) for n in os.listdir(state_dir) if n.endswith(".snar"))
    with open(snapshot, "wb") as handle:
        handle.write(b"GNU tar-1.34-2\n\0garbage\0\0")
    before, objects = state_files(state_dir), bucket_contents(s3, bucket)
    with pytest.raises(BackupError) as failure:
        run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert failure.value.stage == "tar" and "snapshot" in failure.value.cause.lower()
    assert state_files(state_dir) == before
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []


def _diff_ready(tmp_path, make_request):
    """A set with a full stored and this host's state following it; returns the request and the state."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)
    trees.change_tree(str(source), 1)
    return request, str(tmp_path / "state")


def test_gpg_failing_in_a_real_run_leaves_state_and_bucket_as_they_were(
    tmp_path, make_request, s3, bucket, keys, monkeypatch
):
    request, state_dir = _diff_ready(tmp_path, make_request)
    before, objects = state_files(state_dir), bucket_contents(s3, bucket)
    # The recipient passed the check, then gpg in the pipe cannot find it (a keyring changed under us).
    real_stage = gpg.Keyring.encrypt_stage
    monkeypatch.setattr(gpg.Keyring, "encrypt_stage", lambda self, _r: real_stage(self, ["gone@example.com"]))
    with pytest.raises(BackupError, match=r"^gpg: gone@example\.com: skipped: No public key$"):
        run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert state_files(state_dir) == before
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []


def test_a_directory_vanishing_before_tar_reads_it_fails_the_run_cleanly(tmp_path, make_request, s3, bucket):
    request, state_dir = _diff_ready(tmp_path, make_request)
    before, objects = state_files(state_dir), bucket_contents(s3, bucket)

    class VanishingDirectory(DirectorySource):
        def check(self):  # the directory passes the check, then disappears before tar opens it
            super().check()
            shutil.rmtree(self.path)

    vanishing = dataclasses.replace(request, source=VanishingDirectory(request.source.path), name=request.set_name)
    with pytest.raises(BackupError, match=r'^tar: .*source"?: Cannot (open|chdir): No such file or directory$'):
        run_backup(vanishing, now=DAY + datetime.timedelta(days=1))
    assert state_files(state_dir) == before
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []


def test_an_s3_error_mid_upload_deletes_the_volumes_stored_and_leaves_state_unchanged(
    tmp_path, make_request, moto, s3, bucket
):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)
    trees.write(str(source / "big.bin"), os.urandom(12 * 1024 * 1024))
    state_dir = str(tmp_path / "state")
    before, objects = state_files(state_dir), bucket_contents(s3, bucket)

    def refuse_second_volume(method, path, query):
        return (403, "AccessDenied") if method == "PUT" and path.endswith(".gpg~00002") else None

    # Through the proxy the endpoint differs, so it is another set's state: that run is a full.
    with FaultyProxy(moto.port, refuse_second_volume) as proxy:
        failing = make_request(source, endpoint_url=proxy.url, part_size=5 * 1024 * 1024)
        refused = r"^s3: access denied to writing (host1/\S+-full\.tar\.zst\.gpg)~00002$"
        with pytest.raises(BackupError, match=refused) as failure:
            run_backup(failing, now=DAY + datetime.timedelta(days=1))
        assert proxy.faults == 1  # access denied is not retried
    key = re.match(refused, str(failure.value)).group(1)
    requests = [(method, path.split("/", 2)[-1]) for method, path, _headers in proxy.requests]  # without the bucket
    # The first volume was stored while the second was refused; it is deleted last, after the later
    # volumes (by DELETE, or by DeleteObjects: a POST to the bucket itself).
    deleting = [(method, each) for method, each in requests if method == "DELETE" or (method, each) == ("POST", bucket)]
    assert ("PUT", key) in requests and deleting[-1:] == [("DELETE", key)]
    assert {each for method, each in deleting if method == "DELETE"} <= {key, f"{key}~00002", f"{key}~00003"}
    assert state_files(state_dir) == before
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []
    retried = run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert retried.backup["kind"] == "diff" and retried.backup["parent"] == objects[0]


def test_a_failed_manifest_write_removes_the_data_object(tmp_path, make_request, moto, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))

    def refuse_manifests(method, path, query):
        return (400, "InvalidRequest") if method == "PUT" and path.endswith(".json") else None

    with (
        FaultyProxy(moto.port, refuse_manifests) as proxy,
        pytest.raises(BackupError, match=r"^s3: writing host1/.*\.json failed: InvalidRequest"),
    ):
        run_backup(make_request(source, endpoint_url=proxy.url), now=DAY)
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
    assert [n for n in os.listdir(tmp_path / "state") if n.endswith((".snar", ".json"))] == []


def test_a_second_run_of_the_same_set_fails_fast_while_the_first_holds_the_lock(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)  # creates the state directory
    lock_path = next(os.path.join(tmp_path, "state", n) for n in os.listdir(tmp_path / "state") if n.endswith(".lock"))
    expected = rf"^lock: a backup of set {request.set_name} is already running \(pid {os.getpid()}, lock"
    with SetLock(lock_path, "holder"), pytest.raises(BackupError, match=expected):
        run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert len(bucket_contents(s3, bucket)) == 3  # the first run's object, manifest and file index


def test_a_lock_left_by_a_killed_process_does_not_block_the_next_run(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)
    lock_path = next(os.path.join(tmp_path, "state", n) for n in os.listdir(tmp_path / "state") if n.endswith(".lock"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({lock_path!r}, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(60)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    assert run_backup(request, now=DAY + datetime.timedelta(days=1)).backup["kind"] == "diff"


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs as the state directory")
def test_a_full_state_disk_fails_the_run_records_nothing_and_the_next_run_is_correct(
    tmp_path, make_request, s3, bucket, keys
):
    source, state = tmp_path / "source", tmp_path / "state"
    trees.build_tree(str(source))
    state.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(state)], check=True)
    try:
        request = make_request(source)
        run_backup(request, now=DAY)
        objects, before = bucket_contents(s3, bucket), state_files(str(state))
        filler = state / "filler"
        with open(filler, "wb") as handle, contextlib.suppress(OSError):
            while True:  # until the disk is full
                handle.write(b"\0" * 65536)
                handle.flush()
        trees.change_tree(str(source), 1)
        with pytest.raises(BackupError, match="No space left on device"):
            run_backup(request, now=DAY + datetime.timedelta(days=1))
        after = state_files(str(state))
        after.pop("filler")
        assert after == before
        assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []
        filler.unlink()  # the disk has room again
        again = run_backup(request, now=DAY + datetime.timedelta(days=1))
        assert again.backup["kind"] == "diff"
        restored = tmp_path / "restored"
        restore_set(request, keys, dest=str(restored))
        assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []
    finally:
        subprocess.run(["umount", str(state)], check=False)
