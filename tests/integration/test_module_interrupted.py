"""The backup module ended mid-upload as Ansible ends it: by the task's ``timeout``, by the
operator's Ctrl-C, or by a SIGTERM to the module's process. Each time it stops its pipe, aborts
its upload (deletes the volumes of its data it had stored) and removes its temporary files, and
the next backup runs (the lock is free) with nothing to clear.

ansible-core 2.19 signals nothing on a task timeout: the worker gives up and exits, and the
module used to run on, unheard, to the end of its backup, holding the set's lock. The module now
notices that nobody reads its result any more (termination.py)."""

import json
import os
import signal
import subprocess
import time

import pytest
from support import trees
from support.ansible_runner import BIN, playbook_variables
from support.fixtures import bucket_contents, open_uploads
from support.tree_memory import parents

from ansible_collections.s3napback.s3napback.plugins.module_utils import naming

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "interrupted.yml")
MIB = 1024 * 1024
LIMIT = MIB  # bytes per second: the 16 MiB stream would take 16 s


def processes_with(text: str) -> dict[int, tuple[str, int]]:
    """{pid: (command name, parent pid)} of the processes whose command line holds ``text``."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if text.encode() not in handle.read():
                    continue
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                name, rest = handle.read().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):  # ended while we looked
            continue
        if rest.split()[0] != "Z":
            found[int(pid)] = (name, int(rest.split()[1]))
    return found


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture
def slow(tmp_path, ansible_env, moto, bucket, keys):
    """A source of 16 MiB that no compressor shrinks, the playbook's variables with the upload
    held to 1 MiB/s, and Ansible's environment with its temporary directories in tmp_path."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(16 * MIB))
    variables = playbook_variables(tmp_path, moto, bucket, keys, source, result_file=str(tmp_path / "result.json"))
    for name in ("tmp", "remote-tmp"):
        (tmp_path / name).mkdir()
    env = {**ansible_env, "TMPDIR": str(tmp_path / "tmp"), "ANSIBLE_REMOTE_TMP": str(tmp_path / "remote-tmp")}
    return source, variables, env


def playbook(tmp_path, variables, env, **extra) -> subprocess.Popen:
    (tmp_path / "vars.json").write_text(json.dumps({**variables, **extra}))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-v"]
    command += ["-e", f"@{tmp_path / 'vars.json'}", PLAYBOOK]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def uploading(tmp_path, s3, bucket) -> list[int]:
    """Once the module has stored the first volume of its data (into the empty bucket: nothing else
    goes there before the data is whole): the module's pid, then its children's (its pipe)."""
    wait_until(lambda: bucket_contents(s3, bucket), 60, "the module stored no volume")
    (module,) = [
        pid
        for pid, (name, _parent) in processes_with(str(tmp_path / "remote-tmp" / "ansible-tmp-")).items()
        if name.startswith("python")
    ]
    return [module, *[pid for pid, parent in parents().items() if parent == module]]


def assert_left_nothing(tmp_path, started, s3, bucket):
    """The module and its pipe are gone, and with them everything they had made."""
    wait_until(lambda: not set(started) & set(parents()), 60, "the module or its pipe still ran")
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
    state = sorted(os.listdir(tmp_path / "state"))
    assert [name for name in state if not name.endswith(".lock") and name != "gnupg"] == [], state
    assert os.listdir(tmp_path / "tmp") == []
    assert [name for name in os.listdir(tmp_path / "remote-tmp") if name.startswith("ansible-moduletmp-")] == []


def assert_next_backup_runs(tmp_path, variables, env, s3, bucket):
    run = playbook(tmp_path, variables, env)
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0, out + err
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["backup"]["kind"] == "full" and result["aborted_uploads"] == [] and result["removed_strays"] == []
    key = result["backup"]["key"]
    volumes = [naming.volume_key(key, number) for number in (1, 2, 3)]  # 16 MiB and the tree, in 8 MiB volumes
    assert bucket_contents(s3, bucket) == sorted([*volumes, naming.manifest_key(key), naming.index_key(key)])
    assert open_uploads(s3, bucket) == []


@pytest.mark.parametrize("ended_by", ["task timeout", "Ctrl-C"])
def test_a_module_that_ansible_stops_aborts_its_upload_and_leaves_nothing(ended_by, tmp_path, slow, s3, bucket):
    _source, variables, env = slow
    extra = {"timeout_s": 4} if ended_by == "task timeout" else {}
    run = playbook(tmp_path, variables, env, bandwidth_limit=LIMIT, **extra)
    try:
        started = uploading(tmp_path, s3, bucket)
        assert len(started) >= 3, "the module's pipe (tar or zstd, and gpg) was not found"
        if ended_by == "Ctrl-C":
            run.send_signal(signal.SIGINT)  # what the terminal sends ansible-playbook
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    if ended_by == "task timeout":
        assert run.returncode == 2 and "Timed out after 4 second(s)" in out, out + err
    else:
        assert run.returncode != 0, out + err
    assert_left_nothing(tmp_path, started, s3, bucket)
    assert_next_backup_runs(tmp_path, variables, env, s3, bucket)


def test_a_module_stopped_by_sigterm_fails_the_task_saying_it_was_interrupted(tmp_path, slow, s3, bucket):
    _source, variables, env = slow
    run = playbook(tmp_path, variables, env, bandwidth_limit=LIMIT)
    try:
        started = uploading(tmp_path, s3, bucket)
        os.kill(started[0], signal.SIGTERM)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 2, out + err
    failed = json.loads(out.split("FAILED! => ", 1)[1].split("\n\n", 1)[0].rsplit("}", 1)[0] + "}")
    assert failed["stage"] == "interrupted"
    assert failed["msg"].startswith("stopped by SIGTERM: interrupted; its child processes were stopped, any unfinished")
    assert_left_nothing(tmp_path, started, s3, bucket)
    assert_next_backup_runs(tmp_path, variables, env, s3, bucket)
