"""Every point where a crash leaves something behind, made deterministic: the fault proxy holds the
chosen request (the PUTs of the data's volumes, the file index's PUT, the manifest's PUT, a rotation
DELETE, a restore's last GET), the whole process tree of the host command is killed with SIGKILL
while it waits, and the request then goes on to S3 (the store did it, the client died before the
reply) or is dropped (the client died before the store saw it). Each test checks what is left in
the bucket and on disk, then that the next run leaves nothing behind and gives the right result.
docs/RELIABILITY.md has the matrix."""

import json
import os
import re
import signal
import stat
import sys
import threading
import time

import pytest
import yaml
from support import trees
from support.crash import kill_group, start_group
from support.faulty_proxy import FaultyProxy, Hold
from support.fixtures import bucket_contents, open_uploads
from test_host_command import CRON_ENV, MODULE, s3napback

MIB = 1024 * 1024
BIG = 9 * MIB  # past the first part (8 MiB): the data is two volumes


def data(path):
    return re.search(r"\.gpg(~\d+)?$", path) is not None


# Which request each crash point holds: the first that matches.
HELD = {
    "volumes": lambda method, path, query: method == "PUT" and data(path),
    "index": lambda method, path, query: method == "PUT" and path.endswith(".index"),
    "manifest": lambda method, path, query: method == "PUT" and path.endswith(".json"),
    "rotation": lambda method, path, query: method == "DELETE" and path.endswith(".index"),
    "last GET": None,  # set by the restore tests: the GET of the chain's newest object
}


class HoldFirst:
    """A proxy rule that forwards every request, but once armed holds the first one it picks.

    Every run of a test goes through the same proxy: the endpoint is part of a set's identity on
    the host (its state files and lock), so a run on another endpoint would be another set."""

    def __init__(self):
        self.matches, self.holds, self.taken = None, [], 0
        self.lock = threading.Lock()

    def arm(self, matches) -> Hold:
        return self.arm_each(matches, 1)[0]

    def arm_each(self, matches, count) -> list[Hold]:
        """Hold the first ``count`` requests that ``matches`` picks."""
        with self.lock:
            self.matches, self.holds, self.taken = matches, [Hold() for _hold in range(count)], 0
        return self.holds

    def __call__(self, method, path, query):
        with self.lock:
            if self.matches and self.taken < len(self.holds) and self.matches(method, path, query):
                self.taken += 1
                return ("hold", self.holds[self.taken - 1])
        return None


@pytest.fixture
def proxied(setup, moto):
    """The config, its document, and the rule of the proxy that every run of the test goes through."""
    config, document = setup
    rule = HoldFirst()
    with FaultyProxy(moto.port, rule) as proxy:
        document["defaults"]["endpoint_url"] = proxy.url
        config.write_text(yaml.safe_dump(document))
        yield config, document, rule


def host_command(config, *args):
    return start_group([sys.executable, "-m", MODULE, "--config", str(config), *args], CRON_ENV)


def crash(proxied, matches, forward, *args):
    """Run the host command with ``args``, hold the request ``matches`` picks, kill the command's
    whole process tree while it waits, then forward or drop the request: the key it was for."""
    (held,) = crash_each(proxied, matches, lambda _key: forward, 1, *args)
    return held


def crash_each(proxied, matches, forward, count, *args):
    """``crash`` holding the first ``count`` requests ``matches`` picks, each forwarded or dropped
    as ``forward(key)`` says: their keys, in the order they came."""
    config, _document, rule = proxied
    holds = rule.arm_each(matches, count)
    process = host_command(config, *args)
    try:
        held = [hold.wait().split("/", 2)[2] for hold in holds]  # without the bucket
    finally:
        _out, err = kill_group(process)
    for hold, key in zip(holds, held):
        hold.release(forward(key))
    assert process.returncode == -9, err
    return held


def state_of(tmp_path):
    state = tmp_path / "state"
    names = sorted(name for name in os.listdir(state) if name.endswith((".snar", ".json")))
    return {name: (state / name).read_bytes() for name in names}


@pytest.fixture
def www(proxied, tmp_path, s3, bucket):
    """A first full of www, then 9 MiB more in it, for the diff that is killed."""
    first = s3napback(proxied[0], "run", "www")
    assert first.returncode == 0, first.stderr
    trees.write(str(tmp_path / "www" / "big.bin"), os.urandom(BIG))
    return bucket_contents(s3, bucket)


def next_run(config, *args):
    """The next run: its JSON result."""
    run = s3napback(config, "--json", "run", "www", *args)
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)["results"]
    return result


def assert_restores(config, tmp_path, keys, name="restored"):
    restored = tmp_path / name
    run = s3napback(config, "restore", "www", "--dest", str(restored), "--force", "--gpg-home", keys.secret_home)
    assert run.returncode == 0, run.stderr
    source = {path: entry for path, entry in trees.picture(str(tmp_path / "www")).items() if not path.endswith(b".key")}
    assert trees.differences(source, trees.picture(str(restored))) == []  # www's job excludes *.key


# crash point, which requests are forwarded (by the suffix of their key: "" for the first volume);
# what the bucket holds beside the first full and what the next run removes, as suffixes of the
# killed backup's key
BACKUP_CRASHES = [
    ("volumes", (), [], []),
    ("volumes", ("", "~00002"), ["", "~00002"], ["~00002", ""]),
    ("volumes", ("~00002",), ["~00002"], ["~00002"]),  # a lonely volume
    ("volumes", ("",), [""], [""]),
    ("index", (".index",), ["", "~00002", ".index"], [".index", "~00002", ""]),
    ("manifest", (), ["", "~00002", ".index"], [".index", "~00002", ""]),
]


def suffix_of(key):
    """What follows a backup's data key in ``key``: "" for the data key itself."""
    return re.search(r"(~\d+|\.index|\.json)?$", key).group(0)


@pytest.mark.parametrize(("point", "forwarded", "left", "removed"), BACKUP_CRASHES)
def test_a_backup_killed_at_each_write_leaves_what_the_next_run_clears(
    point, forwarded, left, removed, proxied, www, tmp_path, s3, bucket, keys
):
    config, first = proxied[0], www
    state = state_of(tmp_path)
    count = 2 if point == "volumes" else 1  # both volumes in flight: which the store kept is the case's
    held = crash_each(proxied, HELD[point], lambda key: suffix_of(key) in forwarded, count, "run", "www", "--force")
    killed = held[0].removesuffix(suffix_of(held[0]))
    assert bucket_contents(s3, bucket) == sorted(first + [killed + suffix for suffix in left])
    assert state_of(tmp_path) == state  # the snapshot and the record as they were
    result = next_run(config, "--force")
    assert result["backup"]["kind"] == "diff" and result["backup"]["parent"] == first[0]
    assert result["aborted_uploads"] == []
    assert result["removed_strays"] == [killed + suffix for suffix in removed]
    made = [result["backup"][name] for name in ("key", "index_key", "manifest_key")]
    made.append(result["backup"]["key"] + "~00002")
    assert bucket_contents(s3, bucket) == sorted(first + made) and open_uploads(s3, bucket) == []
    assert not [name for name in os.listdir(tmp_path / "state") if name.endswith(".new")]
    status = json.loads((tmp_path / "state" / "www.status.json").read_text())
    assert (status["removed_strays"], status["aborted_uploads"]) == (len(removed), 0)
    assert_restores(config, tmp_path, keys)


def test_a_diff_of_one_volume_killed_while_its_data_is_stored_leaves_its_index_for_the_next_run(
    proxied, tmp_path, s3, bucket, keys
):
    """A diff within its first part stores its data and its file index at once. Killed while the
    data's PUT waits (the store never sees it), the index the store took is a lonely index: the
    state is as it was, and the next run clears the index and stores the diff."""
    config, _document, rule = proxied
    first = s3napback(config, "run", "www")
    assert first.returncode == 0, first.stderr
    trees.write(str(tmp_path / "www" / "small.txt"), b"a change within one volume\n")
    before, state = bucket_contents(s3, bucket), state_of(tmp_path)
    hold = rule.arm(HELD["volumes"])
    process = host_command(config, "run", "www", "--force")
    try:
        index = hold.wait().split("/", 2)[2] + ".index"
        deadline = time.monotonic() + 60
        while index not in bucket_contents(s3, bucket) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        _out, err = kill_group(process)
    hold.release(False)
    assert process.returncode == -9, err
    assert bucket_contents(s3, bucket) == sorted([*before, index])
    assert state_of(tmp_path) == state
    result = next_run(config, "--force")
    assert result["backup"]["kind"] == "diff" and result["removed_strays"] == [index]
    made = [result["backup"][name] for name in ("key", "index_key", "manifest_key")]
    assert bucket_contents(s3, bucket) == sorted([*before, *made])
    assert_restores(config, tmp_path, keys)


def test_a_backup_killed_after_its_manifest_was_stored_is_whole_and_the_next_run_a_full(
    proxied, www, tmp_path, s3, bucket, keys
):
    """The store wrote the manifest, the host never heard: the backup is whole, but the host's
    snapshot still follows the backup before it, so the next one is a full."""
    config, first = proxied[0], www
    state = state_of(tmp_path)
    held = crash(proxied, HELD["manifest"], True, "run", "www", "--force")
    killed = held.removesuffix(".json")
    assert bucket_contents(s3, bucket) == sorted([*first, killed, killed + ".index", held, killed + "~00002"])
    assert state_of(tmp_path) == state
    result = next_run(config, "--force")
    assert result["backup"]["kind"] == "full" and "not the newest backup" in result["reason"]
    assert result["removed_strays"] == [] and open_uploads(s3, bucket) == []
    assert len(bucket_contents(s3, bucket)) == 11  # the first full's 3 objects, then two of 4
    assert_restores(config, tmp_path, keys)


def test_a_rotation_killed_midway_leaves_an_older_stray_that_the_next_rotation_takes(
    proxied, tmp_path, s3, bucket, keys
):
    """Rotation deletes the manifest first: killed at the index's DELETE, the expired full is a
    stray with its index, older than the kept backup. The next run does not clear it (it is not
    newer than the newest backup); the next rotation deletes it, index first."""
    config, document, _rule = proxied
    document["jobs"][1].update(fulls=1, diffs=0)
    config.write_text(yaml.safe_dump(document))
    assert s3napback(config, "run", "www").returncode == 0
    expired = bucket_contents(s3, bucket)
    held = crash(proxied, HELD["rotation"], False, "run", "www", "--force")
    full = held.removesuffix(".index")
    kept = [key for key in bucket_contents(s3, bucket) if key not in expired]
    assert bucket_contents(s3, bucket) == sorted([full, held, *kept]) and len(kept) == 3
    listed = s3napback(config, "list", "www")
    assert f"object without its manifest (a failed run?): {full}" in listed.stdout
    result = next_run(config, "--force")
    assert result["removed_strays"] == [] and result["rotated"][-2:] == [held, full]
    made = [result["backup"][name] for name in ("key", "index_key", "manifest_key")]
    assert bucket_contents(s3, bucket) == sorted(made)
    assert_restores(config, tmp_path, keys)


@pytest.fixture
def chain(proxied, tmp_path, s3, bucket):
    """A full and a diff of www: the diff is the object a restore reads last."""
    config = proxied[0]
    assert s3napback(config, "run", "www").returncode == 0
    trees.change_tree(str(tmp_path / "www"), 1)
    assert s3napback(config, "run", "www", "--force").returncode == 0
    newest = bucket_contents(s3, bucket)[-3]
    assert newest.endswith("-diff.tar.zst.gpg")
    return newest


def work_directories(parent, name):
    return sorted(entry for entry in os.listdir(parent) if entry.startswith(f".{name}.restoring-"))


def last_get(newest):
    return lambda method, path, query: method == "GET" and path.endswith("/" + newest)


def test_a_restore_killed_at_its_last_get_leaves_dest_whole_and_its_work_for_the_next_restore(
    proxied, chain, tmp_path, keys
):
    config, _document, rule = proxied
    dest = tmp_path / "dest"
    trees.write(str(dest / "old.txt"), b"what the restore replaces")
    hold = rule.arm(last_get(chain))
    args = ("restore", "www", "--dest", str(dest), "--force", "--gpg-home", keys.secret_home)
    process = host_command(config, *args)
    try:
        hold.wait()
        (work,) = work_directories(tmp_path, "dest")
        # Another restore beside the same dest meanwhile leaves the live one's work alone.
        beside = s3napback(config, *args)
        assert beside.returncode == 0, beside.stderr
        assert work_directories(tmp_path, "dest") == [work]
        trees.write(str(dest / "old.txt"), b"what the restore replaces")
        before = trees.picture(str(dest))
    finally:
        kill_group(process)
    hold.release(False)
    assert trees.picture(str(dest)) == before, "the killed restore touched dest"
    left = tmp_path / work
    assert stat.S_IMODE(os.stat(left).st_mode) == 0o700, "partial plaintext readable by others"
    assert os.listdir(left / "tree"), "the full was applied before the kill"
    verified = s3napback(config, "verify", "www", "--gpg-home", keys.secret_home)
    assert verified.returncode == 0 and " status=verified " in verified.stdout, verified.stderr
    assert " objects=2 " in verified.stdout
    assert_restores(config, tmp_path, keys, name="dest")
    assert work_directories(tmp_path, "dest") == []


def test_a_dump_killed_at_its_last_get_leaves_no_file_and_its_work_for_the_next_dump(proxied, chain, tmp_path, keys):
    config, _document, rule = proxied
    dump = tmp_path / "www.tar"
    hold = rule.arm(last_get(chain))
    args = ("restore", "www", "--dump-to", str(dump), "--gpg-home", keys.secret_home)
    process = host_command(config, *args)
    try:
        hold.wait()
    finally:
        kill_group(process)
    hold.release(False)
    (work,) = work_directories(tmp_path, "www.tar")
    assert not dump.exists() and stat.S_IMODE(os.stat(tmp_path / work).st_mode) == 0o700
    assert (tmp_path / work / "dump").stat().st_size > 0, "the full was written before the kill"
    again = s3napback(config, *args)
    assert again.returncode == 0, again.stderr
    assert work_directories(tmp_path, "www.tar") == []
    other = tmp_path / "other.tar"
    assert s3napback(config, "restore", "www", "--dump-to", str(other), "--gpg-home", keys.secret_home).returncode == 0
    assert dump.read_bytes() == other.read_bytes()


@pytest.mark.parametrize("point", ["index", "manifest"])
def test_a_backup_stopped_by_sigterm_after_its_data_was_stored_deletes_it(
    point, proxied, www, tmp_path, s3, bucket, keys
):
    """SIGTERM while the index's or the manifest's PUT waits (the data's volumes all stored): the
    run unwinds, deletes what it stored and leaves the state, so nothing is left for the next one."""
    config, _document, rule = proxied
    state = state_of(tmp_path)
    hold = rule.arm(HELD[point])
    process = host_command(config, "run", "www", "--force")
    try:
        held = hold.wait().split("/", 2)[2]
        process.send_signal(signal.SIGTERM)
        hold.release(False)  # as if the store never saw it: the client's wait ends with a reset
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            kill_group(process)
    assert process.returncode == 143, err
    assert "stopped by SIGTERM" in err
    killed = held.removesuffix(suffix_of(held))
    assert bucket_contents(s3, bucket) == www, f"{killed} left behind"
    assert state_of(tmp_path) == state
    result = next_run(config, "--force")
    assert result["backup"]["kind"] == "diff" and result["removed_strays"] == [] and result["aborted_uploads"] == []
    assert_restores(config, tmp_path, keys)
