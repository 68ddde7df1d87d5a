"""``make bench-index``: what the file index costs a backup, and what ls costs on a big tree.

The host command's full backup of two trees, by the engine as it is and as it was at ``--base``
(the last commit without file indexes), alternated round by round into moto: the benchmark's data
set, and a generated tree of a million small files. Reported: wall time and the whole process
tree's peak RSS (medians), the index's size, and ``s3napback ls`` of the whole million-file tree
(time and peak RSS). Targets (issue 22): a backup at most 3% slower, and within the 150 MB bar.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

import yaml
from support.keys import RECIPIENT, make_keys

from .fragment import publish
from .measure import run_measured
from .run import alternated, data_set, parse_size
from .servers import BUCKET, Moto, client
from .tools import COLLECTIONS, HOST_COMMAND, ROOT

MB = 1e6
SMALL_FILES = 1_000_000


def many_files(root: str, count: int) -> str:
    """``count`` files of 1 to 200 bytes in directories of 1,000, made once and kept."""
    done = f"{root}.done"
    if os.path.exists(done) and os.path.isdir(root):  # the marker alone, when the tree was removed, is not a tree
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(f"making {count} small files in {root}", flush=True)
    for number in range(count):
        directory = os.path.join(root, f"d{number // 1000 // 100:02d}", f"d{number // 1000:04d}")
        if number % 1000 == 0:
            os.makedirs(directory)
        with open(os.path.join(directory, f"f{number:07d}.txt"), "wb") as handle:
            handle.write(b"x" * (1 + number % 200))
    with open(done, "w"):
        pass
    return root


def engine_at(work: str, revision: str) -> str:
    """A collections path holding this repository's plugins as of ``revision``."""
    target = os.path.join(work, f"engine-{revision}")
    tree = os.path.join(target, "ansible_collections", "s3napback", "s3napback")
    if not os.path.isdir(tree):
        os.makedirs(tree)
        archive = subprocess.run(["git", "-C", ROOT, "archive", revision, "plugins"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    return target


def backup_command(work: str, name: str, source: str, url: str, keys) -> list[str]:
    config = os.path.join(work, f"{name}.yml")
    defaults = {"bucket": BUCKET, "prefix": name, "endpoint_url": url, "region": "us-east-1"}
    defaults.update(access_key="S3RVER", secret_key="S3RVER", gpg_recipient=RECIPIENT)  # noqa: S106
    defaults.update(gpg_home=keys.public_home, state_dir=os.path.join(work, f"state-{name}"))
    with open(config, "w") as handle:
        yaml.safe_dump({"defaults": defaults, "jobs": [{"name": "data", "directory": source}]}, handle)
    os.chmod(config, 0o600)  # the host command refuses a config that holds a secret others may read
    return [sys.executable, "-m", HOST_COMMAND, "--config", config]


def measure(work: str, trees: dict, engines: dict, rounds: int, keys) -> tuple[dict, object]:
    """Every tree backed up by every engine, ``rounds`` times alternated; and one ls of the big tree."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}
    rows: dict[tuple[str, str], list] = {}
    listing = None
    for number in range(rounds):
        for (tree, source), (engine, path) in alternated(
            [(t, e) for t in trees.items() for e in engines.items()], number
        ):
            server = Moto(work).start()
            try:
                client(server.url).create_bucket(Bucket=BUCKET)
                command = backup_command(work, f"r{number}", source, server.url, keys)
                shutil.rmtree(os.path.join(work, f"state-r{number}"), ignore_errors=True)
                os.sync()
                result = run_measured([*command, "--json", "run", "--force"], env={**env, "PYTHONPATH": path})
                if result.returncode:
                    raise SystemExit(f"{tree} / {engine}: {result.stderr.strip()[-300:]}")
                backup = json.loads(result.stdout)["results"][0]["backup"]
                index = _index_bytes(server.url, backup)
                rows.setdefault((tree, engine), []).append((result.wall_s, result.peak_rss_bytes, index))
                if listing is None and index and tree != "data set":
                    ls = [*command, "ls", "data", "--gpg-home", keys.secret_home]
                    listing = run_measured(ls, env={**env, "PYTHONPATH": COLLECTIONS})
            finally:
                server.stop()
    return rows, listing


def report(rows: dict, listing, trees: dict, engines: dict, *, rounds: int, files: int) -> list[str]:
    lines = [f"{rounds} rounds, alternated; a fresh moto server for each backup.", ""]
    lines += ["| tree | engine | wall s, median (min-max) | peak RSS MB | index MB |", "|---|---|---|---|---|"]
    for (tree, engine), measured in rows.items():
        walls = [wall for wall, _rss, _index in measured]
        rss = statistics.median(r for _wall, r, _index in measured) / MB
        index = statistics.median(i for _wall, _rss, i in measured) / MB
        wall = f"{statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f})"
        lines.append(f"| {tree} | {engine} | {wall} | {rss:.0f} | {index:.2f} |")
    lines += ["", "| target | measured | met? |", "|---|---|---|"]
    for tree in trees:
        new, old = (statistics.median(w for w, _r, _i in rows[(tree, e)]) for e in engines)
        rss = statistics.median(r for _w, r, _i in rows[(tree, "with index")]) / MB
        slower = "yes" if new <= 1.03 * old else "NO"
        lines.append(f"| {tree}: backup time with index <= 1.03x | {new / old:.3f}x | {slower} |")
        lines.append(f"| {tree}: peak RSS <= 150 MB | {rss:.0f} MB | {'yes' if rss <= 150 else 'NO'} |")
    if listing is not None:
        count = listing.stdout.count("\n")
        lines += ["", f"`s3napback ls` of the whole {files:,}-file tree: {listing.wall_s:.1f} s,"]
        lines[-1] += f" peak RSS {listing.peak_rss_bytes / MB:.0f} MB, {count:,} lines."
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=SMALL_FILES, help="small files in the big tree")
    parser.add_argument("--base", default="ec51b58", help="a commit without file indexes")
    scratch = os.environ.get("TMPDIR", "/var/tmp")  # noqa: S108 (the data set is too big for a tmpfs /tmp)
    parser.add_argument("--work", default=os.path.join(scratch, "s3napback-bench"))
    args = parser.parse_args(argv)
    load = os.getloadavg()
    trees = {
        "data set": data_set(args.work, parse_size(args.size), 1),
        f"{args.files:,} small files": many_files(os.path.join(args.work, f"small-{args.files}"), args.files),
    }
    work = os.path.join(args.work, "index-cost")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    keys = make_keys(os.path.join(work, "keys"))
    engines = {"with index": COLLECTIONS, f"without ({args.base})": engine_at(args.work, args.base)}
    try:
        rows, listing = measure(work, trees, engines, args.rounds, keys)
    finally:
        keys.stop_agents()
    lines = report(rows, listing, trees, engines, rounds=args.rounds, files=args.files)
    publish("index-cost", "What the file index costs (make bench-index)", "\n".join(lines), load)
    return 0


def _index_bytes(url: str, backup: dict) -> int:
    key = backup.get("index_key")
    return client(url).head_object(Bucket=BUCKET, Key=key)["ContentLength"] if key else 0


if __name__ == "__main__":
    raise SystemExit(main())
