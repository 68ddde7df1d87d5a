"""``python -m bench.ab``: the host command's full backup and restore, as the engine is at several git
revisions, against each other (and restic) on one server at a time, in alternated rounds.

For a change to the engine: ``--variants base=HEAD~1,new=HEAD`` exports each revision's plugins/
(``.`` stands for the working tree) and runs the host command from it. Every round starts each
contender on a fresh server (``--servers``), makes a full backup of the data set and restores it into
a new file system; the order is reversed every other round, dirty pages are written out before
every step and the benchmark's data is evicted from the page cache as in bench.run (with
``--quiet S``, the step also waits up to S seconds for the machine to be idle). The server's own
CPU time (user + system, from /proc) is taken for each step, since on two cores the server
competes with the client, and so is everything else's ("others": the kernel's writeback of the
restored files, and any other user's load); the host command's own process reports its CPU time
apart from its stages' (tar, zstd, gpg), which other load moves less than wall time. The first
round of each contender compares its restore with the data set. Prints the medians and writes every
measurement to WORK/ab-results.json. Exits 1 when a step fails or a restore differs (never because of a time).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from support import trees

from .fresh_fs import restore_fs_bytes
from .measure import evict_page_cache, run_measured
from .report import cell
from .run import Bench, alternated, data_set_parser, parse_size, server_files
from .servers import SERVERS
from .tools import COLLECTIONS, HOST_COMMAND, ROOT, Context, Restic, S3napbackHost, Tool

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STEPS = ("full", "restore")
QUIET_CORES = 0.15  # the most CPU others may use for a step to start (--quiet)


def busy_cpu_s() -> float:
    """CPU seconds every core spent on anything but idling and waiting for I/O, since boot."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS


def wait_for_quiet(patience_s: float) -> float:
    """Wait until the machine has been quiet (under QUIET_CORES busy) for two seconds in a row, at
    most ``patience_s``; return how long it waited. Another user's load on two cores moves a
    step's time by more than most changes do."""
    started = time.monotonic()
    quiet = 0
    while quiet < 2 and time.monotonic() - started < patience_s:
        before = busy_cpu_s()
        time.sleep(1)
        quiet = quiet + 1 if busy_cpu_s() - before < QUIET_CORES else 0
    return time.monotonic() - started


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def variant_tree(work: str, name: str, revision: str) -> str:
    """A collections directory holding the engine as it is at ``revision`` (``.``: the working tree)."""
    if revision == ".":
        return COLLECTIONS
    farm = os.path.join(work, "ab-variants", name)
    shutil.rmtree(farm, ignore_errors=True)
    collection = os.path.join(farm, "ansible_collections", "s3napback", "s3napback")
    os.makedirs(collection)
    archive = subprocess.run(["git", "archive", revision, "plugins"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", collection], input=archive.stdout, check=True)
    return farm


# The host command, run so that it prints its own CPU time (all its threads, not its stages') at exit
RUNNER = (
    "import atexit, resource, runpy, sys\n"
    "usage = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])\n"
    "atexit.register(lambda: sys.stderr.write('RUNNER_CPU %f\\n' % usage()))\n"
    "sys.argv[0] = 'host_command'\n"
    f"runpy.run_module({HOST_COMMAND!r}, run_name='__main__', alter_sys=True)\n"
)
RUNNER_CPU = re.compile(r"^RUNNER_CPU ([\d.]+)$", re.MULTILINE)


class HostAt(Tool):
    """The host command, run from the engine in ``collections``."""

    def __init__(self, name: str, collections: str):
        self.name, self.collections = name, collections

    def _with_engine(self, command: tuple[list[str], dict]) -> tuple[list[str], dict]:
        argv, env = command
        if argv[1:3] != ["-m", HOST_COMMAND]:
            raise AssertionError(f"not the host command: {argv[:3]}")
        return [argv[0], "-c", RUNNER, *argv[3:]], {**env, "PYTHONPATH": self.collections}

    def backup(self, ctx, index):
        return self._with_engine(S3napbackHost()._command(ctx, "run", "--force", "--force-full", "data"))

    def restore(self, ctx, dest):
        return self._with_engine(S3napbackHost().restore(ctx, dest))


@dataclass
class Row:
    server: str
    contender: str
    round: int
    step: str
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    others_cpu_s: float  # every other process's and the kernel's threads' (writeback included)
    runner_cpu_s: float | None  # the host command's own process, without its stages (None: restic)


class AB:
    def __init__(self, bench: Bench, contenders: list[Tool], servers: list[str], patience_s: float = 0):
        self.bench, self.contenders, self.servers = bench, contenders, servers
        self.patience_s = patience_s
        self.rows: list[Row] = []
        self.checked: set[tuple[str, str]] = set()
        self.picture: dict | None = None

    def step(self, server, ctx: Context, names: tuple[str, str, int], step: str, command) -> bool:
        """Whether the step ran; False when the server lacks a call the tool needs (as in bench.run).
        It starts with the benchmark's data evicted from the page cache, as in bench.run."""
        server_name, contender, round_number = names
        argv, env = command
        # evict_page_cache writes dirty pages back first. The full reads the data set itself
        # (ctx.src): only a restore may find it evicted
        evict_page_cache([self.bench.base, ctx.scratch] if step == "restore" else [server_files(ctx.scratch)])
        if self.patience_s:
            waited = wait_for_quiet(self.patience_s)
            if waited > 3:
                print(f"  (waited {waited:.0f} s for the machine to be quiet)", flush=True)
        before, busy = process_cpu_s(server.process.pid), busy_cpu_s()
        result = run_measured(argv, env=env, cwd=ctx.scratch)
        server_cpu = process_cpu_s(server.process.pid) - before
        others = busy_cpu_s() - busy - server_cpu - result.cpu_s
        if result.returncode != 0:
            last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
            if any(p in result.stdout + result.stderr for p in server.UNSUPPORTED):
                print(f"{server_name} round {round_number} {contender} {step}: n/a ({last})", flush=True)
                return False
            raise RuntimeError(f"{server_name} {contender} {step}: exit {result.returncode}: {last}")
        runner = RUNNER_CPU.search(result.stderr)
        runner_cpu = float(runner.group(1)) if runner else None
        row = Row(
            server_name, contender, round_number, step, result.wall_s, result.cpu_s, server_cpu, others, runner_cpu
        )
        self.rows.append(row)
        print(
            f"{server_name} round {round_number} {contender} {step}: {row.wall_s:.2f} s,"
            f" CPU {row.cpu_s:.2f} s (runner {row.runner_cpu_s or 0:.2f} s), server CPU {row.server_cpu_s:.2f} s,"
            f" others {row.others_cpu_s:.2f} s",
            flush=True,
        )
        return True

    def one(self, server_name: str, tool: Tool, round_number: int) -> None:
        bench = self.bench
        scratch = os.path.join(bench.work, "ab-scratch")
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        server = SERVERS[server_name](server_files(scratch)).start()
        try:
            keys = bench.keys
            ctx = Context(
                scratch, bench.base, server.url, keys.fingerprint, keys.public_home, keys.secret_home, server.ca_bundle
            )
            names = (server_name, tool.name, round_number)
            setup = tool.setup(ctx)
            if setup:
                argv, env = setup
                subprocess.run(argv, env=env, cwd=scratch, check=True, capture_output=True)  # not measured
            if not self.step(server, ctx, names, "full", tool.backup(ctx, 0)):
                return
            size = restore_fs_bytes(bench.source_bytes)
            with bench.filesystems.make(os.path.join(scratch, "restore"), size) as where:
                dest = os.path.join(where, "restored")
                if not self.step(server, ctx, names, "restore", tool.restore(ctx, dest)):
                    return
                if (server_name, tool.name) not in self.checked:
                    self.check(tool.restored_root(ctx, dest), f"{server_name} {tool.name}")
                    self.checked.add((server_name, tool.name))
        finally:
            server.stop()
            bench.keys.stop_agents()
            shutil.rmtree(scratch, ignore_errors=True)

    def check(self, restored: str, what: str) -> None:
        if self.picture is None:
            self.picture = trees.picture(self.bench.base)
        differences = trees.differences(self.picture, trees.picture(restored))
        if differences:
            raise RuntimeError(f"{what}: restored tree differs: {len(differences)} entries, {differences[0]}")

    def run(self, rounds: int) -> None:
        for round_number in range(1, rounds + 1):
            for server_name in self.servers:
                for tool in alternated(self.contenders, round_number):
                    self.one(server_name, tool, round_number)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _runner(rows: list[Row]) -> str:
    values = [r.runner_cpu_s for r in rows if r.runner_cpu_s is not None]
    return _spread(values) if values else "n/a"


def render(rows: list[Row], contenders: list[Tool], servers: list[str]) -> str:
    lines = [
        "| server | contender | step | wall s, median (min-max) | its CPU s | its runner's CPU s | server CPU s"
        " | others' CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for server in servers:
        for tool in contenders:
            for step in STEPS:
                found = [r for r in rows if (r.server, r.contender, r.step) == (server, tool.name, step)]
                if found:
                    lines.append(
                        f"| {server} | {cell(tool.name)} | {step} | {_spread([r.wall_s for r in found])}"
                        f" | {_spread([r.cpu_s for r in found])} | {_runner(found)}"
                        f" | {_spread([r.server_cpu_s for r in found])}"
                        f" | {_spread([r.others_cpu_s for r in found])} |"
                    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = data_set_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="s3rver-tls", help=f"comma-separated, of {', '.join(SERVERS)}")
    parser.add_argument(
        "--variants", default="this=.", help="NAME=REVISION,... of the engine (. is the working tree; default this=.)"
    )
    parser.add_argument("--restic", action="store_true", help="restic takes part too")
    parser.add_argument(
        "--quiet", type=float, default=0, metavar="SECONDS", help="wait up to SECONDS for a quiet machine"
    )
    options = parser.parse_args(argv)
    servers = options.servers.split(",")
    unknown = [name for name in servers if name not in SERVERS]
    if unknown:
        raise SystemExit(f"--servers: no server {', '.join(unknown)}; the servers: {', '.join(SERVERS)}")
    os.makedirs(options.work, exist_ok=True)
    contenders: list[Tool] = []
    for pair in options.variants.split(","):
        name, _equals, revision = pair.partition("=")
        contenders.append(HostAt(f"host@{name}", variant_tree(options.work, name, revision or name)))
    if options.restic:
        contenders.append(Restic())
    bench = Bench(options.work, parse_size(options.size), options.seed)
    ab = AB(bench, contenders, servers, options.quiet)
    failed = None
    try:
        ab.run(options.rounds)
    except RuntimeError as exc:
        failed = exc
    finally:
        bench.keys.stop_agents()
    with open(os.path.join(options.work, "ab-results.json"), "w") as handle:
        json.dump([row.__dict__ for row in ab.rows], handle, indent=1)
    print(render(ab.rows, contenders, servers))
    if failed:
        print(f"FAILED {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
