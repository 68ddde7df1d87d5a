"""bench/tar_listing.py runs the listing options the engine gives tar, and each variant is a
pipeline that works: run on a small tree with real tar and zstd."""

import os
import subprocess

from ansible_collections.s3napback.s3napback.plugins.module_utils.file_index import LISTING_ENV, LISTING_OPTIONS
from bench.tar_listing import INDEX_ZSTD, variants


def test_every_variant_runs_and_the_engines_listing_options_are_measured(tmp_path):
    tree = tmp_path / "tree"
    for number in range(20):
        (tree / f"d{number % 3}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{number % 3}" / f"f{number}").write_bytes(b"x" * number)
    made = variants(str(tree), str(tmp_path / "snapshot"))
    assert all(option in made["-vv into zstd"] for option in LISTING_OPTIONS)
    assert "--single-thread" in INDEX_ZSTD and INDEX_ZSTD in made["-vv into zstd"]  # the engine's index compressor
    for name, command in made.items():
        (tmp_path / "snapshot").unlink(missing_ok=True)
        env = {"PATH": os.environ["PATH"], **LISTING_ENV}
        done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], env=env, capture_output=True, check=False)
        assert done.returncode == 0, (name, done.stderr)
        assert (tmp_path / "snapshot").stat().st_size > 0, name  # tar ran to the end
