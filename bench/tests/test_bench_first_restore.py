"""bench/first_restore.py sums the CPU of a restore's process tree by command name."""

from __future__ import annotations

import os
import sys

import pytest

from bench.first_restore import by_name, processes, sampled, tree_of

TABLE = {
    1: (0, "init", 9.0),
    10: (1, "python", 1.5),  # the restore
    11: (10, "gpg", 0.75),
    12: (10, "zstd", 1.0),
    13: (10, "tar", 3.25),
    14: (13, "tar", 0.25),  # a child of tar's, still tar
    20: (1, "s3rver", 4.0),  # not the restore's
}


def test_the_tree_of_a_process_is_it_and_its_descendants_only():
    assert tree_of(10, TABLE) == {
        10: ("python", 1.5),
        11: ("gpg", 0.75),
        12: ("zstd", 1.0),
        13: ("tar", 3.25),
        14: ("tar", 0.25),
    }
    assert tree_of(99, TABLE) == {}


def test_cpu_is_summed_by_name_most_first():
    assert list(by_name(tree_of(10, TABLE)).items()) == [("tar", 3.5), ("python", 1.5), ("zstd", 1.0), ("gpg", 0.75)]


def test_this_process_is_in_the_table_with_its_parent():
    table = processes()
    parent, _name, cpu = table[os.getpid()]
    assert parent == os.getppid() and cpu >= 0


def test_a_sampled_command_reports_its_own_cpu_and_a_failure_raises():
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    wall, cpu = sampled([sys.executable, "-c", burn], dict(os.environ), os.getcwd())
    assert wall >= 0.3 and cpu[os.path.basename(sys.executable)[:15]] >= 0.2
    with pytest.raises(RuntimeError, match=r"^exit 3"):
        sampled([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ), os.getcwd())
