"""A restore of a 512 MiB incompressible object, read as parallel ranges, keeps the engine's peak RSS
bounded: the ranges in flight reuse their buffers whatever the object's size.

As in test_memory.py, the engine runs in a child process and its peak RSS is VmHWM from
/proc/self/status; the backup is made by this process into a moto server of the test's own.
"""

import datetime
import json
import os
import subprocess
import sys
import textwrap

from support import trees
from support.fixtures import client_for
from support.processes import MotoServer

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup

LIMIT_MB = 150
BLOCK = 64 * 1024 * 1024
BLOCKS = 8  # 512 MiB; zstd's window is far smaller than a block, so repeats do not compress
DAY = datetime.datetime(2026, 12, 10, 3, tzinfo=datetime.timezone.utc)

RESTORE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.s3napback.s3napback.plugins.module_utils.request import RestoreRequest
    from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import run_restore
    from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection
    args = json.load(sys.stdin)  # not argv: it holds the credentials
    outcome = run_restore(RestoreRequest(
        bucket=args["bucket"], name=args["name"], prefix="host1", dest=args["dest"], gpg_home=args["gpg_home"],
        connection=Connection(**args["connection"])))
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"bytes": outcome.bytes, "peak_rss_kb": peak}))
""")


def test_a_512_mib_restore_stays_under_150_mb_of_python_memory(tmp_path, make_request, keys, capsys):
    source = tmp_path / "source"
    block = os.urandom(BLOCK)
    source.mkdir()
    with open(source / "big.bin", "wb") as handle:
        for _block in range(BLOCKS):
            handle.write(block)
    del block
    dest = tmp_path / "dest"
    with MotoServer() as server:
        request = make_request(source, endpoint_url=server.url)
        client_for(server.url).create_bucket(Bucket=request.bucket)
        run_backup(request, now=DAY)
        connection = request.connection
        arguments = {
            "bucket": request.bucket,
            "name": request.set_name,
            "dest": str(dest),
            "gpg_home": keys.secret_home,
            "connection": {
                "access_key": connection.access_key,
                "secret_key": connection.secret_key,
                "region": connection.region,
                "endpoint_url": connection.endpoint_url,
            },
        }
        collections = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections")))
        run = subprocess.run(
            [sys.executable, "-c", RESTORE, collections],
            input=json.dumps(arguments),
            capture_output=True,
            text=True,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    peak_mb = result["peak_rss_kb"] / 1024
    with capsys.disabled():
        print(f"\nrestore memory: {result['bytes'] / 2**20:.0f} MiB restored, engine peak RSS {peak_mb:.1f} MB")
    assert result["bytes"] > BLOCK * BLOCKS
    assert trees.differences(trees.picture(str(source)), trees.picture(str(dest))) == []
    assert peak_mb < LIMIT_MB
