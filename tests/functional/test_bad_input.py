"""Bad input: one clear line each, and nothing uploaded, nothing changed on the host."""

import datetime
import os

import pytest
from support import trees
from support.fixtures import ACCESS_KEY, bucket_contents, client_for, open_uploads
from support.processes import MotoServer, free_port

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.protection import Protection
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


CASES = {
    "missing directory": (
        {"source_path": "/nonexistent/dir"},
        r"^source: directory /nonexistent/dir does not exist$",
    ),
    "file, not directory": (
        {"source_path": "/etc/hostname"},
        r"^source: directory /etc/hostname is not a directory$",
    ),
    "relative directory": (
        {"source_path": "relative/dir"},
        r"^source: directory 'relative/dir' must be an absolute path$",
    ),
    "missing bucket": (
        {"bucket": "no-such-bucket"},
        r"^s3: bucket 'no-such-bucket' does not exist at http://127\.0\.0\.1:\d+$",
    ),
    "unreachable endpoint": (
        {"endpoint_url": f"http://127.0.0.1:{free_port()}"},
        r"^s3: cannot connect to http://127\.0\.0\.1:\d+$",
    ),
    "unknown recipient": (
        {"gpg_recipient": ["nobody@example.com"]},
        r"^gpg: no public key for recipient nobody@example\.com in .*/state/gnupg$",
    ),
    "malformed public key": (
        {"gpg_public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n"},
        r"^gpg: gpg_public_key holds no valid OpenPGP public key$",
    ),
    "secret key as public key": (
        lambda keys: {"gpg_public_key": keys.secret_key_text()},
        r"^gpg: gpg_public_key holds a secret key: give backed-up hosts the public key only$",
    ),
    "encrypt false with recipient": (
        {"encrypt": False},
        r"^config: encrypt is false but gpg_recipient or gpg_public_key is set",
    ),
    "diffs out of range": ({"diffs": -1}, r"^config: diffs must be an integer from 0 to 1000, not -1$"),
    "fulls out of range": ({"fulls": 0}, r"^config: fulls must be an integer from 1 to 1000, not 0$"),
    "frequency out of range": (
        {"frequency": 0},
        r"^config: frequency must be an integer from 1 to 366, not 0$",
    ),
    "name with a slash": ({"name": "a/b"}, r"^config: name 'a/b' must be .* no '/' or '\.\.'$"),
    "name with dots": ({"name": "a..b"}, r"^config: name 'a\.\.b' must be"),
    "unknown storage class": (
        {"protection": Protection(storage_class="COLD")},
        r"^config: storage_class must be one of STANDARD, .*, not 'COLD'$",
    ),
    "unknown server-side encryption": (
        {"protection": Protection(sse="rot13")},
        r"^config: sse must be one of AES256, aws:kms, aws:kms:dsse, not 'rot13'$",
    ),
    "kms key without kms": (
        {"protection": Protection(sse="AES256", sse_kms_key_id="alias/backups")},
        r"^config: sse_kms_key_id needs sse: aws:kms",
    ),
    "object lock of no days": (
        {"protection": Protection(object_lock_days=0)},
        r"^config: object_lock_days must be from 1 to 36500$",
    ),
    "unknown object lock mode": (
        {"protection": Protection(object_lock_days=1, object_lock_mode="FOREVER")},
        r"^config: object_lock_mode must be one of GOVERNANCE, COMPLIANCE, not 'FOREVER'$",
    ),
    "bandwidth limit too small": (
        {"bandwidth_limit": 1000},
        r"^config: bandwidth_limit must be at least 65536 bytes per second$",
    ),
    "object lock on a bucket without it": (
        {"protection": Protection(object_lock_days=1)},
        r"^s3: bucket 'test-\w+' has no Object Lock: object_lock_days needs a bucket created with it$",
    ),
    "state_dir that cannot be created": (
        {"state_dir": "/etc/hostname/state"},
        r"^state: cannot create directory /etc/hostname/state: Not a directory$",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_clear_line_and_changes_nothing(case, tmp_path, make_request, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    overrides, expected = CASES[case]
    overrides = dict(overrides(keys) if callable(overrides) else overrides)
    source_path = overrides.pop("source_path", str(source))
    request = make_request(source_path, **overrides)
    with pytest.raises(BackupError, match=expected) as failure:
        run_backup(request, now=DAY)
    assert "\n" not in str(failure.value)
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
    if case != "state_dir that cannot be created":
        assert not (tmp_path / "state").exists(), "a failed check changed the host"


def test_rejected_credentials_are_named(tmp_path, make_request):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    with MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "1"}) as guarded:  # then IAM checks every key
        client_for(guarded.url).create_bucket(Bucket="guarded")
        request = make_request(
            source,
            bucket="guarded",
            connection=Connection(
                access_key=ACCESS_KEY, secret_key="wrong", region="us-east-1", endpoint_url=guarded.url
            ),
        )
        with pytest.raises(BackupError, match=r"^s3: the access key was rejected by http://.* \(InvalidAccessKeyId\)$"):
            run_backup(request, now=DAY)
    assert not (tmp_path / "state").exists()


def _unreadable_directory(tmp_path):
    """A directory this user cannot list: mode 000 for a normal user; for root, one the kernel
    refuses to list without CAP_SYS_ADMIN."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        return str(locked)
    try:
        os.listdir("/proc/1/map_files")
    except PermissionError:
        return "/proc/1/map_files"
    pytest.skip("this root may list every directory")


def test_an_unreadable_directory_is_refused_before_anything_runs(tmp_path, make_request, s3, bucket):
    path = _unreadable_directory(tmp_path)
    with pytest.raises(BackupError, match=rf"^source: directory {path} cannot be read: Permission denied$"):
        run_backup(make_request(path), now=DAY)
    assert bucket_contents(s3, bucket) == [] and not (tmp_path / "state").exists()


def test_a_missing_profile_and_half_a_key_are_named(tmp_path, monkeypatch, make_request, moto):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for connection, expected in [
        (Connection(profile="nightly", endpoint_url=moto.url), r"The config profile \(nightly\) could not be found"),
        (
            Connection(access_key=ACCESS_KEY, endpoint_url=moto.url),
            r"Partial credentials found .*aws_secret_access_key",
        ),
    ]:
        with pytest.raises(BackupError, match=rf"^s3: cannot set up a client for {moto.url}: {expected}$"):
            run_backup(make_request(source, connection=connection), now=DAY)
    assert not (tmp_path / "state").exists()
