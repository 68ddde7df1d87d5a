"""Putting a restore in place of dest: in one step with renameat2(RENAME_EXCHANGE), so that dest is
never missing, and with two renames on a file system that refuses the exchange. bindfs (FUSE), as
sshfs and NFS do, answers EINVAL: the fallback is reached by a real refusal, not a fake."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from support import trees
from support.engine import restore_set

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.exchange import exchange, put_in_place

# Looks at dest as fast as it can until told to stop; prints how often dest was missing, and how
# many looks it took.
WATCH = """
import os, sys
dest, stop = sys.argv[1], sys.argv[2]
missing = looks = 0
while not os.path.exists(stop):
    looks += 1
    missing += not os.path.lexists(dest)
print(missing, looks)
"""


def directory(path, name: str, content: bytes):
    os.mkdir(path)
    (path / name).write_bytes(content)
    return str(path)


@pytest.fixture
def on_bindfs(tmp_path):
    """A directory on bindfs, a FUSE mirror of one in tmp_path, unmounted after the test."""
    assert shutil.which("bindfs"), "tests/scripts/system-packages.sh --tests installs bindfs"
    backing, mounted = tmp_path / "backing", tmp_path / "on-bindfs"
    backing.mkdir()
    mounted.mkdir()
    process = subprocess.Popen(["bindfs", "-f", "--no-allow-other", str(backing), str(mounted)])
    try:
        deadline = time.monotonic() + 10
        while not os.path.ismount(mounted):
            assert process.poll() is None and time.monotonic() < deadline, "bindfs did not mount"
            time.sleep(0.05)
        yield mounted
    finally:
        subprocess.run(["umount", str(mounted)], check=False)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_existing_dest_is_exchanged_with_the_restore_in_one_step(tmp_path):
    tree = directory(tmp_path / "tree", "new", b"restored")
    dest = directory(tmp_path / "dest", "old", b"replaced")
    assert put_in_place(tree, dest, str(tmp_path / "aside")) == "exchanged"
    assert os.listdir(dest) == ["new"] and os.listdir(tree) == ["old"]
    assert not (tmp_path / "aside").exists()
    assert put_in_place(directory(tmp_path / "again", "x", b""), str(tmp_path / "absent"), "") == "renamed"


def test_dest_is_never_missing_while_it_is_exchanged(tmp_path):
    """A process of its own looks at dest tens of thousands of times while it is replaced 300
    times. Replaced by two renames it was found missing hundreds of times (measured on tmpfs
    and ext4); exchanged, never."""
    dest, stop = tmp_path / "dest", tmp_path / "stop"
    dest.mkdir()
    watch = subprocess.Popen([sys.executable, "-c", WATCH, str(dest), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        for number in range(300):
            tree = directory(tmp_path / "tree", "n", str(number).encode())
            assert put_in_place(tree, str(dest), str(tmp_path / "aside")) == "exchanged"
            shutil.rmtree(tree)
    finally:
        stop.touch()
        out, _err = watch.communicate(timeout=30)
    missing, looks = map(int, out.split())
    assert looks > 1000 and missing == 0, (missing, looks)
    assert (dest / "n").read_bytes() == b"299"


def test_where_the_exchange_is_refused_two_renames_put_the_restore_in_place(on_bindfs):
    tree = directory(on_bindfs / "tree", "new", b"restored")
    dest = directory(on_bindfs / "dest", "old", b"replaced")
    assert exchange(tree, dest) is False, "bindfs exchanged: this test no longer reaches the fallback"
    assert os.listdir(dest) == ["old"] and os.listdir(tree) == ["new"], "a refused exchange changed something"
    assert put_in_place(tree, dest, str(on_bindfs / "aside")) == "renamed twice"
    assert os.listdir(dest) == ["new"] and os.listdir(on_bindfs / "aside") == ["old"]
    assert not os.path.exists(tree)


def test_a_restore_onto_a_file_system_that_refuses_the_exchange_replaces_dest(on_bindfs, tmp_path, make_request, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    run_backup(request)
    dest = on_bindfs / "dest"
    trees.write(str(dest / "old.txt"), b"what the restore replaces")
    restore_set(request, keys, dest=str(dest), force=True)
    assert trees.differences(trees.picture(str(source)), trees.picture(str(dest))) == []
    assert sorted(os.listdir(on_bindfs)) == ["dest"], "the work directory was left"
