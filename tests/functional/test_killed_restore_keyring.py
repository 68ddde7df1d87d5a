"""A restore killed with SIGKILL leaves its scratch keyring, secret key and gpg-agent included; the
next restore removes them, and never one whose restore is still running. Without TMPDIR the keyring
is in /dev/shm, a tmpfs, so the secret key is never written to a disk."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.gpg import DecryptionKeys

COLLECTIONS = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "s3napback")))

# A restore's key handling, stopped where the backup's objects would be decrypted.
RESTORING = """
import sys, time
from ansible_collections.s3napback.s3napback.plugins.module_utils.gpg import DecryptionKeys
with DecryptionKeys(None, sys.stdin.read(), None) as keys:
    print(keys.home, flush=True)
    time.sleep(300)
"""


def agents_of(home: str) -> list[int]:
    """The gpg-agent processes started for ``home``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        if argv[0].endswith(b"gpg-agent") and home.encode() in b" ".join(argv):
            found.append(int(pid))
    return found


@pytest.fixture
def scratch_tmp(monkeypatch):
    """TMPDIR for this test alone, in this process and in the restores it starts. Short, as /tmp
    is: gpg-agent's socket goes into the keyring, and a socket's path has at most 107 bytes."""
    where = tempfile.mkdtemp(prefix="s3nk-", dir="/tmp")
    monkeypatch.setattr(tempfile, "tempdir", where)
    monkeypatch.setenv("TMPDIR", where)
    yield where
    shutil.rmtree(where, ignore_errors=True)


def start_restore(keys, tmp: str) -> tuple[subprocess.Popen, str]:
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "TMPDIR": tmp, "PYTHONPATH": COLLECTIONS}
    restore = subprocess.Popen(
        [sys.executable, "-c", RESTORING], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    restore.stdin.write(keys.secret_key_text())
    restore.stdin.close()
    home = restore.stdout.readline().strip()
    assert home, "the restore printed no keyring"
    return restore, home


def another_restore(keys) -> None:
    with DecryptionKeys(keys.secret_home, None, None):
        pass


def test_the_next_restore_removes_a_killed_restores_secret_keyring_and_stops_its_agent(keys, scratch_tmp):
    restore, home = start_restore(keys, scratch_tmp)
    try:
        assert os.listdir(os.path.join(home, "private-keys-v1.d")), "no secret key was imported"
        agents = agents_of(home)
        assert agents, "no gpg-agent holds the key"
        another_restore(keys)
        assert os.path.isdir(home), "the keyring of a running restore was removed"
    finally:
        os.kill(restore.pid, signal.SIGKILL)
        restore.wait()
    assert os.path.isdir(os.path.join(home, "private-keys-v1.d")), "SIGKILL cleans nothing up"
    another_restore(keys)
    assert not os.path.exists(home)
    deadline = time.monotonic() + 10
    while agents_of(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert agents_of(home) == []


def test_a_restore_that_ends_leaves_nothing_in_tmpdir(keys, scratch_tmp):
    with DecryptionKeys(None, keys.secret_key_text(), None) as decryption:
        assert decryption.home.startswith(scratch_tmp)
    assert os.listdir(scratch_tmp) == []


def test_without_tmpdir_the_secret_key_stays_in_memory(keys, monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    with DecryptionKeys(None, keys.secret_key_text(), None) as decryption:
        home = decryption.home
        assert os.path.dirname(home) == "/dev/shm"
        assert os.stat(home).st_mode & 0o777 == 0o700
        assert os.listdir(os.path.join(home, "private-keys-v1.d"))
    assert not os.path.exists(home)
