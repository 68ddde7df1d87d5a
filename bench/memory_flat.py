"""``make bench-memory``: s3napback's peak memory does not grow with the size of the backup.

Backs up a generated stream of each size (default 1 GB and 8 GB: no input on disk) through
zstd -> gpg -> multipart upload into the S3 sink (moto would hold 8 GB in its memory), and
measures the peak RSS of the whole process tree (the Python runner, the generator, zstd and gpg,
summed from /proc every 50 ms) and of the runner alone (its VmHWM). Prints a Markdown fragment and
writes it to bench/results/memory_flat.md. Exits 1 when a backup failed or the target is missed:
at most 150 MB for the tree, and the largest peak within 10% of the smallest. The helpers that
start the runner and check its result serve bench/profile.py as well.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile

from support.keys import RECIPIENT, make_keys

from ansible_collections.s3napback.s3napback.plugins.module_utils.upload import part_size

from .fragment import publish
from .measure import run_measured
from .run import parse_size
from .s3_sink import SinkServer
from .servers import BUCKET
from .tools import COLLECTIONS, ROOT, Context

LIMIT_BYTES = 150 * 10**6
SPREAD = 0.10
MB = 1e6
FIRST_PART = 8 << 20  # the engine's default


def parse_bytes(text: str) -> int:
    """``1e9``, ``8e9`` (decimal) or ``500M``, ``1G`` (binary, as bench/run.py reads sizes)."""
    return int(float(text)) if "e" in text.lower() else parse_size(text)


@contextlib.contextmanager
def sink_context(prefix: str):
    """A scratch directory, the S3 sink and a key pair: ``(Context, SinkServer)`` for generated backups."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch, SinkServer() as sink:
        keys = make_keys(os.path.join(scratch, "keys"))
        try:
            yield Context(scratch, scratch, sink.url, keys.fingerprint, keys.public_home, keys.secret_home), sink
        finally:
            keys.stop_agents()


def command(ctx: Context, size: int) -> tuple[list[str], dict]:
    """How the benchmark side starts the runner: argv, and the environment of ``ctx`` (credentials,
    HOME, TMPDIR) with this checkout importable."""
    argv = [sys.executable, "-m", "bench.generated_backup", str(size), ctx.url, BUCKET, ctx.state, ctx.public_home]
    path = os.pathsep.join([ROOT, COLLECTIONS])
    return [*argv, RECIPIENT], {**ctx.env, "PYTHONPATH": path}


def checked(stdout: str, sink) -> dict:
    """The runner's JSON, once ``sink`` confirms it holds an object of the size and SHA-256 the
    backup reports."""
    result = json.loads(stdout)
    backup = result["backup"]
    stored = sink.report().get(backup["key"])
    if stored != {"size": backup["bytes_out"], "sha256": backup["sha256"]}:
        raise RuntimeError(f"the sink holds {stored} for {backup['key']}, the backup says {backup}")
    return result


def measure(sizes: list[int]) -> list[dict]:
    rows = []
    with sink_context("s3napback-memory-") as (ctx, sink):
        for size in sizes:
            argv, env = command(ctx, size)
            measured = run_measured(argv, env=env, cwd=ctx.scratch)
            if measured.returncode != 0:
                last = (measured.stderr.strip() or "no output").splitlines()[-1]
                raise RuntimeError(f"backup of {size} bytes: exit {measured.returncode}: {last}")
            result = checked(measured.stdout, sink)
            rows.append({"size": size, "measured": measured, **result})
            print(f"{size / MB:,.0f} MB: tree {measured.peak_rss_bytes / MB:.0f} MB", file=sys.stderr)
    return rows


def parts(size: int) -> int:
    """How many parts the engine cuts ``size`` bytes into: part sizes double every 1,000 parts."""
    count = covered = 0
    while covered < size:
        count += 1
        covered += part_size(count, FIRST_PART)
    return count


def render(rows: list[dict]) -> tuple[str, bool]:
    """The Markdown fragment, and whether the target is met."""
    lines = [
        "| input | peak RSS, whole tree | peak RSS, runner alone | wall time | throughput | parts |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        measured = row["measured"]
        lines.append(
            f"| {row['size'] / MB:,.0f} MB | {measured.peak_rss_bytes / MB:.0f} MB "
            f"| {row['runner_peak_rss_bytes'] / MB:.0f} MB | {measured.wall_s:.1f} s "
            f"| {row['size'] / MB / measured.wall_s:.0f} MB/s | {parts(row['backup']['bytes_out'])} |"
        )
    peaks = [row["measured"].peak_rss_bytes for row in rows]
    spread = max(peaks) / min(peaks) - 1
    met = max(peaks) <= LIMIT_BYTES and spread <= SPREAD
    lines += [
        "",
        f"Largest tree peak {max(peaks) / MB:.0f} MB (target at most {LIMIT_BYTES / MB:.0f} MB); the largest "
        f"peak is {spread:.1%} above the smallest (target at most {SPREAD:.0%}): target "
        f"{'met' if met else 'MISSED'}.",
        "",
        "Source: a generated stream (AES-CTR over zeros, incompressible), zstd -T0, gpg, 8 MiB parts, 4 in "
        "flight, into a local S3 sink that hashes and discards the parts. The tree's RSS is sampled every "
        "50 ms; the runner's is its VmHWM. After 1,000 parts (8.4 GB) the engine doubles the part size, and"
        " its buffers with it, so 8 GB is the largest size whose parts are all 8 MiB.",
    ]
    return "\n".join(lines), met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e9,8e9", help="comma-separated input sizes: 1e9, 500M, 8G")
    options = parser.parse_args(argv)
    sizes = [parse_bytes(text) for text in options.sizes.split(",")]
    load = os.getloadavg()
    try:
        rows = measure(sizes)
    except RuntimeError as exc:
        print(f"memory: {exc}", file=sys.stderr)
        return 1
    text, met = render(rows)
    publish("memory_flat", "Memory stays flat as the backup grows", text, load)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
