"""run_restore: point in time, keys given three ways, verify, and every failure leaving dest as it was."""

import datetime
import glob
import os

import pytest
from support import trees
from support.engine import restore_set
from support.keys import make_keys

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.scratch import secret_parent

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


def stamp(day: int) -> str:
    return (DAY + datetime.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def chain(tmp_path, make_request):
    """A full and two diffs of a small tree, with the tree's picture after each."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request = make_request(source)
    pictures, keys_made = [], []
    for day in range(3):
        if day:
            trees.change_tree(str(source), day)
        keys_made.append(run_backup(request, now=DAY + datetime.timedelta(days=day)).backup["key"])
        pictures.append(trees.picture(str(source)))
    return request, pictures, keys_made


def test_each_point_in_time_restores_its_own_tree(tmp_path, chain, keys):
    request, pictures, keys_made = chain
    for day, picture in enumerate(pictures):
        dest = tmp_path / f"at-{day}"
        outcome = restore_set(request, keys, at=stamp(day), dest=str(dest))
        assert [o["key"] for o in outcome.objects] == keys_made[: day + 1]
        assert outcome.at == stamp(day) and outcome.changed
        assert trees.differences(picture, trees.picture(str(dest))) == []
    newest = restore_set(request, keys, dest=str(tmp_path / "newest"))
    assert newest.at == stamp(2)
    by_date = restore_set(
        request, keys, at=(DAY + datetime.timedelta(days=1)).date().isoformat(), dest=str(tmp_path / "d")
    )
    assert by_date.at == stamp(1)


def test_a_private_key_given_as_text_works_and_leaves_no_keyring_behind(tmp_path, chain, keys):
    request, pictures, _keys_made = chain
    secret = keys.secret_key_text()
    keyrings = os.path.join(secret_parent(), "s3napback-restore-gpg-*")
    before = set(glob.glob(keyrings))
    restore_set(request, keys, gpg_home=None, gpg_private_key=secret, dest=str(tmp_path / "dest"))
    assert trees.differences(pictures[-1], trees.picture(str(tmp_path / "dest"))) == []
    assert set(glob.glob(keyrings)) == before


def test_a_passphrase_reaches_gpg_and_a_wrong_one_fails_cleanly(tmp_path, make_request, keys):
    # a short directory: gpg-agent's socket path must fit in 108 bytes, and pytest-xdist adds popen-gwN/
    protected = make_keys(str(tmp_path / "pk"), uid="Locked <locked@example.com>", passphrase="correct horse")
    try:
        source = tmp_path / "source"
        trees.build_tree(str(source))
        request = make_request(source, gpg_recipient=["locked@example.com"], gpg_public_key=protected.public_key)
        run_backup(request, now=DAY)
        ok = restore_set(request, protected, gpg_passphrase="correct horse", dest=str(tmp_path / "ok"))
        assert ok.changed and trees.differences(trees.picture(str(source)), trees.picture(str(tmp_path / "ok"))) == []
        protected.stop_agents()  # else the agent answers from its cache of the right passphrase
        with pytest.raises(BackupError, match=r"^gpg: host1/.*-full\.tar\.zst\.gpg: .*(Bad passphrase|No secret key)"):
            restore_set(request, protected, gpg_passphrase="wrong", dest=str(tmp_path / "bad"))
        assert not (tmp_path / "bad").exists()
        assert not [n for n in os.listdir(tmp_path) if n.startswith(".bad.restoring-")]
    finally:
        protected.stop_agents()


def test_verify_reads_the_whole_chain_and_writes_nothing(tmp_path, chain, keys):
    request, _pictures, _keys_made = chain
    outcome = restore_set(request, keys, verify=True)
    assert outcome.verified and not outcome.changed and len(outcome.objects) == 3
    assert outcome.bytes == sum(o["bytes"] for o in outcome.objects) > 0


def test_paths_restore_only_those_members(tmp_path, chain, keys):
    request, pictures, _keys_made = chain
    dest = tmp_path / "some"
    restore_set(request, keys, dest=str(dest), paths=["etc/app.conf", "data/name with spaces.txt"])
    restored = trees.picture(str(dest))
    assert set(restored) >= {b"etc/app.conf", b"data/name with spaces.txt"}
    assert not [p for p in restored if p.startswith((b"bin", b"new-"))]
    assert restored[b"etc/app.conf"] == pictures[-1][b"etc/app.conf"]
    with pytest.raises(
        BackupError, match=r"^restore: nope\.txt is in no backup of this chain \(from .*-full\.tar\.zst\.gpg\)$"
    ):
        restore_set(request, keys, dest=str(tmp_path / "none"), paths=["nope.txt"])


def test_check_mode_lists_the_chain_and_touches_nothing(tmp_path, chain, keys):
    request, _pictures, keys_made = chain
    outcome = restore_set(request, keys, check_mode=True, dest=str(tmp_path / "planned"), at=stamp(1))
    assert [o["key"] for o in outcome.objects] == keys_made[:2] and not (tmp_path / "planned").exists()


def test_a_non_empty_dest_needs_force_and_force_replaces_it(tmp_path, chain, keys):
    request, pictures, _keys_made = chain
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")
    with pytest.raises(BackupError, match=r"^restore: dest .*/busy is not empty; set force to replace its contents$"):
        restore_set(request, keys, dest=str(dest))
    assert (dest / "stale.txt").read_text() == "old"
    restore_set(request, keys, dest=str(dest), force=True)
    assert trees.differences(pictures[-1], trees.picture(str(dest))) == []


def _dest_untouched(tmp_path, name):
    dest = tmp_path / name
    return not dest.exists() and not [n for n in os.listdir(tmp_path) if n.startswith(f".{name}.restoring-")]


def test_a_damaged_object_is_named_and_dest_is_untouched(tmp_path, chain, keys, s3, bucket):
    request, _pictures, keys_made = chain
    data = bytearray(s3.get_object(Bucket=bucket, Key=keys_made[1])["Body"].read())
    data[len(data) // 2] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=keys_made[1], Body=bytes(data))
    with pytest.raises(BackupError, match=rf"^restore: {keys_made[1]} is damaged: its SHA-256 differs"):
        restore_set(request, keys, dest=str(tmp_path / "dest"))
    assert _dest_untouched(tmp_path, "dest")
    with pytest.raises(BackupError, match="is damaged"):
        restore_set(request, keys, verify=True)


def test_a_missing_diff_breaks_the_chain_clearly(tmp_path, chain, keys, s3, bucket):
    request, _pictures, keys_made = chain
    s3.delete_object(Bucket=bucket, Key=keys_made[1])
    with pytest.raises(BackupError, match=rf"^restore: the chain is broken: {keys_made[2]} depends on {keys_made[1]}"):
        restore_set(request, keys, dest=str(tmp_path / "dest"))
    assert _dest_untouched(tmp_path, "dest")


def test_a_keyring_without_the_secret_key_fails_naming_the_object(tmp_path, chain, keys):
    request, _pictures, keys_made = chain
    with pytest.raises(BackupError, match=rf"^gpg: {keys_made[0]}: decryption failed: No secret key$"):
        restore_set(request, keys, gpg_home=keys.public_home, dest=str(tmp_path / "dest"))
    assert _dest_untouched(tmp_path, "dest")


def test_a_set_whose_full_is_gone_says_so(tmp_path, chain, keys, s3, bucket):
    request, _pictures, keys_made = chain
    for key in (keys_made[0], keys_made[0] + ".json"):
        s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(BackupError, match=r"^restore: there is no full backup in \S+$"):
        restore_set(request, keys, dest=str(tmp_path / "dest"))
    assert _dest_untouched(tmp_path, "dest")


def test_nothing_at_or_before_the_time_asked(tmp_path, chain, keys):
    request, _pictures, _keys_made = chain
    with pytest.raises(
        BackupError, match=r"^restore: there is no full backup in .* at or before 2026-12-30T23:59:59Z$"
    ):
        restore_set(request, keys, at="2026-12-30", dest=str(tmp_path / "dest"))
    with pytest.raises(BackupError, match=r"^config: at 'yesterday' is not an ISO 8601 date or timestamp"):
        restore_set(request, keys, at="yesterday", dest=str(tmp_path / "dest"))
    assert _dest_untouched(tmp_path, "dest")
