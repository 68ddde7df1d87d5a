"""bench/fresh_fs.py gives every restore a new file system, so that a restore's time does not depend
on how many files were deleted before it; without root it says the restores went to the disk."""

import os

import pytest

from bench.fresh_fs import FRESH, FreshFilesystems, restore_fs_bytes


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a file system needs root (CI runs as root)")
def test_each_restore_gets_a_new_empty_file_system_that_goes_away_after(tmp_path):
    filesystems = FreshFilesystems()
    where = str(tmp_path / "restore-1")
    with filesystems.make(where, 64 << 20) as mounted:
        if filesystems.place != FRESH:  # a container without loop devices: the fallback test covers it
            pytest.skip(filesystems.place)
        assert os.path.ismount(mounted)
        assert os.stat(mounted).st_dev != os.stat(tmp_path).st_dev
        assert os.listdir(mounted) == ["lost+found"]
        with open(os.path.join(mounted, "file"), "wb") as handle:
            handle.write(b"x" * 4096)
    assert not os.path.exists(where)
    assert not os.path.exists(where + ".ext4")
    assert filesystems.place == FRESH


def test_without_mkfs_the_restores_go_to_the_work_directory_and_the_report_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    filesystems = FreshFilesystems()
    where = str(tmp_path / "restore-1")
    with filesystems.make(where, 64 << 20) as directory:
        assert os.path.isdir(directory)
        assert not os.path.ismount(directory)
    assert not os.path.exists(where)
    assert not os.path.exists(where + ".ext4")
    assert filesystems.place.startswith("the work directory's file system (mkfs.ext4 failed: ")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a file system needs root (CI runs as root)")
def test_a_restore_stays_far_below_the_half_of_free_space_where_ext4_starts_flushing(tmp_path):
    data = 128 << 20
    filesystems = FreshFilesystems()
    with filesystems.make(str(tmp_path / "restore-1"), restore_fs_bytes(data)) as mounted:
        if filesystems.place != FRESH:
            pytest.skip(filesystems.place)
        usage = os.statvfs(mounted)
        free = usage.f_bfree * usage.f_frsize
    grown_chain = data * 12 // 10  # the chain restore's tree after six rounds of change, and some
    assert grown_chain < free // 3
