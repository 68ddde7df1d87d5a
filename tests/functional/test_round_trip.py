"""Full, diffs, and a restore by hand with standard tools, compared with the source at each step."""

import datetime
import hashlib
import json
import os
import subprocess
import threading
import time

from support import trees
from support.fixtures import bucket_contents, open_uploads
from support.manual_restore import restore_chain

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup

# A Thursday, the first day of a 7-day cycle (days count from Thursday 1970-01-01), and two days
# before a year boundary.
DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


def test_full_then_diffs_restore_byte_for_byte_at_every_step(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, diffs=6)
    pictures, keys_made = [], []
    for step in range(3):
        if step:
            trees.change_tree(str(source), step)
        outcome = run_backup(request, now=DAY + datetime.timedelta(days=step))
        assert outcome.changed and outcome.backup["kind"] == ("full" if step == 0 else "diff")
        assert outcome.backup["tar_warnings"] == []
        pictures.append(trees.picture(str(source)))
        keys_made.append(outcome.backup["key"])

    assert open_uploads(s3, bucket) == []
    assert bucket_contents(s3, bucket) == sorted(
        keys_made + [k + suffix for k in keys_made for suffix in (".json", ".index")]
    )
    set_prefix = "host1/" + outcome.backup_set["name"] + "/"
    for step, picture in enumerate(pictures):
        destination = tmp_path / f"restore-{step}"
        destination.mkdir()
        applied = restore_chain(s3, bucket, set_prefix, keys.secret_home, str(destination), until=keys_made[step])
        assert applied == keys_made[: step + 1]
        assert trees.differences(picture, trees.picture(str(destination))) == []


def test_manifests_describe_their_objects_and_link_the_chain(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    first = run_backup(request, now=DAY).backup
    trees.change_tree(str(source), 1)
    second = run_backup(request, now=DAY + datetime.timedelta(days=1)).backup

    for backup, parent in ((first, None), (second, first["key"])):
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=backup["manifest_key"])["Body"].read())
        data = s3.get_object(Bucket=bucket, Key=backup["key"])["Body"].read()
        assert manifest["key"] == backup["key"] and manifest["parent"] == parent
        assert manifest["chain"] == first["key"]
        assert manifest["bytes_out"] == len(data) == backup["bytes_out"]
        assert manifest["sha256"] == backup["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["bytes_in"] > 0 and manifest["source"]["path"] == str(source)
        assert data.startswith(b"\x84") or data[0] & 0x80  # an OpenPGP packet, not a tar header


def test_the_backing_up_keyring_holds_no_secret_key_and_cannot_decrypt(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    backup = run_backup(request, now=DAY).backup
    listing = subprocess.run(
        ["gpg", "--homedir", request.keyring_home, "--list-secret-keys", "--with-colons"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listing.stdout.strip() == ""
    data = s3.get_object(Bucket=bucket, Key=backup["key"])["Body"].read()
    attempt = subprocess.run(
        ["gpg", "--homedir", request.keyring_home, "--batch", "--decrypt"], input=data, capture_output=True, check=False
    )
    subprocess.run(["gpgconf", "--homedir", request.keyring_home, "--kill", "all"], check=False)
    assert attempt.returncode != 0 and b"No secret key" in attempt.stderr


def test_state_and_keyring_are_private(tmp_path, make_request):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)
    state = tmp_path / "state"
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "gnupg").stat().st_mode & 0o777 == 0o700
    for path in state.iterdir():
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, path


def test_a_backup_leaves_no_gpg_agent_running(tmp_path, make_request):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request, now=DAY)
    agents = subprocess.run(
        ["pgrep", "-f", f"gpg-agent --homedir {request.keyring_home}"], capture_output=True, check=False
    )
    assert agents.stdout == b"", "public-key work must not start an agent"


def test_excludes_leave_out_matching_members(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, exclude=["*.key", "./data/deep"])
    outcome = run_backup(request, now=DAY)
    destination = tmp_path / "restored"
    destination.mkdir()
    restore_chain(s3, bucket, f"host1/{outcome.backup_set['name']}/", keys.secret_home, str(destination))
    restored = trees.picture(str(destination))
    assert b"etc/secret.key" not in restored and b"data/deep" not in restored
    assert b"etc/app.conf" in restored and b"data/empty" in restored


def test_gzip_and_no_compression_and_no_encryption_round_trip(tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    expected = trees.picture(str(source))
    variants = [
        ("gzip", {"compression": "gzip", "compression_level": 1}, ".tar.gz.gpg"),
        ("plain", {"compression": "none"}, ".tar.gpg"),
        ("clear", {"encrypt": False, "gpg_recipient": [], "gpg_public_key": None}, ".tar.zst"),
    ]
    for name, overrides, extension in variants:
        outcome = run_backup(make_request(source, name=name, **overrides), now=DAY)
        assert outcome.backup["key"].endswith("-full" + extension)
        destination = tmp_path / name
        destination.mkdir()
        restore_chain(s3, bucket, f"host1/{name}/", keys.secret_home, str(destination))
        assert trees.differences(expected, trees.picture(str(destination))) == []


def test_check_mode_reports_the_plan_and_touches_nothing(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    planned = run_backup(request, now=DAY, check_mode=True)
    assert planned.changed and planned.backup["kind"] == "full"
    assert bucket_contents(s3, bucket) == [] and not (tmp_path / "state").exists()
    made = run_backup(request, now=DAY)
    assert made.backup["key"] == planned.backup["key"]
    again = run_backup(request, now=DAY + datetime.timedelta(hours=3))
    assert not again.changed and "already has backup" in again.reason
    forced = run_backup(
        make_request(source, force=True, force_full=True), now=DAY + datetime.timedelta(hours=4), check_mode=True
    )
    assert forced.changed and forced.backup["kind"] == "full" and forced.backup["key"] > made.backup["key"]
    assert bucket_contents(s3, bucket) == sorted(made.backup[k] for k in ("key", "manifest_key", "index_key"))


def test_a_file_changing_while_tar_reads_it_is_a_warning_not_a_failure(tmp_path, make_request):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    growing = source / "growing.log"
    block = os.urandom(8 * 1024 * 1024)
    with open(growing, "wb") as handle:  # incompressible, so the upload paces tar: a long read
        for _block in range(16):
            handle.write(block)
    stop = threading.Event()

    def append_until_stopped():
        with open(growing, "ab") as handle:
            while not stop.is_set():
                handle.write(b"x" * 4096)
                handle.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=append_until_stopped)
    writer.start()
    try:
        outcome = run_backup(make_request(source), now=DAY)
    finally:
        stop.set()
        writer.join()
    assert outcome.changed and outcome.backup["kind"] == "full"
    assert any('growing.log": file changed as we read it' in w for w in outcome.backup["tar_warnings"])
