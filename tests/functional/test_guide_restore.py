"""The guide's restore by hand, run exactly as docs/guide/restore-by-hand.md prints it: the
chain of a full and two diffs, streamed with examples/s3cat.py through gpg, zstd and tar,
gives back the source tree; the SHA-256 check names a damaged object and only that one."""

import datetime
import os
import subprocess
import sys

import pytest
from support import trees
from support.fixtures import ACCESS_KEY, SECRET_KEY
from support.manual_restore import chain_keys
from support.markdown_blocks import runnable_blocks

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCKS = runnable_blocks(os.path.join(ROOT, "docs", "guide", "restore-by-hand.md"))
DAY = datetime.datetime(2026, 11, 16, 3, 15, tzinfo=datetime.timezone.utc)


@pytest.fixture
def chain(tmp_path, make_request, s3, bucket):
    """A full and two diffs of a changing tree: (their keys, the tree's picture after the last)."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    for day in range(3):
        if day:
            trees.change_tree(str(source), day)
        run_backup(request, now=DAY + datetime.timedelta(days=day))
    keys = chain_keys(s3, bucket, f"host1/{request.set_name}/")
    assert [key.rsplit("-", 1)[-1] for key in keys] == ["full.tar.zst.gpg", "diff.tar.zst.gpg", "diff.tar.zst.gpg"]
    return keys, trees.picture(str(source))


def run_block(name, moto, keys, **variables):
    """The guide's block ``name`` in bash from the checkout, as the operator: the secret keyring as
    GNUPGHOME, S3 credentials and the endpoint in the environment variables boto3 reads, and this
    virtualenv first on PATH, as if activated (s3cat.py's python3 needs boto3)."""
    environment = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        "GNUPGHOME": keys.secret_home,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto.url,
        **variables,
    }
    return subprocess.run(
        ["bash", "-c", BLOCKS[name]], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def damage(s3, bucket, key):
    """Flip one byte in the middle of the stored object ``key``, as a failing disk would."""
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))


def test_the_guide_has_the_blocks_this_test_runs():
    assert set(BLOCKS) == {"check", "restore", "find", "one-file"}


def test_the_guides_commands_restore_the_chain_as_the_source_was(tmp_path, moto, bucket, keys, chain):
    object_keys, picture = chain
    dest = tmp_path / "restored"
    done = run_block("restore", moto, keys, BUCKET=bucket, KEYS="\n".join(object_keys), DEST=str(dest))
    assert done.returncode == 0, done.stderr
    assert trees.differences(picture, trees.picture(str(dest))) == []


def test_the_guides_check_is_silent_on_sound_objects_and_names_a_damaged_one(moto, s3, bucket, keys, chain):
    object_keys, _picture = chain
    sound = run_block("check", moto, keys, BUCKET=bucket, KEYS="\n".join(object_keys))
    assert (sound.returncode, sound.stdout) == (0, ""), sound.stderr

    damaged = object_keys[1]
    damage(s3, bucket, damaged)
    found = run_block("check", moto, keys, BUCKET=bucket, KEYS="\n".join(object_keys))
    assert found.stdout == f"damaged: {damaged}\n", found.stderr


def test_the_guides_restore_stops_at_a_damaged_object(tmp_path, moto, s3, bucket, keys, chain):
    object_keys, _picture = chain
    damaged = object_keys[1]
    damage(s3, bucket, damaged)
    done = run_block("restore", moto, keys, BUCKET=bucket, KEYS="\n".join(object_keys), DEST=str(tmp_path / "r"))
    assert f"stopped at {damaged}\n" in done.stderr


def test_the_guides_one_file_commands_find_the_newest_copy_and_extract_it(tmp_path, moto, bucket, keys, chain):
    """etc/app.conf changes every day: each backup's index lists it, and the last one extracts it."""
    object_keys, picture = chain
    found = run_block("find", moto, keys, BUCKET=bucket, KEYS="\n".join(object_keys), FILE="etc/app.conf")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert [line.split()[0] for line in lines] == object_keys  # a full and two diffs, each stored it
    assert all(line.endswith('"./etc/app.conf"') for line in lines)
    holder = lines[-1].split()[0]
    dest = tmp_path / "one"
    extracted = run_block("one-file", moto, keys, BUCKET=bucket, HOLDER=holder, FILE="etc/app.conf", DEST=str(dest))
    assert extracted.returncode == 0, extracted.stderr
    assert trees.picture(str(dest))[b"etc/app.conf"] == picture[b"etc/app.conf"]


def test_the_guides_commands_follow_a_backup_of_several_volumes(tmp_path, make_request, moto, s3, bucket, keys):
    """A full longer than its part: s3cat.py streams its volumes after it, so the same check and
    restore blocks give it back; with a volume gone, the restore stops at that backup."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(11 * 1024 * 1024))
    request = make_request(source, part_size=5 * 1024 * 1024)
    key = run_backup(request, now=DAY).backup["key"]
    assert chain_keys(s3, bucket, f"host1/{request.set_name}/") == [key]
    assert {f"{key}~00002", f"{key}~00003"} <= {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    sound = run_block("check", moto, keys, BUCKET=bucket, KEYS=key)
    assert (sound.returncode, sound.stdout) == (0, ""), sound.stderr
    dest = tmp_path / "restored"
    done = run_block("restore", moto, keys, BUCKET=bucket, KEYS=key, DEST=str(dest))
    assert done.returncode == 0, done.stderr
    assert trees.differences(trees.picture(str(source)), trees.picture(str(dest))) == []
    s3.delete_object(Bucket=bucket, Key=f"{key}~00003")  # the last: no gap in what is left
    gap = run_block("restore", moto, keys, BUCKET=bucket, KEYS=key, DEST=str(tmp_path / "gap"))
    assert f"volume 3 of {key} is missing" in gap.stderr and f"stopped at {key}\n" in gap.stderr
