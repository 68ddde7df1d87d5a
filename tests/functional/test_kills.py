"""Processes killed mid-run: each pipeline stage with SIGKILL, and the host command itself with
SIGTERM and SIGKILL. After each, nothing half-made is recorded: no volume of the data, manifest or
open upload (but the volumes SIGKILL leaves, which `list` reports and the next run removes), the
state as it was, the lock released, and the next run makes a backup that restores to the source.

The upload is held to a bandwidth limit so that the pipe is still running when the kill comes."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from support import trees
from support.db_servers import PASSWORD, make_shop
from support.engine import restore_set, state_files
from support.fixtures import bucket_contents, open_uploads
from support.svn_repos import Repository, dump_of
from support.tree_memory import parents
from test_host_command import CRON_ENV, MODULE, s3napback

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming
from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.databases import Login, MySQLSource
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.svn import SvnSource

DAY = datetime.datetime(2026, 12, 10, 3, tzinfo=datetime.timezone.utc)
LIMIT = 512 * 1024  # bytes per second: the stream takes over a minute, the kill comes first
BIG = 40 * 1024 * 1024  # more than the pipe, zstd and the upload buffer hold
# The host command's: its 8 MiB volumes are stored 4 s apart, and the last one after 20 s.
HOST_LIMIT = 2 * 1024 * 1024


def children_named(name, parent=None):
    parent = parent or os.getpid()
    found = []
    for pid in (pid for pid, ppid in parents().items() if ppid == parent):
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
                if handle.read().strip() == name:
                    found.append(pid)
        except OSError:
            continue
    return found


def encrypting(pid):
    """True for the pipe's gpg; python-gnupg also starts short-lived gpg processes to list keys."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"--encrypt" in handle.read().split(b"\0")
    except OSError:
        return False


def kill_when_running(name, deadline=20.0, index=False):
    """SIGKILL this process's pipeline stage ``name`` once it runs; True if it was found. A
    directory backup runs a second zstd and gpg for its file index, started before the data's:
    ``index`` picks that one, the oldest, else the data's, the newest."""
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        if [pid for pid in children_named(name) if name != "gpg" or encrypting(pid)]:
            time.sleep(0.5)  # well into the stream, both pipes' stages started
            found = sorted(pid for pid in children_named(name) if name != "gpg" or encrypting(pid))
            os.kill(found[0] if index else found[-1], signal.SIGKILL)
            return True
        time.sleep(0.05)
    return False


def run_and_kill(request, stage, index=False):
    """Run a backup in a thread and kill ``stage`` under it; the BackupError it ends with."""
    outcome = {}

    def backup():
        try:
            outcome["result"] = run_backup(request, now=DAY + datetime.timedelta(days=1))
        except BackupError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=backup)
    thread.start()
    killed = kill_when_running(stage, index=index)
    thread.join(120)
    assert killed and not thread.is_alive()
    assert "error" in outcome, f"the run did not fail: {outcome}"
    return outcome["error"]


@pytest.fixture
def big_tree(tmp_path):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    return source


@pytest.mark.parametrize("stage", ["tar", "zstd", "gpg"])
def test_a_killed_directory_stage_records_nothing(stage, tmp_path, make_request, s3, bucket, keys, big_tree):
    request = make_request(big_tree)
    run_backup(request, now=DAY)  # a full; the killed run is its diff
    objects, state = bucket_contents(s3, bucket), state_files(str(tmp_path / "state"))
    trees.write(str(big_tree / "big.bin"), os.urandom(BIG))
    error = run_and_kill(make_request(big_tree, bandwidth_limit=LIMIT), stage)
    assert str(error) == f"{stage}: killed by signal SIGKILL"
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []
    assert state_files(str(tmp_path / "state")) == state
    again = run_backup(request, now=DAY + datetime.timedelta(days=1))  # the lock was released
    assert again.backup["kind"] == "diff"
    restored = tmp_path / "restored"
    restore_set(request, keys, dest=str(restored))
    assert trees.differences(trees.picture(str(big_tree)), trees.picture(str(restored))) == []


@pytest.mark.parametrize("stage", ["zstd", "gpg"])
def test_a_killed_stage_of_the_file_index_records_nothing(stage, tmp_path, make_request, s3, bucket, keys, big_tree):
    """tar writes its listing into the index's own compressor and gpg: killing one of those
    fails the backup by its name, not as tar's broken pipe."""
    request = make_request(big_tree)
    run_backup(request, now=DAY)
    objects, state = bucket_contents(s3, bucket), state_files(str(tmp_path / "state"))
    trees.write(str(big_tree / "big.bin"), os.urandom(BIG))
    error = run_and_kill(make_request(big_tree, bandwidth_limit=LIMIT), stage, index=True)
    assert str(error) == f"index {stage}: killed by signal SIGKILL"
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []
    assert state_files(str(tmp_path / "state")) == state
    assert run_backup(request, now=DAY + datetime.timedelta(days=1)).backup["kind"] == "diff"


def assert_aftermath(s3, bucket, tmp_path, objects, state):
    assert bucket_contents(s3, bucket) == objects and open_uploads(s3, bucket) == []
    assert state_files(str(tmp_path / "state")) == state


def test_a_killed_mysqldump_records_nothing(tmp_path, make_request, s3, bucket, keys, mariadb):
    make_shop(mariadb)
    mariadb.sql("CREATE TABLE bulk (id INT PRIMARY KEY, data LONGBLOB);", "shop")
    for row in range(40):  # 40 MB of data that no compressor shrinks much
        mariadb.sql(f"INSERT INTO bulk VALUES ({row}, REPEAT(RANDOM_BYTES(1024), 1024));", "shop")
    login = Login(unix_socket=mariadb.socket, user="backup", password=PASSWORD)
    request = make_request(tmp_path, source=MySQLSource("shop", login), bandwidth_limit=LIMIT, compression="none")
    error = run_and_kill(request, "mysqldump")
    assert str(error).startswith("mysqldump: killed by signal SIGKILL")
    assert_aftermath(s3, bucket, tmp_path, [], {})
    request = make_request(tmp_path, source=MySQLSource("shop", login))
    assert run_backup(request, now=DAY + datetime.timedelta(days=1)).backup["kind"] == "full"
    mariadb.sql("DROP DATABASE IF EXISTS shop_copy")
    restore_set(request, keys, mysql_database="shop_copy", login=login)
    for table in ("bulk", "orders"):
        original = mariadb.sql(f"CHECKSUM TABLE shop.{table} EXTENDED").split()[-1]
        assert mariadb.sql(f"CHECKSUM TABLE shop_copy.{table} EXTENDED").split()[-1] == original, table


def test_a_killed_svnadmin_records_nothing(tmp_path, make_request, s3, bucket, keys):
    repository = Repository(str(tmp_path / "repo"), str(tmp_path / "wc"))
    repository.commit_round(1)
    request = make_request(tmp_path, source=SvnSource(repository.path))
    run_backup(request, now=DAY)
    objects, state = bucket_contents(s3, bucket), state_files(str(tmp_path / "state"))
    with open(os.path.join(repository.work, "big.bin"), "wb") as handle:
        handle.write(os.urandom(BIG))
    subprocess.run(["svn", "add", "--quiet", "big.bin"], cwd=repository.work, check=True)
    repository.commit("a big file")
    limited = make_request(tmp_path, source=SvnSource(repository.path), bandwidth_limit=LIMIT, compression="none")
    error = run_and_kill(limited, "svnadmin")
    assert str(error).startswith("svnadmin: killed by signal SIGKILL")
    assert_aftermath(s3, bucket, tmp_path, objects, state)
    again = run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert again.backup["kind"] == "diff"
    restored = str(tmp_path / "restored-repo")
    restore_set(request, keys, svn_repository=restored)
    assert dump_of(restored) == repository.dump()


def start_host_command(config, *args):
    command = [sys.executable, "-m", MODULE, "--config", str(config), *args]
    return subprocess.Popen(command, env=CRON_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def when_stored(process, s3, bucket, volumes):
    """Wait until the host command, still running, has stored ``volumes`` volumes of its backup's
    data into the empty bucket (nothing else goes there before the data is whole): their keys."""
    ends = time.monotonic() + 60
    while time.monotonic() < ends and process.poll() is None:
        stored = bucket_contents(s3, bucket)
        if len(stored) >= volumes:
            assert stored == [naming.volume_key(stored[0], number) for number in range(1, len(stored) + 1)], stored
            return stored
        time.sleep(0.05)
    raise AssertionError(f"not {volumes} volumes stored while the command ran: {bucket_contents(s3, bucket)}")


@pytest.fixture
def slow_config(setup, tmp_path):
    config, document = setup
    trees.write(str(tmp_path / "www" / "big.bin"), os.urandom(BIG))
    document["defaults"]["bandwidth_limit"] = HOST_LIMIT
    config.write_text(yaml.safe_dump(document))
    return config, document


def test_the_host_command_stopped_by_sigterm_deletes_the_volumes_it_stored(slow_config, tmp_path, s3, bucket, keys):
    config, document = slow_config
    process = start_host_command(config, "run", "www")
    when_stored(process, s3, bucket, volumes=2)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "any unfinished upload was aborted, state is unchanged" in err
    assert_aftermath(s3, bucket, tmp_path, [], {})
    document["defaults"].pop("bandwidth_limit")
    config.write_text(yaml.safe_dump(document))
    again = start_host_command(config, "--json", "run", "www")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    (result,) = yaml.safe_load(out)["results"]
    assert result["status"] == "ok" and result["backup"]["kind"] == "full"
    assert result["removed_strays"] == [] and result["aborted_uploads"] == []  # nothing was left
    dest = tmp_path / "restored"
    restored = s3napback(config, "restore", "www", "--dest", str(dest), "--gpg-home", keys.secret_home)
    assert restored.returncode == 0, restored.stderr
    picture = trees.picture(str(tmp_path / "www"))
    assert trees.differences(picture, trees.picture(str(dest))) == ["missing: b'etc/secret.key'"]  # www excludes *.key


def test_the_host_command_killed_leaves_volumes_that_list_reports_and_the_next_run_removes(
    slow_config, tmp_path, s3, bucket
):
    config, document = slow_config
    process = start_host_command(config, "run", "www")
    when_stored(process, s3, bucket, volumes=2)
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    # A stray: its first volume and the later ones stored before the kill, no manifest, no index.
    leftover = bucket_contents(s3, bucket)
    data = leftover[0]
    assert len(leftover) >= 2 and leftover == [naming.volume_key(data, n) for n in range(1, len(leftover) + 1)]
    assert open_uploads(s3, bucket) == []
    # Only tar's scratch copy of the snapshot is left, which the next run starts over.
    assert [name for name in state_files(str(tmp_path / "state")) if not name.endswith(".snar.new")] == []
    listing = start_host_command(config, "list", "www")
    out, _err = listing.communicate(timeout=60)
    assert listing.returncode == 4  # no backup yet
    assert "problems=2" in out and 'problem="no backup yet"' in out, out
    assert f'problem="object without its manifest (a failed run?): {data}"' in out, out
    document["defaults"].pop("bandwidth_limit")
    config.write_text(yaml.safe_dump(document))
    again = start_host_command(config, "--json", "run", "www")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    (result,) = yaml.safe_load(out)["results"]
    assert result["removed_strays"] == [*reversed(leftover[1:]), data] and result["aborted_uploads"] == []
    stored = bucket_contents(s3, bucket)
    assert result["backup"]["key"] in stored and not set(leftover) & set(stored)
    assert open_uploads(s3, bucket) == []
    assert not [name for name in state_files(str(tmp_path / "state")) if name.endswith(".snar.new")]
