"""Each directory backup's file index: ls as of every backup gives the tree as it was, find gives
every version of a path and when it stopped existing, a paths restore reads only the objects that
hold the paths (never a data object for ls and find), and a missing, damaged or foreign index
fails with one line unless the user asks for the whole chain."""

import datetime
import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
from support import hard_tree, trees
from support.faulty_proxy import FaultyProxy
from support.fixtures import ACCESS_KEY, SECRET_KEY, bucket_contents
from support.hard_chain import DAY, STEPS, make_hard_chain, stamp
from support.host_config import write_host_config
from support.keys import make_keys

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.browse import (
    BrowseRequest,
    find_versions,
    list_tree,
)
from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import describe_bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.chain_index import _states
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.file_index import display
from ansible_collections.s3napback.s3napback.plugins.module_utils.index_reader import read_chain
from ansible_collections.s3napback.s3napback.plugins.module_utils.point_in_time import chain_at
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import RestoreRequest
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import run_restore
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket, Connection

MIB = 1024 * 1024
MODULE = "ansible_collections.s3napback.s3napback.plugins.module_utils.host_command"


@pytest.fixture
def chain(tmp_path, make_request):
    source = tmp_path / "source"
    return make_hard_chain(source, make_request(source, diffs=6))


def browse(chain, bucket, keys, connection=None, **fields):
    connection = connection or chain.connection
    return BrowseRequest(bucket, chain.name, connection, "host1", gpg_home=keys.secret_home, **fields)


def shown(entry) -> tuple:
    """An ls entry as support.hard_chain.listing() pictures a path."""
    target = entry.get("target")
    mtime = datetime.datetime.strptime(entry["mtime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return (entry["type"], entry["size"], int(mtime.timestamp()), target)


def test_ls_as_of_each_backup_gives_the_tree_as_it_was(chain, bucket, keys):
    for step in range(STEPS + 1):
        tree = list_tree(browse(chain, bucket, keys, at=stamp(step)))
        assert tree["at"] == stamp(step) and tree["backup"] == chain.keys_made[step]
        listed = {entry["path"]: shown(entry) for entry in tree["files"]}
        expected = chain.listings[step]
        # names that are not UTF-8 (or not printable) are shown with tar's octal escapes
        assert sorted(listed) == sorted(display(path) for path in expected), f"step {step}"
        for path, (kind, size, mtime, target) in expected.items():
            picture = (kind, size, mtime, display(target) if target is not None else None)
            assert listed[display(path)] == picture, (step, path)
        assert all(entry["backup"] in chain.keys_made[: step + 1] for entry in tree["files"])


def test_the_holders_of_some_paths_are_those_of_the_whole_trees_states(chain, bucket, keys):
    """A restore of some paths finds their holders directory by directory, back through the chain
    (ChainIndex.holders); find walks the whole tree at every backup (_states). Both must agree on
    the hard chain's renames, deletions and odd names, for the whole tree and for parts of it."""
    request = browse(chain, bucket, keys)
    s3 = Bucket.checked(request.connection, request.bucket)
    backups, manifests = chain_at(s3, request.set_prefix, request.at, None)
    with request.keys() as decryption:
        index = read_chain(s3, backups, manifests, decryption)
    renamed = set()
    for number, state in enumerate(_states(index.indexes)):
        assert index.holders(number, [b""]) == state, number
        renamed.update(path for path, holder in state.items() if holder.path != path)
        tops = sorted(state)[1::5]
        part = {
            path: holder for path, holder in state.items() if any(path == t or path.startswith(t + b"/") for t in tops)
        }
        assert index.holders(number, tops) == part, number
        assert any(holder.backup < number for holder in part.values()) or not number  # held before
        assert index.holders(number, [b"no/such/path"]) == {}
    assert renamed  # content kept under a directory's old name was among them


def test_ls_of_some_paths_and_the_backup_that_holds_each(chain, bucket, keys):
    tree = list_tree(browse(chain, bucket, keys, paths=["plain moved", "hard/four"]))
    by_path = {entry["path"]: entry for entry in tree["files"]}
    assert sorted(by_path) == [
        "hard/four",
        "plain moved",
        "plain moved/conf.ini",
        "plain moved/data renamed.bin",
        "plain moved/readme.txt",
    ]
    # plain/ was renamed at step 3: its files stay in the backups that stored them under the old name
    assert by_path["plain moved/conf.ini"]["backup"] == chain.keys_made[2]
    assert by_path["plain moved/readme.txt"]["backup"] in chain.keys_made[1:]  # its mtime is ahead of the clock
    assert by_path["hard/four"]["type"] == "file" and by_path["hard/four"]["backup"] == chain.keys_made[3]
    with pytest.raises(BackupError, match=r"^index: not in the backup of .*: nowhere$"):
        list_tree(browse(chain, bucket, keys, paths=["nowhere"]))


def test_find_gives_every_version_and_when_each_stopped_existing(chain, bucket, keys):
    found = find_versions(browse(chain, bucket, keys), "conf.ini")
    versions = [(v["path"], v["backup"], v["stored_in"], v["deleted_in"]) for v in found["versions"]]
    full, diff1, diff2, diff3 = chain.keys_made
    assert versions == [
        ("plain/conf.ini", full, full, diff1),  # deleted at step 1
        ("plain/conf.ini", diff2, diff2, diff3),  # re-created at step 2, its directory renamed at 3
        ("plain moved/conf.ini", diff3, diff2, None),
    ]
    assert found["paths"] == ["plain moved/conf.ini", "plain/conf.ini"]
    readme = find_versions(browse(chain, bucket, keys), "plain*/readme.txt")["versions"]
    assert [(v["path"], v["backup"]) for v in readme] == [
        ("plain/readme.txt", full),
        ("plain/readme.txt", diff1),  # modified at step 1
        ("plain moved/readme.txt", diff3),
    ]
    assert readme[0]["size"] < readme[1]["size"]


def test_ls_and_find_read_index_objects_only(chain, moto, bucket, keys):
    reads = []

    def record(method, path, _query):
        if method in ("GET", "HEAD") and path.count("/") > 1 and not path.endswith((".json", ".index")):
            reads.append(path)

    with FaultyProxy(moto.port, record) as proxy:
        connection = Connection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=proxy.url)
        list_tree(browse(chain, bucket, keys, connection))
        find_versions(browse(chain, bucket, keys, connection), "*")
        indexes = [p for m, p, _h in proxy.requests if m == "GET" and p.endswith(".index")]
    assert reads == [] and len(indexes) >= 2 * len(chain.keys_made)


def test_one_file_stored_in_a_diff_is_restored_without_reading_the_full(tmp_path, make_request, moto, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(24 * MIB))  # a full of several parts
    request = make_request(source, diffs=6)
    made = [run_backup(request, now=DAY).backup["key"]]
    for step in (1, 2, 3):
        if step == 2:
            trees.write(str(source / "etc" / "changed.conf"), b"changed at step 2\n" * 100)
        trees.write(str(source / f"step-{step}"), b"x")
        made.append(run_backup(request, now=DAY + datetime.timedelta(days=step)).backup["key"])
    reads = []

    def record(method, path, _query):
        if method == "GET" and path.count("/") > 1 and not path.endswith((".json", ".index")):
            reads.append(path.split("/", 2)[2])

    dest = tmp_path / "restored"
    with FaultyProxy(moto.port, record) as proxy:
        connection = Connection(ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=proxy.url)
        outcome = run_restore(
            RestoreRequest(
                bucket=bucket,
                name=request.set_name,
                prefix="host1",
                connection=connection,
                gpg_home=keys.secret_home,
                dest=str(dest),
                paths=["etc/changed.conf"],
            )
        )
    assert outcome.method == "index" and [o["key"] for o in outcome.objects] == [made[2], made[3]]
    assert sorted(set(reads)) == sorted([made[2], made[3]])  # diff 2 holds the file, diff 3 its directories
    assert made[0] not in reads
    restored = trees.picture(str(dest))
    assert set(restored) == {b"etc", b"etc/changed.conf"}
    assert restored[b"etc/changed.conf"] == trees.picture(str(source))[b"etc/changed.conf"]
    written = sum(os.lstat(os.path.join(d, f)).st_size for d, _dirs, files in os.walk(dest) for f in files)
    assert written == 1800  # the file, and nothing of the full's 24 MiB
    assert sorted(os.listdir(tmp_path)) == ["restored", "source", "state"]  # no work or staging left


def replace_index(s3, bucket, key, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key + ".index", Body=body)


@pytest.mark.parametrize("damage", ["missing", "damaged", "another key"])
def test_an_unusable_index_fails_one_line_unless_the_whole_chain_is_asked_for(
    damage, chain, tmp_path, s3, bucket, keys
):
    newest = chain.keys_made[-1]
    if damage == "missing":
        s3.delete_object(Bucket=bucket, Key=newest + ".index")
        said = (
            rf"^index: the file index {re.escape(newest)}\.index is missing \(index: false applies the whole chain\)$"
        )
    elif damage == "damaged":
        body = bytearray(s3.get_object(Bucket=bucket, Key=newest + ".index")["Body"].read())
        body[len(body) // 2] ^= 0xFF
        replace_index(s3, bucket, newest, bytes(body))
        said = rf"^index: {re.escape(newest)}\.index is damaged: its SHA-256 differs from its manifest's$"
    else:
        other = make_keys(str(tmp_path / "k"))  # short: gpg-agent's socket path must fit in 108 bytes
        plain = decrypted(s3, bucket, newest + ".index", keys)
        encrypted = subprocess.run(
            [
                "gpg",
                "--homedir",
                other.public_home,
                "--batch",
                "--trust-model",
                "always",
                "-e",
                "-r",
                "backup@example.com",
            ],
            input=plain,
            capture_output=True,
            check=True,
        ).stdout
        other.stop_agents()
        replace_index(s3, bucket, newest, encrypted)
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=newest + ".json")["Body"].read())
        manifest["index"]["sha256"] = hashlib.sha256(encrypted).hexdigest()
        s3.put_object(Bucket=bucket, Key=newest + ".json", Body=json.dumps(manifest).encode())
        said = rf"^gpg: {re.escape(newest)}\.index: .*(No secret key|decryption failed).*$"
    dest = tmp_path / "restored"
    with pytest.raises(BackupError, match=said):
        run_restore(chain.restore_request(bucket, keys, dest=str(dest), paths=["hard"]))
    assert not dest.exists()
    with pytest.raises(BackupError, match=said):
        list_tree(browse(chain, bucket, keys))
    outcome = run_restore(chain.restore_request(bucket, keys, dest=str(dest), paths=["hard"], index=False))
    assert outcome.method == "chain" and outcome.note == "index: false: the whole chain was applied"
    assert set(trees.picture(str(dest))) == {p for p in chain.pictures[STEPS] if p.startswith(b"hard")}


def decrypted(s3, bucket, key, keys) -> bytes:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return subprocess.run(
        ["gpg", "--homedir", keys.secret_home, "--batch", "--quiet", "--decrypt"],
        input=body,
        capture_output=True,
        check=True,
    ).stdout


def test_backups_made_before_indexes_restore_their_paths_the_old_way_and_say_so(chain, tmp_path, s3, bucket, keys):
    for key in chain.keys_made:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key + ".json")["Body"].read())
        del manifest["index"]
        s3.put_object(Bucket=bucket, Key=key + ".json", Body=json.dumps(manifest).encode())
        s3.delete_object(Bucket=bucket, Key=key + ".index")
    outcome = run_restore(chain.restore_request(bucket, keys, dest=str(tmp_path / "r"), paths=["private"]))
    assert outcome.method == "chain"
    assert (
        outcome.note
        == f"{chain.keys_made[0]} has no file index (made before s3napback kept them): the whole chain was applied"
    )
    assert [o["key"] for o in outcome.objects] == chain.keys_made


def test_the_index_is_compressed_encrypted_and_tar_s_own_listing(chain, s3, bucket, keys):
    """What the manifest says of it, and that it reads by hand with gpg and zstd."""
    newest = chain.keys_made[-1]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=newest + ".json")["Body"].read())
    assert manifest["index"]["key"] == newest + ".index" and manifest["index"]["format"] == 1
    body = s3.get_object(Bucket=bucket, Key=newest + ".index")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest["index"]["sha256"]
    assert b"readme" not in body  # names are as secret as contents
    plain = subprocess.run(["zstd", "-d", "-c", "-q"], input=decrypted(s3, bucket, newest + ".index", keys),
                           capture_output=True, check=True).stdout  # fmt: skip
    assert plain.startswith(b"# s3napback file index 1:")
    assert b'"./plain moved/" ' not in plain and b'"./plain moved/"\n' in plain
    assert b'"./hard/four" link to "./hard/one"\n' in plain or b'"./hard/one" link to' in plain


def test_the_host_commands_ls_find_and_restore_of_one_path(tmp_path, make_request, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    first = run_backup(request, now=DAY).backup["key"]
    trees.change_tree(str(source), 1)
    second = run_backup(request, now=DAY + datetime.timedelta(days=1)).backup["key"]
    config = write_host_config(tmp_path / "config.yml", request)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    name = request.set_name

    def host(*args):
        command = [sys.executable, "-m", MODULE, "--config", config, *args, "--gpg-home", keys.secret_home]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    listed = host("ls", name, "etc", "--at", DAY.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == f"# {name} as of {DAY.strftime('%Y-%m-%dT%H:%M:%SZ')} ({first.rsplit('/', 1)[1].split('.')[0]})"
    assert [line.split()[-1] for line in lines[1:]] == ["etc", "etc/app.conf", "etc/secret.key"]
    as_json = host("--json", "ls", name, "etc", "--at", DAY.strftime("%Y-%m-%dT%H:%M:%SZ"))
    (tree,) = json.loads(as_json.stdout)["results"]
    assert [entry["path"] for entry in tree["files"]] == ["etc", "etc/app.conf", "etc/secret.key"]
    assert tree["backup"] == first and tree["job"] == name
    found = host("find", name, "app.conf")
    assert found.returncode == 0 and len(found.stdout.splitlines()) == 2 and "etc/app.conf" in found.stdout
    nothing = host("find", name, "no-such-*")
    assert nothing.returncode == 1 and nothing.stdout == ""
    dest = tmp_path / "one"
    restored = host("--json", "restore", name, "--dest", str(dest), "--path", "etc/app.conf")
    assert restored.returncode == 0, restored.stderr
    (result,) = json.loads(restored.stdout)["results"]
    assert result["method"] == "index" and [o["key"] for o in result["objects"]] == [second]
    assert (dest / "etc" / "app.conf").read_bytes() == (source / "etc" / "app.conf").read_bytes()
    gone = host("restore", name, "--dest", str(tmp_path / "gone"), "--path", "data/empty")
    assert gone.returncode == 1
    assert gone.stderr.strip().endswith(
        f"restore: data/empty was deleted before {(DAY + datetime.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')};"
        f" last in {first}"
    )


def test_rotation_deletes_each_index_with_its_backup_and_info_names_a_lonely_or_missing_one(
    tmp_path, make_request, s3, bucket
):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source, diffs=0, fulls=1)
    first = run_backup(request, now=DAY).backup
    second = run_backup(request, now=DAY + datetime.timedelta(days=1))
    assert second.rotated == [first["manifest_key"], first["index_key"], first["key"]]
    assert bucket_contents(s3, bucket) == sorted(second.backup[k] for k in ("key", "manifest_key", "index_key"))
    s3.put_object(Bucket=bucket, Key=first["index_key"], Body=b"left behind")
    s3.delete_object(Bucket=bucket, Key=second.backup["index_key"])
    engine = Bucket(request.connection, bucket)
    problems = describe_bucket(engine, "host1", now=DAY + datetime.timedelta(days=1))["problems"]
    assert sorted(problems) == sorted(
        [
            f"host1/{request.set_name}: file index without its object: {first['index_key']}",
            f"host1/{request.set_name}: file index missing: {second.backup['index_key']}",
        ]
    )


def test_the_hard_tree_index_names_every_odd_path(chain, bucket, keys):
    """Names with newlines, invalid UTF-8, long and deep paths all come back from the index."""
    tree = list_tree(browse(chain, bucket, keys, at=stamp(0)))
    paths = {entry["path"] for entry in tree["files"]}
    assert "with\\012newline.txt" in paths and "latin1-\\351t\\351.txt" in paths
    assert any(len(path) > 255 for path in paths) and os.fsdecode(hard_tree.LONG_NAME) in paths
