"""The engine's multipart upload (upload.StreamUpload) against boto3's own (s3transfer's
upload_fileobj), on the same stream read from a pipe, into a local moto S3 server.

    .venv/bin/python tests/scripts/compare_s3transfer.py [MIB]     (default 256)

Each upload runs in a fresh Python process, so its peak RSS (VmHWM) is its own; the stream is
MIB of pseudo-random bytes from a child process (incompressible, like gpg's output). The server's
CPU seconds count too: on this two-core machine moto shares the cores with the upload. The engine
runs twice, with its multipart upload declaring CRC32 (botocore's default) and declaring nothing
(``when_required``). Prints one Markdown row per upload; docs/DEPENDENCIES.md quotes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the support package, which also sets up imports
# Imported for its side effect: it makes the collection importable.
import conftest  # noqa: E402, F401  # pylint: disable=unused-import
from support.fixtures import client_for, engine_connection  # noqa: E402
from support.processes import MotoServer  # noqa: E402

from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket  # noqa: E402
from ansible_collections.s3napback.s3napback.plugins.module_utils.upload import StreamUpload  # noqa: E402

# A child writes MIB MiB of random-looking bytes to its stdout, without holding them all.
GENERATOR = """import os, sys
block = os.urandom(1 << 20)
for i in range(int(sys.argv[1])):
    sys.stdout.buffer.write(block[i % 7 :] + block[: i % 7])
"""


# (uploader, request_checksum_calculation): botocore's default, where a multipart upload declares
# CRC32, and the setting for a store that rejects checksums, where S3 checksums the whole object.
UPLOADERS = [("engine", "when_supported"), ("engine", "when_required"), ("s3transfer", "when_supported")]


def upload(uploader: str, url: str, bucket: str, mib: int) -> None:
    source = subprocess.Popen([sys.executable, "-c", GENERATOR, str(mib)], stdout=subprocess.PIPE)
    if uploader == "s3transfer":
        client_for(url).upload_fileobj(source.stdout, bucket, "s3transfer")
    else:
        connection = engine_connection(url)
        with StreamUpload(Bucket(connection, bucket), "engine", {}) as stream:
            stream.feed(source.stdout)
            stream.complete()
    source.wait()


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    if sys.argv[1:2] == ["--one"]:  # the child: one upload, then its numbers on stdout
        _flag, uploader, url, bucket, mib = sys.argv[1:]
        started = time.monotonic()
        upload(uploader, url, bucket, int(mib))
        print(f"{time.monotonic() - started:.1f} {peak_rss_mb():.0f}")
        return 0
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    print(f"| uploader ({mib} MiB from a pipe) | seconds | peak RSS MB | parts | moto's CPU s |\n|---|---|---|---|---|")
    for uploader, checksums in UPLOADERS:
        with MotoServer() as moto:  # moto keeps objects in memory: a fresh one per upload
            client_for(moto.url).create_bucket(Bucket="compare")
            argv = [sys.executable, __file__, "--one", uploader, moto.url, "compare", str(mib)]
            env = {**os.environ, "AWS_REQUEST_CHECKSUM_CALCULATION": checksums}
            before = cpu_seconds(moto.process.pid)
            run = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
            seconds, peak = run.stdout.split()
            server_cpu = cpu_seconds(moto.process.pid) - before
            parts = client_for(moto.url).head_object(Bucket="compare", Key=uploader, PartNumber=1)["PartsCount"]
            name = uploader if checksums == "when_supported" else f"{uploader}, checksums {checksums}"
            print(f"| {name} | {seconds} | {peak} | {parts} | {server_cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
