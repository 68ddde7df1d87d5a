"""A backup of a 2 GiB incompressible stream keeps the engine's peak RSS bounded.

The engine runs in a child process so that its peak RSS (Python alone, not tar, zstd or gpg) is its
own. It is read from VmHWM in /proc/self/status: getrusage's ru_maxrss survives exec and so counts
the pytest process the child was forked from. moto keeps objects in memory, so this test has a server of its own.
"""

import json
import os
import subprocess
import sys
import textwrap

from support.fixtures import ACCESS_KEY, SECRET_KEY, client_for
from support.processes import MotoServer

LIMIT_MB = 150
BLOCK = 64 * 1024 * 1024
BLOCKS = 32  # 2 GiB; zstd's window is far smaller than a block, so repeats do not compress


def test_a_2_gib_backup_stays_under_150_mb_of_python_memory(tmp_path, keys, capsys):
    source = tmp_path / "source"
    source.mkdir()
    block = os.urandom(BLOCK)
    with open(source / "big.bin", "wb") as handle:
        for _block in range(BLOCKS):
            handle.write(block)
    del block
    script = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
        from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BackupRequest
        from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection
        from ansible_collections.s3napback.s3napback.plugins.module_utils.sources import DirectorySource
        args = json.loads(sys.argv[2])
        outcome = run_backup(BackupRequest(
            source=DirectorySource(args["source"]), bucket="memory", prefix="h", state_dir=args["state"],
            connection=Connection(access_key=args["key"], secret_key=args["secret"], endpoint_url=args["url"],
                                  region="us-east-1"),
            gpg_recipient=["backup@example.com"], gpg_public_key=args["public_key"]))
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        print(json.dumps({"backup": outcome.backup, "peak_rss_kb": peak}))
    """)
    collections = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections")))
    with MotoServer() as server:
        client = client_for(server.url)
        client.create_bucket(Bucket="memory")
        arguments = {
            "source": str(source),
            "state": str(tmp_path / "state"),
            "url": server.url,
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "public_key": keys.public_key,
        }
        run = subprocess.run(
            [sys.executable, "-c", script, collections, json.dumps(arguments)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        key = result["backup"]["key"]
        pages = client.get_paginator("list_objects_v2").paginate(Bucket="memory", Prefix=key + "~")
        volumes = [(key, client.head_object(Bucket="memory", Key=key)["ContentLength"])]
        volumes += [(o["Key"], o["Size"]) for page in pages for o in page.get("Contents", [])]
    peak_mb = result["peak_rss_kb"] / 1024
    with capsys.disabled():
        print(
            f"\nmemory: {result['backup']['bytes_out'] / 2**30:.2f} GiB stored in "
            f"{result['backup']['duration_s']:.1f} s, engine peak RSS {peak_mb:.1f} MB (limit {LIMIT_MB} MB)"
        )
    assert result["backup"]["bytes_in"] > BLOCK * BLOCKS
    assert sum(size for _key, size in volumes) == result["backup"]["bytes_out"] > BLOCK * BLOCKS
    assert len(volumes) == -(-result["backup"]["bytes_out"] // (8 * 1024 * 1024))  # 8 MiB each, the last less
    assert peak_mb < LIMIT_MB
