# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The file index's compressor is a side stream: it must not hold a worker's buffers beside the
backup's own compressor (the 150 MB bar on a tree of a million files)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.compression import compressor

# The listing of a million small files compresses like this: lines that differ in a few digits.
LISTING_LINES = 400_000
PEAK = (
    "import resource, subprocess, sys, json\n"
    "argv = json.loads(sys.argv[1])\n"
    "with open(sys.argv[2], 'rb') as source:\n"
    "    subprocess.run(argv, stdin=source, stdout=subprocess.DEVNULL, check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _peak_kib(argv: list[str], listing: str) -> int:
    """The compressor's peak RSS, from a fresh parent that runs nothing else."""
    result = subprocess.run([sys.executable, "-c", PEAK, json.dumps(argv), listing], capture_output=True, check=True)
    return int(result.stdout)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs zstd")
def test_the_index_compressor_stays_on_one_thread_and_small(tmp_path):
    listing = tmp_path / "listing"
    with open(listing, "w") as handle:
        for number in range(LISTING_LINES):
            handle.write(
                f"-rw-r--r-- root/root {number % 200:>8} 2026-12-05 04:19:{number % 60:02d} ./d{number:07d}/f.txt\n"
            )
    zstd = compressor("zstd")
    side = zstd.stage(None, parallel=False)
    main = zstd.stage(None)
    assert side is not None and main is not None
    side_kib = _peak_kib(side.argv, str(listing))
    assert side_kib < 16 * 1024, f"the index's zstd peaked at {side_kib} KiB"
    assert side_kib < _peak_kib(main.argv, str(listing))
    with open(listing, "rb") as source:
        packed = subprocess.run(side.argv, stdin=source, capture_output=True, check=True).stdout
    unpacked = subprocess.run(list(zstd.decompress_argv), input=packed, capture_output=True, check=True).stdout
    assert unpacked == listing.read_bytes()
