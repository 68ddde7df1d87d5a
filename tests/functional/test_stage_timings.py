"""Per-stage timings of a real backup: each pipeline process's wall and CPU seconds (from wait4),
the upload's seconds and how the reader's time split between waiting on the pipe and the rest."""

import os

import pytest
from support import trees
from support.db_servers import PASSWORD, make_shop

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.databases import Login, MySQLSource


def assert_plausible(backup, names):
    timings = backup["timings"]
    assert [stage["stage"] for stage in timings["stages"]] == names
    for stage in timings["stages"]:
        assert 0 <= stage["wall_s"] <= backup["duration_s"], stage
        assert stage["cpu_s"] is not None and stage["cpu_s"] >= 0, stage
    upload = timings["upload"]
    assert 0 <= upload["seconds"] <= backup["duration_s"]
    assert upload["pipe_wait_s"] >= 0 and upload["upload_wait_s"] >= 0
    assert upload["pipe_wait_s"] + upload["upload_wait_s"] == pytest.approx(upload["seconds"], abs=0.002)


@pytest.mark.parametrize("compression, names", [("zstd", ["tar", "zstd", "gpg"]), ("none", ["tar", "gpg"])])
def test_a_directory_backup_times_each_stage(compression, names, tmp_path, make_request):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    trees.write(str(source / "big.bin"), os.urandom(24 * 1024 * 1024))  # enough work to cost CPU
    backup = run_backup(make_request(source, compression=compression)).backup
    assert_plausible(backup, names)
    gpg = backup["timings"]["stages"][-1]
    assert gpg["cpu_s"] > 0 and gpg["wall_s"] > 0  # it encrypted 24 MiB


def test_a_database_dump_times_mysqldump(tmp_path, make_request, mariadb):
    make_shop(mariadb)
    login = Login(unix_socket=mariadb.socket, user="backup", password=PASSWORD)
    backup = run_backup(make_request(tmp_path, source=MySQLSource("shop", login))).backup
    assert_plausible(backup, ["mysqldump", "zstd", "gpg"])
