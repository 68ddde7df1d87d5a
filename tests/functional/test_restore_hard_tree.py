"""run_restore on a tree that is hard on GNU tar (odd names, links, holes, odd modes, long paths),
as of every backup of a chain whose diffs delete, rename, re-create and retype entries."""

import os

import pytest
from support import hard_tree
from support.hard_chain import STEPS, make_hard_chain, stamp
from support.trees import differences, picture

from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import run_restore


@pytest.fixture
def chain(tmp_path, make_request):
    source = tmp_path / "source"
    return make_hard_chain(source, make_request(source, diffs=6))


def restore_request(chain, bucket, keys, **fields):
    return chain.restore_request(bucket, keys, **fields)


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


@pytest.fixture(params=[True, False], ids=["index", "whole-chain"])
def index(request):
    """Paths restores both ways: through the file indexes, and applying the whole chain."""
    return request.param


def restore_paths(tmp_path, chain, bucket, keys, wanted, index=True):
    """Restore ``wanted`` (bytes paths) as of the newest backup; the restored tree's picture."""
    dest = tmp_path / "partial"
    paths = [os.fsdecode(p) for p in wanted]
    outcome = run_restore(restore_request(chain, bucket, keys, dest=str(dest), paths=paths, index=index))
    assert outcome.method == ("index" if index else "chain")
    read = [o["key"] for o in outcome.objects]
    assert read == (sorted(set(read)) if index else chain.keys_made) and chain.keys_made[-1] in read
    assert not [n for n in os.listdir(tmp_path) if ".restoring-" in n]
    return picture(str(dest))


def assert_only(restored, chain, wanted):
    """Exactly ``wanted``, what lies below those that are directories, and all their ancestors."""
    newest = chain.pictures[STEPS]
    below = {p for p in newest for w in wanted if p.startswith(w + b"/")}
    parents = {p[:i] for p in set(wanted) | below for i in range(len(p)) if p[i : i + 1] == b"/"}
    assert set(restored) == set(wanted) | below | parents
    for path in set(wanted) | below:
        assert restored[path] == newest[path], path


def test_paths_restore_only_those_members_and_their_parents(tmp_path, chain, bucket, keys, index):
    """Selected members are found across the chain (in the full or a later diff) and nothing else
    comes out; parents tar had to create count as restored, their other entries do not."""
    wanted = [b" leading and trailing space ", b"read-only dir/kept", b"private", b"-leading-dash"]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, wanted, index), chain, wanted)


def test_paths_with_a_name_that_is_not_utf8_restores_it(tmp_path, chain, bucket, keys, index):
    """A path given as a str with surrogate escapes (os.fsdecode) names the member's exact bytes."""
    dest = tmp_path / "partial"
    wanted = hard_tree.NOT_UTF8_FILE
    run_restore(restore_request(chain, bucket, keys, dest=str(dest), paths=[os.fsdecode(wanted)], index=index))
    restored = picture(str(dest))
    assert set(restored) == {wanted}
    assert restored[wanted] == chain.pictures[STEPS][wanted]


def test_paths_below_a_directory_renamed_by_a_later_diff(tmp_path, chain, bucket, keys, index):
    """A diff records a directory rename, not the unchanged files below it: the member must still be
    found under its old name in earlier archives."""
    wanted = [b"renamed dir\nwith newline/file with  two  spaces.txt", b"plain moved/conf.ini"]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, wanted, index), chain, wanted)


def test_paths_deleted_before_at_are_not_restored(tmp_path, chain, bucket, keys, index):
    """plain/conf.ini is in the full but was deleted by the diff at step 1: as of step 1 it does not
    exist, so restoring it must fail, not bring back the full's copy. The index says when."""
    assert b"plain/conf.ini" in chain.pictures[0] and b"plain/conf.ini" not in chain.pictures[1]
    dest = tmp_path / "partial"
    request = restore_request(chain, bucket, keys, at=stamp(1), dest=str(dest), paths=["plain/conf.ini"], index=index)
    said = (
        rf"plain/conf\.ini was deleted before {stamp(1)}; last in {chain.keys_made[0]}"
        if index
        else r"not in the backup at that time: plain/conf\.ini"
    )
    with pytest.raises(BackupError, match=rf"^restore: {said}$"):
        run_restore(request)
    assert not dest.exists()


@pytest.mark.parametrize("wanted", [b"zero", b"empty"], ids=["file-became-dir", "dir-became-file"])
def test_paths_whose_type_changed(tmp_path, chain, bucket, keys, wanted, index):
    """At step 3 a file was replaced by a directory of the same name, and a directory by a file."""
    assert chain.pictures[0][wanted][0] != chain.pictures[STEPS][wanted][0]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, [wanted], index), chain, [wanted])


def test_paths_naming_one_name_of_a_hard_linked_file(tmp_path, chain, bucket, keys, index):
    """tar stores the later names of a file as links to the first one it met; restoring only such a
    name must still give the file (the names tar met first are not asked for, so not restored)."""
    wanted = [b"hard/sub dir/three"]
    assert_only(restore_paths(tmp_path, chain, bucket, keys, wanted, index), chain, wanted)


def test_paths_of_every_odd_kind_come_out_as_a_whole_chain_restore_gives_them(tmp_path, chain, bucket, keys):
    """Through the index or the whole chain, the same tree: a sparse file (its holes too), symlinks,
    a path deeper than 255 bytes below a directory renamed at step 2, a long name, hard links whose
    first name changed, a directory of mode 000 at first, names with a newline and not UTF-8."""
    wanted = [
        b"sparse.img",
        b"links",
        b"/".join([*hard_tree.DEEP[:2], b"renamed-" + hard_tree.DEEP[2]]),
        hard_tree.LONG_NAME[:-1] + b"!",
        b"hard",
        b"modes",
        b"renamed dir\nwith newline",
        b"new-\xc3\x28-1",
    ]
    paths = [os.fsdecode(path) for path in wanted]
    pictures, groups = [], []
    for index in (True, False):
        dest = tmp_path / f"restored-{index}"
        outcome = run_restore(restore_request(chain, bucket, keys, dest=str(dest), paths=paths, index=index))
        assert outcome.method == ("index" if index else "chain")
        pictures.append(picture(str(dest)))
        groups.append(hard_tree.hard_link_groups(str(dest)))
        sparse = os.stat(dest / "sparse.img")
        assert sparse.st_blocks * 512 < sparse.st_size // 100, f"index={index}: the holes were filled"
    assert differences(pictures[1], pictures[0]) == []
    assert (
        groups[0] == groups[1] == {frozenset({b"hard/one", b"hard/two renamed", b"hard/sub dir/three", b"hard/four"})}
    )
    assert_only(pictures[0], chain, wanted)
