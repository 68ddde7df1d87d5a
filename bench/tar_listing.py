"""``make bench-tar-listing``: what tar's own member listing costs on a million small files.

The file index takes the members' type, size, mtime, mode and link target from ``tar -cvv``'s
listing. On a tree of tiny files tar is the pipeline's bottleneck, so whatever tar does per
member shows in the backup's time. This measures the bare ``tar | zstd`` pipeline (no gpg, no
upload, no Python) with the listing sent where it costs the least, and the alternatives:

- ``no listing``: what a backup without index pays;
- ``-vv into /dev/null``: tar's formatting alone, written nowhere;
- ``-vv into zstd``: as the engine does it (the index's own compressor, one thread);
- ``-v into zstd``: names only (what ``--index-file`` gives without the metadata);
- ``tee into tar -tvv``: the listing made from the archive stream by a second tar on the other core.

Rounds alternate the order. The tree is bench.index_cost's (made once, kept).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys

from ansible_collections.s3napback.s3napback.plugins.module_utils.compression import compressor
from ansible_collections.s3napback.s3napback.plugins.module_utils.file_index import LISTING_ENV, LISTING_OPTIONS

from .fragment import publish
from .index_cost import SMALL_FILES, many_files
from .measure import run_measured
from .run import alternated

LISTING = " ".join(option for option in LISTING_OPTIONS if option != "-vv")  # the engine's, -v apart
INDEX_ZSTD = shlex.join(compressor("zstd").stage(None, parallel=False).argv) + " > /dev/null"  # the index's own


def variants(tree: str, snapshot: str) -> dict[str, str]:
    tar = f"tar -c -C {tree} --listed-incremental={snapshot}"
    data = "zstd -3 -q | cat > /dev/null"
    return {
        "no listing": f"{tar} . 2>/dev/null | {data}",
        "-vv into /dev/null": f"{tar} --index-file=/dev/null -vv {LISTING} . 2>/dev/null | {data}",
        "-vv into zstd": f"{tar} --index-file=/dev/fd/3 -vv {LISTING} . 3> >({INDEX_ZSTD}) 2>/dev/null | {data}",
        "-v into zstd": f"{tar} --index-file=/dev/fd/3 -v {LISTING} . 3> >({INDEX_ZSTD}) 2>/dev/null | {data}",
        "tee into tar -tvv": f"{tar} . 2>/dev/null | tee >(tar -t -vv {LISTING} -f - | {INDEX_ZSTD}) | {data}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=SMALL_FILES)
    scratch = os.environ.get("TMPDIR", "/var/tmp")  # noqa: S108 (a million files do not belong in a tmpfs)
    parser.add_argument("--work", default=os.path.join(scratch, "s3napback-bench"))
    args = parser.parse_args(argv)
    tree = many_files(os.path.join(args.work, f"small-{args.files}"), args.files)
    snapshot = os.path.join(args.work, "tar-listing.snar")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **LISTING_ENV}
    load = os.getloadavg()
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    commands = list(variants(tree, snapshot).items())
    for number in range(args.rounds + 1):  # the first round warms the page cache and is not kept
        for name, command in alternated(commands, number):
            if os.path.exists(snapshot):
                os.remove(snapshot)  # a full each time
            result = run_measured(["bash", "-c", f"set -o pipefail; {command}"], env=env)
            if result.returncode:
                print(f"FAILED: {name}: {result.stderr.strip()[-300:]}", file=sys.stderr)
                return 1
            if number:
                walls.setdefault(name, []).append(result.wall_s)
                cpus.setdefault(name, []).append(result.cpu_s)
    base = statistics.median(walls["no listing"])
    lines = [
        f"{args.files:,} files of 1 to 200 bytes; `tar | zstd -3` into /dev/null; {args.rounds} rounds (and one to warm"
        " the cache), medians.",
        "",
        "| variant | wall s, median (min-max) | CPU s | vs no listing |",
        "|---|---|---|---|",
    ]
    for name, _command in commands:
        wall = statistics.median(walls[name])
        lines.append(
            f"| {name} | {wall:.2f} ({min(walls[name]):.2f}-{max(walls[name]):.2f}) |"
            f" {statistics.median(cpus[name]):.2f} | {wall / base:.2f}x |"
        )
    publish("tar-listing", "What tar's member listing costs (make bench-tar-listing)", "\n".join(lines), load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
