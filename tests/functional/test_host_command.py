"""The s3napback host command, run as cron would run it: exit codes, log lines, JSON, restore."""

import contextlib
import functools
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import zipfile
import zlib

import pytest
import yaml
from support import hard_tree, trees
from support.fixtures import SECRET_KEY, bucket_contents, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils.stored_check import crc32_text

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "s3napback")))
MODULE = "ansible_collections.s3napback.s3napback.plugins.module_utils.host_command"
VOLUME = re.compile(r"\.gpg(~\d+)?$")  # the key of a volume of a backup's data
# cron's bare environment, plus where the installed collection is, as the role's wrapper sets it
CRON_ENV = {"HOME": "/", "PATH": "/usr/bin:/bin", "LANG": "C", "PYTHONPATH": COLLECTIONS}


# The Python a host runs the command with: this test run's, and the OS's own with its packaged
# botocore, python-gnupg and PyYAML, as the role installs them on a Debian host.
OS_PYTHON = "/usr/bin/python3"


def s3napback(config, *args, env=None, python=sys.executable):
    command = [python, "-m", MODULE, "--config", str(config), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env or CRON_ENV, check=False)


def botocore_version(python: str) -> tuple[int, ...]:
    printed = subprocess.run(
        [python, "-c", "import botocore; print(botocore.__version__)"], capture_output=True, check=False
    )
    assert printed.returncode == 0, f"tests/scripts/system-packages.sh --tests installs python3-boto3: {printed}"
    return tuple(int(part) for part in printed.stdout.split(b".")[:2])


def test_run_backs_up_every_job_under_crons_bare_environment_then_has_nothing_to_do(setup, s3, bucket):
    config, _document = setup
    first = s3napback(config, "run")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 2 and all(" status=ok kind=full key=host1/" in line for line in lines)
    assert [line.split()[1] for line in lines] == ["etc", "www"]
    assert len(bucket_contents(s3, bucket)) == 6  # an object, its manifest and its file index per job
    second = s3napback(config, "run")
    assert second.returncode == 3 and second.stdout.count("status=nothing") == 2
    assert SECRET_KEY not in first.stdout + first.stderr + second.stdout + second.stderr


def test_list_names_a_job_without_a_backup_and_exits_4_until_every_job_has_one(setup):
    config, _document = setup
    first = s3napback(config, "run", "etc")
    assert first.returncode == 0, first.stderr
    listed = s3napback(config, "list")
    assert listed.returncode == 4, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines[1:]] == [
        "www backups=0 chains=0 bytes=0 newest_age=never problems=1",
        'www problem="no backup yet"',
    ]
    assert "etc backups=1 " in lines[0] and " problems=0 storage=STANDARD:" in lines[0]
    summary = json.loads(s3napback(config, "--json", "list", "www").stdout)
    assert summary["exit_code"] == 4 and summary["results"][0]["problems"] == ["no backup yet"]
    assert s3napback(config, "run", "www").returncode == 0
    again = s3napback(config, "list")
    assert again.returncode == 0 and "no backup yet" not in again.stdout, again.stdout


def test_list_help_says_what_job_is_and_what_each_exit_code_means(setup):
    config, _document = setup
    shown = s3napback(config, "list", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "JOB a job's name in the config file" in text and "Default: every job in the config file" in text
    assert "4 when one has none yet ('no backup yet')" in text


def test_json_summary_and_one_job_by_name(setup):
    config, _document = setup
    run = s3napback(config, "--json", "run", "www", "--check")
    summary = json.loads(run.stdout)
    assert run.returncode == 0 and summary["exit_code"] == 0 and summary["command"] == "run"
    (result,) = summary["results"]
    assert result["job"] == "www" and result["status"] == "planned" and result["backup"]["kind"] == "full"


def test_a_failing_job_does_not_stop_the_others_and_the_exit_code_says_so(setup, tmp_path):
    config, document = setup
    document["jobs"].insert(0, {"name": "gone", "directory": str(tmp_path / "gone")})
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "run")
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert "gone status=failed" in lines[0] and "does not exist" in lines[0]
    assert "etc status=ok" in lines[1] and "www status=ok" in lines[2]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["jobs"][0].update(directroy="/etc"),
            "job 1 (etc): unknown option 'directroy' (did you mean 'directory'?)",
        ),
        (lambda d: d["jobs"][1].update(fulls="four"), "job 2 (www): fulls must be a whole number, not 'four'"),
        (
            lambda d: d["jobs"].append({"name": "etc", "directory": "/srv"}),
            "two jobs are named etc: give one of them another name",
        ),
        (
            lambda d: d["jobs"].append({"name": "nosource"}),
            "job 3 (nosource): give exactly one source of directory, mysql_database, postgresql_database,"
            " svn_repository, svn_parent",
        ),
        (
            lambda d: d.update(extra=1),
            "must be a mapping of defaults, jobs, log_file, metrics_dir, status_dir, parallel_jobs,"
            " memory_budget_mb only",
        ),
        (lambda d: d.update(parallel_jobs=0), "parallel_jobs must be from 1 to 64"),
        (lambda d: d.update(memory_budget_mb=0), "memory_budget_mb must be a positive number of MiB"),
    ],
)
def test_config_mistakes_are_usage_errors_that_name_the_job(setup, change, message, s3, bucket):
    config, document = setup
    change(document)
    config.write_text(yaml.safe_dump(document))
    run = s3napback(config, "run")
    assert run.returncode == 2
    assert run.stderr.strip() == f"s3napback: config: {config}: {message}"
    assert bucket_contents(s3, bucket) == []


def test_a_config_with_secrets_must_not_be_readable_by_others(setup):
    config, _document = setup
    config.chmod(0o644)
    run = s3napback(config, "run")
    assert run.returncode == 2 and f"holds secret_key but others may read it: chmod 600 {config}" in run.stderr


def test_usage_errors_exit_2(setup):
    config, _document = setup
    assert s3napback(config, "run", "nosuchjob").returncode == 2
    assert s3napback(config, "frobnicate").returncode == 2
    assert s3napback(config.parent / "missing.yml", "run").returncode == 2


# Loads the host command as `python -m` does, then runs it, counting the collections made meanwhile.
COLLECTOR_PROBE = """
import gc, importlib, json, sys
command = importlib.import_module(sys.argv[1])
paused = not gc.isenabled()
frozen_during_run = []
gc.callbacks.append(lambda phase, info: phase == "start" and frozen_during_run.append(gc.get_freeze_count()))
code = command.main(sys.argv[2:])
print(json.dumps({"code": code, "paused": paused, "frozen_during_run": frozen_during_run}))
"""


def test_the_collector_waits_while_the_engine_loads_and_collects_while_the_backup_runs(setup):
    config, _document = setup
    probe = subprocess.run(
        [sys.executable, "-c", COLLECTOR_PROBE, MODULE, "--config", str(config), "run"],
        capture_output=True,
        text=True,
        env=CRON_ENV,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout.splitlines()[-1])
    assert report["code"] == 0 and report["paused"] is True
    # Collection is back on for the run, so garbage the backup makes is freed and memory stays
    # bounded; and what loading made was frozen before the first of those collections walked it.
    assert report["frozen_during_run"] and min(report["frozen_during_run"]) > 10_000


@pytest.mark.parametrize("python", [sys.executable, OS_PYTHON], ids=["venv", "os"])
def test_list_restore_and_verify(setup, tmp_path, keys, s3, bucket, python):
    config, _document = setup
    hard_tree.build_hard_tree(str(tmp_path / "etc" / "hard"))  # odd names, links, holes, modes
    trees.write(str(tmp_path / "etc" / "random.bin"), os.urandom(9 * 1024 * 1024))  # two volumes
    host = functools.partial(s3napback, python=python)
    ran = host(config, "run")
    assert ran.returncode == 0, ran.stderr
    # botocore from 1.36 sends each volume's CRC32 in a header, which S3 checks and keeps; an older
    # one, Debian 12's, sends none unless asked (a Content-MD5 instead), and S3 keeps none.
    volumes = [key for key in bucket_contents(s3, bucket) if key.startswith("host1/etc/") and VOLUME.search(key)]
    assert [key[-6:] for key in volumes[1:]] == ["~00002"]
    for key in volumes:
        stored = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["Checksum"]).get("Checksum")
        if botocore_version(python) >= (1, 36):
            crc32 = zlib.crc32(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            assert stored["ChecksumCRC32"] == crc32_text(crc32)  # moto names no ChecksumType here
            assert stored.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT"
        else:
            assert stored is None or "ChecksumCRC32" not in stored
    listed = host(config, "list")
    assert listed.returncode == 0
    assert [line.split()[1:4] for line in listed.stdout.splitlines()] == [
        ["etc", "backups=1", "chains=1"],
        ["www", "backups=1", "chains=1"],
    ]
    dest = tmp_path / "restored"
    restored = host(config, "restore", "etc", "--dest", str(dest), "--gpg-home", keys.secret_home)
    assert restored.returncode == 0, restored.stderr
    assert "etc status=restored" in restored.stdout
    assert trees.differences(trees.picture(str(tmp_path / "etc")), trees.picture(str(dest))) == []
    assert hard_tree.hard_link_groups(str(dest / "hard")) == hard_tree.hard_link_groups(str(tmp_path / "etc" / "hard"))
    verified = host(config, "--json", "verify", "www", "--gpg-home", keys.secret_home)
    assert verified.returncode == 0 and json.loads(verified.stdout)["results"][0]["verified"] is True
    refused = host(config, "restore", "etc", "--dest", str(dest), "--gpg-home", keys.secret_home)
    assert refused.returncode == 1 and "is not empty; set force" in refused.stderr


def test_pip_installs_the_same_engine_as_a_command(tmp_path):
    project = tmp_path / "project"  # a copy: building in place leaves build/ and egg-info in the tree
    shutil.copytree(os.path.join(ROOT, "plugins", "module_utils"), project / "plugins" / "module_utils")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), project / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), project],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("s3napback-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "s3napback/host_command.py" in names and "s3napback/backup.py" in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    version = subprocess.run(
        [str(target / "bin" / "s3napback"), "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(target)},
        check=False,
    )
    assert version.returncode == 0 and version.stdout.strip() == "s3napback 0.1.0"


def test_on_a_terminal_a_live_line_shows_stage_bytes_and_rate(setup, tmp_path):
    config, _document = setup
    with open(tmp_path / "etc" / "big.bin", "wb") as handle:
        handle.write(os.urandom(96 * 1024 * 1024))  # long enough for a few progress updates
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--config", str(config), "run", "etc"],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=CRON_ENV,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        shown += chunk
    out, _err = process.communicate()
    os.close(controller)
    assert process.returncode == 0
    assert re.search(rb"\r\x1b\[Ketc: uploading [\d,.]+ MB at [\d,.]+ MB/s", shown), shown[-300:]
    assert b"status=ok" in out and b"\r" not in out  # the log line stays clean


def test_sigterm_mid_upload_aborts_it_and_leaves_the_state_for_a_correct_next_run(setup, tmp_path, s3, bucket):
    config, _document = setup
    assert s3napback(config, "run", "etc").returncode == 0
    state = tmp_path / "state"
    before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file() and p.suffix != ".lock"}
    objects = bucket_contents(s3, bucket)
    with open(tmp_path / "etc" / "big.bin", "wb") as handle:
        handle.write(os.urandom(160 * 1024 * 1024))  # incompressible: 20 volumes, the upload takes seconds
    controller, terminal = pty.openpty()  # a terminal, as an operator's: the live progress line is on
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--config", str(config), "run", "etc", "--force"],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=CRON_ENV,
    )
    os.close(terminal)
    shown = b""
    ends = time.monotonic() + 60
    stored = []  # the volumes of the new backup's data in the bucket: mid-upload once it has two
    while len(stored) < 2 and time.monotonic() < ends and process.poll() is None:
        if select.select([controller], [], [], 0.05)[0]:
            shown += os.read(controller, 4096)
        stored = [key for key in bucket_contents(s3, bucket) if key not in objects]
    assert len(stored) >= 2 and process.poll() is None, (stored, shown)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    with contextlib.suppress(OSError):  # EIO once the terminal's other end is closed
        while chunk := os.read(controller, 4096):
            shown += chunk
    os.close(controller)
    assert process.returncode == 143
    assert b"etc: uploading" in shown  # the progress line was live when SIGTERM came
    assert b"stopped by SIGTERM; any unfinished upload was aborted, state is unchanged" in shown
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []
    after = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file() and p.suffix != ".lock"}
    assert after == before
    assert not [p for p in state.iterdir() if p.name.endswith(".new")]
    assert (
        subprocess.run(["pgrep", "-f", f"--directory={tmp_path / 'etc'}"], capture_output=True, check=False).stdout
        == b""
    ), "no tar left behind"
    again = s3napback(config, "run", "etc", "--force")  # the lock is free and the diff follows the last backup
    assert again.returncode == 0 and "kind=diff" in again.stdout and "removed_strays" not in again.stdout


def test_a_config_that_cannot_be_read_is_a_usage_error(tmp_path):
    directory = tmp_path / "config.yml"
    directory.mkdir()
    run = s3napback(directory, "run")
    assert run.returncode == 2
    assert run.stderr.strip() == f"s3napback: config: {directory}: cannot read: Is a directory"
