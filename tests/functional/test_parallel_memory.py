"""What a second job running at once adds to the host command's memory: at most the cost the
scheduler counts for it (parallel.job_cost), measured as the peak memory (Pss) of the whole process
tree (Python, tar, zstd, gpg) for two 192 MiB incompressible jobs run one after the other, then at once.
moto keeps objects in memory, so this test has a server of its own."""

import os
import subprocess
import sys

import pytest
import yaml
from support.fixtures import client_for
from support.processes import MotoServer
from support.tree_memory import TreePeak
from test_host_command import CRON_ENV, MODULE

from ansible_collections.s3napback.s3napback.plugins.module_utils.parallel import job_cost
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BackupRequest

# Pss splits a shared page among every process that maps it, other tests' too: measured alone, after
# the parallel run (make pytest).
pytestmark = pytest.mark.alone

SIZE = 192 * 1024 * 1024


def peak_of_run(config, *args):
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--config", str(config), "run", *args],
        env=CRON_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreePeak(process.pid) as peak:
        out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert out.count("status=ok") == 2
    return peak


def test_a_second_parallel_job_costs_at_most_what_the_scheduler_counts(setup, tmp_path, capsys):
    config, document = setup
    for name in ("etc", "www"):
        with open(tmp_path / name / "big.bin", "wb") as handle:
            handle.write(os.urandom(SIZE))
    with MotoServer() as server:
        client_for(server.url).create_bucket(Bucket="memory")
        document["defaults"].update(endpoint_url=server.url, bucket="memory")
        config.write_text(yaml.safe_dump(document))
        one = peak_of_run(config, "--jobs", "1")
        two = peak_of_run(config, "--jobs", "2", "--force", "--force-full")
    defaults = BackupRequest(source=None, bucket="memory")
    cost_mb = job_cost(defaults.part_size, defaults.upload_concurrency) / 2**20
    added_mb = (two.kb - one.kb) / 1024
    with capsys.disabled():
        print(
            f"\nparallel memory: tree peak Pss {one.kb / 1024:.1f} MB one job at a time, {two.kb / 1024:.1f} MB"
            f" two at once (+{added_mb:.1f} MB); a job is counted as {cost_mb:.1f} MB"
        )
    assert two.most > one.most  # the second job's processes ran beside the first's
    assert added_mb <= cost_mb
