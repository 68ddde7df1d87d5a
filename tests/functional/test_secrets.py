"""Secrets stay secret: no S3 secret key or session token in any process's arguments or in the
environment of any program the runner starts, nothing secret in what it prints or logs; the
state and keyring are private; and a backed-up host cannot decrypt its own backups."""

import json
import os
import stat
import subprocess
import sys

import pytest
import yaml
from support.db_servers import SecretWatch
from support.fixtures import ACCESS_KEY, SECRET_KEY
from test_host_command import CRON_ENV, MODULE

# SecretWatch reads every process on the machine, and other tests hold the same test credentials:
# make pytest runs these after the parallel run, with no other test beside them.
pytestmark = pytest.mark.alone

SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-s3napback"


def run_watched(config, env, *args):
    """The host command under a SecretWatch for the secret key and for the session token."""
    command = [sys.executable, "-m", MODULE, "--config", str(config), *args]
    with SecretWatch(SECRET_KEY) as key_watch, SecretWatch(SESSION_TOKEN) as token_watch:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = process.communicate(timeout=120)
    return process, out, err, key_watch.seen + token_watch.seen


def test_credentials_from_the_environment_reach_no_child_process(setup, tmp_path):
    config, document = setup
    for name in ("access_key", "secret_key"):
        document["defaults"].pop(name)
    document["log_file"] = str(tmp_path / "s3napback.log")
    config.write_text(yaml.safe_dump(document))
    env = {**CRON_ENV, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    env["AWS_SESSION_TOKEN"] = SESSION_TOKEN  # moto takes any token
    process, out, err, seen = run_watched(config, env, "run")
    assert process.returncode == 0, err
    # Only the runner holds them, as it was given them: itself, and its forks in the instant
    # before they exec a program (still the runner's image, the same command line).
    runner = f"{sys.executable} -m {MODULE}"[:80]
    holders = {entry.split(": ")[1] for entry in seen if not entry.startswith(f"/proc/{process.pid}/")}
    assert holders <= {runner}, seen
    assert all(entry.split(":")[0].endswith("/environ") for entry in seen)
    log = (tmp_path / "s3napback.log").read_text()
    for secret in (SECRET_KEY, SESSION_TOKEN):
        assert secret not in out + err + log


def test_credentials_from_the_config_file_appear_in_no_process_or_output(setup):
    config, _document = setup
    process, out, err, seen = run_watched(config, CRON_ENV, "--json", "run")
    assert process.returncode == 0, err
    assert seen == []
    assert SECRET_KEY not in out + err and json.loads(out)["exit_code"] == 0


def test_state_and_keyring_are_private(setup, tmp_path):
    config, _document = setup
    run = subprocess.run([sys.executable, "-m", MODULE, "--config", str(config), "run"], env=CRON_ENV, check=False)
    assert run.returncode == 0
    state = tmp_path / "state"
    for root, directories, files in os.walk(state):
        for name in directories:
            path = os.path.join(root, name)
            assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path) and not stat.S_ISSOCK(os.stat(path).st_mode):
                assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700


def test_the_backed_up_host_cannot_decrypt_its_own_backups(setup, tmp_path):
    config, _document = setup
    backup = [sys.executable, "-m", MODULE, "--config", str(config), "run", "etc"]
    assert subprocess.run(backup, env=CRON_ENV, check=False).returncode == 0
    host_keyring = str(tmp_path / "state" / "gnupg")  # what the host has: public keys only
    restore = subprocess.run(
        [
            sys.executable,
            "-m",
            MODULE,
            "--config",
            str(config),
            "restore",
            "etc",
            "--dest",
            str(tmp_path / "r"),
            "--gpg-home",
            host_keyring,
        ],
        env=CRON_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    subprocess.run(["gpgconf", "--homedir", host_keyring, "--kill", "all"], check=False)  # gpg started one
    assert restore.returncode != 0
    assert "secret key" in restore.stderr and not (tmp_path / "r").exists()
