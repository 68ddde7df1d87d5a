"""bench/measure.py counts what the benchmark's tables claim: the memory and CPU of a whole process
tree (a shell pipeline, not just its first process), the peak of a temporary directory that is empty
again at the end, and the command's exit status."""

import os
import shutil
import subprocess
import sys

import pytest

from bench.measure import drop_page_cache, evict_page_cache, run_measured

MB = 1 << 20
HOLD = "import sys, time; held = bytearray(b'x') * ({mb} * 1024 * 1024); time.sleep(1)"
SPIN = "import time; end = time.process_time() + 0.6\nwhile time.process_time() < end: pass"


def test_memory_and_cpu_of_every_process_in_the_tree_are_counted(tmp_path):
    script = f'"$PY" -c "{HOLD.format(mb=120)}" & "$PY" -c "{HOLD.format(mb=80)}" & "$PY" -c "$SPIN"; wait; exit 3'
    env = {**os.environ, "PY": sys.executable, "SPIN": SPIN}
    measured = run_measured(["bash", "-c", script], env=env, cwd=str(tmp_path))
    assert measured.returncode == 3
    assert measured.peak_rss_bytes >= 200 * MB  # both holders at once: neither alone reaches it
    assert measured.cpu_s >= 0.6  # the spinner is a grandchild's child, reaped by bash


def test_the_peak_of_a_temporary_directory_is_kept_after_it_is_emptied(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = 'head -c 30000000 /dev/urandom > "$T/blob"; sleep 0.5; rm "$T/blob"; echo done; echo oops >&2'
    measured = run_measured(["bash", "-c", script], env={**os.environ, "T": str(scratch)}, watch_dirs=[str(scratch)])
    assert measured.peak_temp_bytes >= 30_000_000
    assert list(scratch.iterdir()) == []
    assert (measured.returncode, measured.stdout, measured.stderr) == (0, "done\n", "oops\n")


def _cached_bytes(path) -> int:
    return int(
        subprocess.run(
            ["fincore", "--bytes", "--noheadings", "-o", "RES", str(path)], capture_output=True, text=True, check=True
        ).stdout
    )


def _on_tmpfs(path) -> bool:
    kind = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=True)
    return kind.stdout.strip() == "tmpfs"


@pytest.mark.skipif(not shutil.which("fincore"), reason="needs util-linux's fincore")
def test_the_files_under_the_roots_leave_the_page_cache_and_no_other(tmp_path):
    if _on_tmpfs(tmp_path):
        pytest.skip("a tmpfs file's pages are its storage: they are never evicted")
    (tmp_path / "s3" / "bucket").mkdir(parents=True)
    stored, other = tmp_path / "s3" / "bucket" / "object", tmp_path / "other"
    for path in (stored, other):
        path.write_bytes(os.urandom(4 * MB))
        path.read_bytes()
    assert _cached_bytes(stored) > 0 and _cached_bytes(other) > 0
    assert evict_page_cache([str(tmp_path / "s3")]) == 4 * MB
    assert _cached_bytes(stored) == 0
    assert _cached_bytes(other) > 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("fincore"), reason="needs root and util-linux's fincore")
def test_a_file_just_read_is_no_longer_in_the_page_cache_once_it_is_dropped(tmp_path):
    if _on_tmpfs(tmp_path):
        pytest.skip("a tmpfs file's pages are its storage: they are never dropped")
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(4 * MB))
    blob.read_bytes()
    assert _cached_bytes(blob) > 0
    assert drop_page_cache()
    assert _cached_bytes(blob) == 0


def test_the_wall_time_ends_when_the_command_does_not_at_the_next_sample():
    measured = run_measured(["true"], interval_s=5)
    assert measured.returncode == 0
    assert measured.wall_s < 2.5  # found by the sampling loop, it would be 5 s
