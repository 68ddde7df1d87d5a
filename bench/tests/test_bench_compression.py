"""bench/compression.py measures the zstd command the engine runs, not a copy of it that could drift."""

from ansible_collections.s3napback.s3napback.plugins.module_utils.compression import COMPRESSORS
from bench.compression import settings


def test_the_default_setting_is_the_command_a_backup_runs():
    shipped = tuple(COMPRESSORS["zstd"].stage(None).argv)
    (default,) = [setting for setting in settings() if "the default" in setting.name]
    assert default.argv == shipped


def test_zstds_own_job_size_differs_from_the_shipped_command_only_in_the_job_size():
    shipped = COMPRESSORS["zstd"].stage(None).argv
    (own,) = [setting for setting in settings() if "own job size" in setting.name]
    assert [arg for arg in shipped if not arg.startswith("-B")] == list(own.argv) != shipped
