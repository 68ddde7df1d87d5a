"""``make bench``: back up, change 1%, back up again and restore with every tool, on each S3 server,
RUNS times with the tools alternated; then write docs/BENCHMARKS.md and docs/benchmarks.png.

The backup tools take turns in a different order on every run (``tool_order``), and
dirty pages are written out before every measured step, so that no tool always pays for the disk
writes of the one before it.

Exits 1 when a tool failed or a restore differs from its source (never because of a time).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from support import trees
from support.keys import make_keys

from . import dataset, report
from .fresh_fs import FreshFilesystems, restore_fs_bytes
from .measure import Measurement, evict_page_cache, run_measured
from .servers import SERVERS, stored_bytes
from .tools import BACKUP_TOOLS, CEILINGS, COLLECTIONS, Context, S3napbackHost, Tool, UploadOnly

CHAIN_DIFFS = 6
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


T = TypeVar("T")


def parse_size(text: str) -> int:
    text = text.strip().upper().rstrip("B")
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1] in UNITS else int(text)


@dataclass(frozen=True)
class Trial:
    """One tool's turn on one server in one run."""

    server_name: str
    server: object
    ctx: Context
    tool: Tool
    run: int


def tool_order(tools: Sequence[Tool], run: int) -> list[Tool]:
    """The order of run ``run`` (from 1) on every server: rotated by one more each run and reversed
    on even runs, so that from 3 runs on no tool has followed the same tool every time."""
    shift = (run - 1) % len(tools)
    order = list(tools[shift:]) + list(tools[:shift])
    return order[::-1] if run % 2 == 0 else order


def alternated(items: Sequence[T], round_number: int) -> list[T]:
    """``items`` in order, reversed every other round: for measurements that alternate a few settings."""
    return list(reversed(items)) if round_number % 2 else list(items)


def chosen_tools(keys: str) -> tuple[list[Tool], list[Tool]]:
    """The backup tools and ceilings that ``--tools`` names (comma-separated keys, or "all"), in the
    usual order."""
    known = [tool.key for tool in (*BACKUP_TOOLS, *CEILINGS)]
    wanted = set(known) if keys == "all" else set(keys.split(","))
    unknown = wanted.difference(known)
    if unknown:
        raise SystemExit(f"--tools: no tool {', '.join(sorted(unknown))}; the tools: {', '.join(known)}")
    return [t for t in BACKUP_TOOLS if t.key in wanted], [t for t in CEILINGS if t.key in wanted]


def _cause(result: Measurement) -> str:
    """One line: ansible's msg when there is one, else the last line the tool printed."""
    msg = re.search(r'"msg": "((?:[^"\\]|\\.)*)"', result.stdout)
    if msg:
        return msg.group(1)[:300]
    lines = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
    return lines[-1][:300]


def data_set(work: str, size: int, seed: int) -> str:
    """The generated data set's directory in ``work``, made on first use and kept for later runs."""
    base = os.path.join(work, f"data-{size}-{seed}")
    if not os.path.isdir(base):
        print(f"generating {size} bytes of data (seed {seed}) in {base}", flush=True)
        dataset.generate(base + ".part", size, seed)
        os.rename(base + ".part", base)
    return base


def data_set_parser(description: str) -> argparse.ArgumentParser:
    """The options of a measurement on the data set: --size, --seed and --work (where it is kept)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", default="1G", help="data set size, e.g. 20M, 1G (default 1G)")
    parser.add_argument("--seed", type=int, default=1)
    scratch = os.environ.get("TMPDIR", "/var/tmp")  # noqa: S108 (the data set is too big for a tmpfs /tmp)
    parser.add_argument("--work", default=os.path.join(scratch, "s3napback-bench"))
    return parser


class Bench:
    def __init__(self, work: str, size: int, seed: int):
        self.work, self.size, self.seed = work, size, seed
        self.rows: list[dict] = []
        self.pictures: dict[int, dict] = {}  # the source's picture after N rounds of change
        self.base = data_set(work, size, seed)
        self.source_bytes = sum(os.path.getsize(p) for p in _files(self.base))
        keys_dir = os.path.join(work, "keys")
        shutil.rmtree(keys_dir, ignore_errors=True)
        os.makedirs(keys_dir)
        self.keys = make_keys(keys_dir)
        self.filesystems = FreshFilesystems()

    def measure(self, trial: Trial, step: str, command: tuple[list[str], dict], *, cold: bool = False) -> bool:
        """Run one step and record it, with the benchmark's data that the step does not read evicted
        from the page cache first (``evict_page_cache``): the data set's master copy and the S3
        server's files; for a restore (``cold``), all of the trial's, the source too."""
        argv, env = command
        ctx = trial.ctx
        # evict_page_cache first writes back the previous step's writes (or the copy of the source),
        # now, not during this step
        evicted = evict_page_cache([self.base, ctx.scratch if cold else server_files(ctx.scratch)])
        result = run_measured(argv, env=env, cwd=ctx.scratch, watch_dirs=ctx.watch, marker=trial.tool.marker)
        row = {"server": trial.server_name, "tool": trial.tool.name, "run": trial.run, "step": step}
        row["evicted_bytes"] = evicted
        row.update(input_bytes=0 if step == "setup" else self.source_bytes, wall_s=result.wall_s, cpu_s=result.cpu_s)
        row.update(peak_rss_bytes=result.peak_rss_bytes, peak_temp_bytes=result.peak_temp_bytes)
        if trial.tool.marker:
            row.update(host_rss_bytes=result.peak_marked_rss_bytes)
        row.update(stored_bytes=stored_bytes(ctx.url, ctx.ca_bundle))
        if result.returncode != 0:
            cause = f"{step}: exit {result.returncode}: {_cause(result)}"
            unsupported = any(p in result.stdout + result.stderr for p in trial.server.UNSUPPORTED)
            row["na" if unsupported else "error"] = cause
        self.rows.append(row)
        print(report.progress_line(row), flush=True)
        return result.returncode == 0

    def restore_and_compare(self, trial: Trial, step: str, rounds: int) -> bool:
        size = restore_fs_bytes(self.source_bytes)
        with self.filesystems.make(os.path.join(trial.ctx.scratch, f"restore-{rounds}"), size) as where:
            dest = os.path.join(where, "restored")
            if not self.measure(trial, step, trial.tool.restore(trial.ctx, dest), cold=True):
                return False
            if rounds not in self.pictures:
                self.pictures[rounds] = trees.picture(trial.ctx.src)
            restored = trees.picture(trial.tool.restored_root(trial.ctx, dest))
        differences = trees.differences(self.pictures[rounds], restored)
        if differences:
            self.rows[-1]["error"] = f"{step}: restored tree differs: {len(differences)} entries, {differences[0]}"
            print(f"  FAILED {self.rows[-1]['error']}", flush=True)
        return not differences

    def one(self, server_name: str, tool: Tool, run: int) -> None:
        scratch = os.path.join(self.work, "scratch")
        shutil.rmtree(scratch, ignore_errors=True)
        src = os.path.join(scratch, "src")
        os.makedirs(scratch)
        subprocess.run(["cp", "-a", self.base, src], check=True)
        server = SERVERS[server_name](server_files(scratch))
        server.start()
        try:
            keys = self.keys
            ctx = Context(
                scratch, src, server.url, keys.fingerprint, keys.public_home, keys.secret_home, server.ca_bundle
            )
            self.steps(Trial(server_name, server, ctx, tool, run))
        finally:
            server.stop()
            self.keys.stop_agents()
            shutil.rmtree(scratch, ignore_errors=True)

    def steps(self, trial: Trial) -> None:
        tool, ctx = trial.tool, trial.ctx
        setup = tool.setup(ctx)
        if setup and not self.measure(trial, "setup", setup):
            return
        if not self.measure(trial, "full", tool.backup(ctx, 0)) or tool in CEILINGS:
            return
        dataset.change(ctx.src, self.size, 1, self.seed)
        if not self.measure(trial, "incremental", tool.backup(ctx, 1)):
            return
        nothing_due = getattr(tool, "nothing_due", None)
        if nothing_due and not self.measure(trial, "nothing due", nothing_due(ctx)):
            return
        if not tool.restores:
            return
        if not self.restore_and_compare(trial, "restore", 1) or not tool.chain:
            return
        for round_number in range(2, CHAIN_DIFFS + 1):
            dataset.change(ctx.src, self.size, round_number, self.seed)
            if not self.measure(trial, "chain diff", tool.backup(ctx, round_number)):
                return
        self.restore_and_compare(trial, "chain restore", CHAIN_DIFFS)

    def upload_size(self) -> int:
        """The size of s3napback's newest full backup (the same on every server), for the upload-only ceiling."""
        fulls = [
            r["stored_bytes"]
            for r in self.rows
            if (r["tool"], r["step"]) == (S3napbackHost.name, "full") and report.problem(r) is None
        ]
        return fulls[-1] if fulls else self.source_bytes


def server_files(scratch: str) -> str:
    """Where a trial's S3 server keeps what it stores (moto keeps it in memory)."""
    return os.path.join(scratch, "s3")


def _files(root: str):
    for directory, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.join(directory, name)


def main(argv: list[str] | None = None) -> int:
    parser = data_set_parser(__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--servers", default="moto,s3rver,s3rver-tls", help=f"of {', '.join(SERVERS)}")
    parser.add_argument("--markdown", default="docs/BENCHMARKS.md", help="'' to write none")
    parser.add_argument("--png", default="docs/benchmarks.png", help="'' to draw none")
    parser.add_argument("--tools", default="all", help="comma-separated, e.g. module,host,manual (default all)")
    options = parser.parse_args(argv)
    os.makedirs(options.work, exist_ok=True)
    assert os.path.isdir(COLLECTIONS), f"no collection tree at {COLLECTIONS}"
    backup_tools, ceilings = chosen_tools(options.tools)
    bench = Bench(options.work, parse_size(options.size), options.seed)
    servers = options.servers.split(",")
    unknown = [name for name in servers if name not in SERVERS]
    if unknown:
        raise SystemExit(f"--servers: no server {', '.join(unknown)}; the servers: {', '.join(SERVERS)}")
    for run in range(1, options.runs + 1):
        order = tool_order(backup_tools, run)
        print(f"run {run}, on each server: " + ", ".join(tool.name for tool in order), flush=True)
        for server in servers:
            # the ceilings come last: the upload-only one sends a file the size of this run's full backup
            for tool in order + ceilings:
                if isinstance(tool, UploadOnly):
                    tool.size = bench.upload_size()
                bench.one(server, tool, run)
    with open(os.path.join(options.work, "results.json"), "w") as handle:
        json.dump({"source_bytes": bench.source_bytes, "rows": bench.rows}, handle, indent=1)
    settings = {"size": options.size, "runs": options.runs, "seed": options.seed, "servers": servers}
    settings["restores"] = bench.filesystems.place
    text = report.render(bench.rows, bench.source_bytes, settings)
    print(text)
    if options.markdown:
        report.write_markdown(options.markdown, text)
    if options.png:
        from .plot import draw  # noqa: PLC0415 (matplotlib only when a picture is wanted)

        draw(bench.rows, options.png)
    # a server that lacks a call a tool needs is an n/a in the table; anything else fails the run
    failures = [f"{r['server']} {r['tool']}: {r['error']}" for r in bench.rows if "error" in r]
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
