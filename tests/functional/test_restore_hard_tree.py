"""run_restore on a tree that is hard on GNU tar (odd names, links, holes, odd modes, long paths),
as of every backup of a chain whose diffs delete, rename, re-create and retype entries."""

import datetime
import os
from dataclasses import dataclass

import pytest
from support import hard_tree
from support.trees import differences, picture

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import RestoreRequest, run_restore

# The first day of a 7-day cycle (days count from 1970-01-01), so the first backup is a full.
DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)
STEPS = 3  # diffs after the full


def stamp(step: int) -> str:
    return (DAY + datetime.timedelta(days=step)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class HardChain:
    name: str
    connection: object
    keys_made: list  # data keys, full first
    pictures: list  # the source's picture after each backup
    groups: list  # the source's hard-link groups after each backup


@pytest.fixture
def chain(tmp_path, make_request):
    """A full of the hard tree and a diff after each of its changes, with what the source was at each."""
    source = tmp_path / "source"
    hard_tree.build_hard_tree(str(source))
    request = make_request(source, diffs=6)
    keys_made, pictures, groups = [], [], []
    for step in range(STEPS + 1):
        if step:
            hard_tree.change_hard_tree(str(source), step)
        outcome = run_backup(request, now=DAY + datetime.timedelta(days=step))
        assert outcome.changed and outcome.backup["kind"] == ("full" if step == 0 else "diff")
        assert outcome.backup["tar_warnings"] == []
        keys_made.append(outcome.backup["key"])
        pictures.append(picture(str(source)))
        groups.append(hard_tree.hard_link_groups(str(source)))
    return HardChain(outcome.backup_set["name"], request.connection, keys_made, pictures, groups)


def restore_request(chain, bucket, keys, **fields):
    return RestoreRequest(
        bucket=bucket, name=chain.name, prefix="host1", connection=chain.connection, gpg_home=keys.secret_home, **fields
    )


def test_the_hard_tree_is_as_hard_as_it_claims(tmp_path):
    """Guards the generator: if an odd entry silently went missing, the restore tests would prove less."""
    root = str(tmp_path / "tree")
    hard_tree.build_hard_tree(root)
    seen = picture(root)
    assert b"with\nnewline.txt" in seen and hard_tree.NOT_UTF8_FILE in seen
    assert any(len(path) > 255 for path in seen) and hard_tree.LONG_NAME in seen
    assert seen[b"modes/all"][1] == 0o7777 and seen[b"modes/none"][1] == 0o000
    assert seen[b"private"][:2] == ("dir", 0o700)
    assert seen[b"links/dangling"][0] == "link" and not os.path.exists(os.path.join(root, "links/dangling"))
    assert hard_tree.hard_link_groups(root) == {frozenset({b"hard/one", b"hard/two", b"hard/sub dir/three"})}
    sparse = os.stat(os.path.join(root, "sparse.img"))
    assert sparse.st_size == hard_tree.SPARSE_SIZE and sparse.st_blocks * 512 < sparse.st_size // 100
    for step in range(1, STEPS + 1):  # every step changes something
        before = picture(root)
        hard_tree.change_hard_tree(root, step)
        assert differences(before, picture(root)) != []


def test_restore_as_of_each_backup_gives_the_tree_as_it_was(tmp_path, chain, bucket, keys):
    """Each restore replays the full and the diffs up to ``at``: deletions, renames and type changes
    included, with modes, owners, mtimes, link targets, hard links and holes."""
    for step in range(STEPS + 1):
        dest = tmp_path / f"restore-{step}"
        outcome = run_restore(restore_request(chain, bucket, keys, at=stamp(step), dest=str(dest)))
        assert [o["key"] for o in outcome.objects] == chain.keys_made[: step + 1]
        assert outcome.at == stamp(step) and outcome.changed and not outcome.verified
        assert differences(chain.pictures[step], picture(str(dest))) == [], f"step {step}"
        assert hard_tree.hard_link_groups(str(dest)) == chain.groups[step], f"step {step}"
        sparse = os.stat(dest / "sparse.img")  # tar --sparse at backup: the holes come back as holes
        assert sparse.st_size == hard_tree.SPARSE_SIZE
        assert sparse.st_blocks * 512 < sparse.st_size // 100, f"step {step}: {sparse.st_blocks} blocks"
        assert not [n for n in os.listdir(tmp_path) if ".restoring-" in n]  # no work directory left behind


def test_verify_reads_every_object_of_the_chain_and_writes_nothing(tmp_path, chain, bucket, keys):
    """verify lists each archive through gpg, zstd and tar, so odd member names must not trip it."""
    before = sorted(os.listdir(tmp_path))
    outcome = run_restore(restore_request(chain, bucket, keys, verify=True))
    assert outcome.verified and not outcome.changed and outcome.dest is None
    assert [o["key"] for o in outcome.objects] == chain.keys_made
    assert outcome.at == stamp(STEPS)
    assert sorted(os.listdir(tmp_path)) == before


def restore_paths(tmp_path, chain, bucket, keys, wanted):
    """Restore ``wanted`` (bytes paths) as of the newest backup; the restored tree's picture."""
    dest = tmp_path / "partial"
    paths = [os.fsdecode(p) for p in wanted]
    outcome = run_restore(restore_request(chain, bucket, keys, dest=str(dest), paths=paths))
    assert [o["key"] for o in outcome.objects] == chain.keys_made
    return picture(str(dest))


def assert_only(restored, chain, wanted):
    """Exactly ``wanted``, what lies below those that are directories, and all their ancestors."""
    newest = chain.pictures[STEPS]
    below = {p for p in newest for w in wanted if p.startswith(w + b"/")}
    parents = {p[:i] for p in set(wanted) | below for i in range(len(p)) if p[i : i + 1] == b"/"}
    assert set(restored) == set(wanted) | below | parents
    for path in set(wanted) | below:
        assert restored[path] == newest[path], path


def test_paths_restore_only_those_members_and_their_parents(tmp_path, chain, bucket, keys):
    """Selected members are found across the chain (in the full or a later diff) and nothing else
    comes out; parents tar had to create count as restored, their other entries do not."""
    wanted = [b" leading and trailing space ", b"read-only dir/kept", b"private", b"-leading-dash"]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, wanted), chain, wanted)


def test_paths_with_a_name_that_is_not_utf8_restores_it(tmp_path, chain, bucket, keys):
    """A path given as a str with surrogate escapes (os.fsdecode) names the member's exact bytes."""
    dest = tmp_path / "partial"
    wanted = hard_tree.NOT_UTF8_FILE
    run_restore(restore_request(chain, bucket, keys, dest=str(dest), paths=[os.fsdecode(wanted)]))
    restored = picture(str(dest))
    assert set(restored) == {wanted}
    assert restored[wanted] == chain.pictures[STEPS][wanted]


# With member names, tar extracts only what matches them: it skips the records of the parent
# directories in each diff (which entries they hold, renames, type changes) and the first name of a
# hard-linked file. The tests below need those; they failed as of writing (engine, not test, issue).


def test_paths_below_a_directory_renamed_by_a_later_diff(tmp_path, chain, bucket, keys):
    """A diff records a directory rename, not the unchanged files below it: the member must still be
    found under its old name in earlier archives."""
    wanted = [b"renamed dir\nwith newline/file with  two  spaces.txt", b"plain moved/conf.ini"]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, wanted), chain, wanted)


def test_paths_deleted_before_at_are_not_restored(tmp_path, chain, bucket, keys):
    """plain/conf.ini is in the full but was deleted by the diff at step 1: as of step 1 it does not
    exist, so restoring it must fail, not bring back the full's copy."""
    assert b"plain/conf.ini" in chain.pictures[0] and b"plain/conf.ini" not in chain.pictures[1]
    dest = tmp_path / "partial"
    request = restore_request(chain, bucket, keys, at=stamp(1), dest=str(dest), paths=["plain/conf.ini"])
    with pytest.raises(BackupError, match=r"^restore: not in the backup at that time: plain/conf\.ini$"):
        run_restore(request)
    assert not dest.exists()


@pytest.mark.parametrize("wanted", [b"zero", b"empty"], ids=["file-became-dir", "dir-became-file"])
def test_paths_whose_type_changed(tmp_path, chain, bucket, keys, wanted):
    """At step 3 a file was replaced by a directory of the same name, and a directory by a file."""
    assert chain.pictures[0][wanted][0] != chain.pictures[STEPS][wanted][0]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, [wanted]), chain, [wanted])


def test_paths_naming_one_name_of_a_hard_linked_file(tmp_path, chain, bucket, keys):
    """tar stores the later names of a file as links to the first one it met; restoring only such a
    name must still give the file (the names tar met first are not asked for, so not restored)."""
    wanted = [b"hard/sub dir/three"]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, wanted), chain, wanted)
