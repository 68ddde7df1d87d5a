"""``make bench-first-restore``: the host command's first restore after its backups, and a second one.

On one server (``--server``, s3rver by default), for each engine revision (``--variants``, as in
bench.ab): a full of the data set, 1% changed, an incremental, then two restores of the chain,
each into a new ext4, with the CPU time of every process of the restore's tree sampled every
0.1 s and summed by command name. ``--before`` says what the first restore starts from: the memory
the backups left (``nothing``), the benchmark's data evicted from the page cache (``evict``, what
``make bench`` does before every restore), or the whole page cache dropped (``drop``, root only).
On this 2-core VM the first restore after a backup of volumes took twice as long as the second,
all of it in tar's own kernel time, and as long as the second after either: the memory it wrote
into had been free long enough for the VM's balloon to take it back (docs/BENCHMARKS.md, "The
targets, read off the run above").
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import time

from . import dataset
from .ab import HostAt, variant_tree
from .fresh_fs import restore_fs_bytes
from .measure import drop_page_cache, evict_page_cache, run_measured
from .run import Bench, alternated, data_set_parser, parse_size
from .servers import SERVERS
from .tools import Context, S3napbackHost

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, str, float]]:
    """Every process: its parent, its command name and its CPU seconds (user + system) so far."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def tree_of(root: int, table: dict[int, tuple[int, str, float]]) -> dict[int, tuple[str, float]]:
    """``root`` and its descendants in ``table``: command name and CPU seconds, by PID."""
    children = collections.defaultdict(list)
    for pid, (parent, _name, _cpu) in table.items():
        children[parent].append(pid)
    found, waiting = {}, [root]
    while waiting:
        pid = waiting.pop()
        if pid in table:
            found[pid] = table[pid][1:]
        waiting += children.get(pid, [])
    return found


def by_name(last_seen: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds summed by command name, of each process as last seen."""
    totals: collections.Counter = collections.Counter()
    for name, cpu in last_seen.values():
        totals[name] += cpu
    return {name: round(cpu, 2) for name, cpu in totals.most_common()}


def sampled(argv: list[str], env: dict, cwd: str) -> tuple[float, dict[str, float]]:
    """Run ``argv``: its wall time and its tree's CPU by command name."""
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last_seen: dict[int, tuple[str, float]] = {}
    while process.poll() is None:
        last_seen.update(tree_of(process.pid, processes()))
        time.sleep(0.1)
    _out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"exit {process.returncode}: {err.decode(errors='replace').strip()[-300:]}")
    return time.monotonic() - started, by_name(last_seen)


def one(bench: Bench, server_name: str, tool: HostAt, before: str) -> list[str]:
    scratch = os.path.join(bench.work, "first-restore")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    src = os.path.join(scratch, "src")
    subprocess.run(["cp", "-a", bench.base, src], check=True)
    server = SERVERS[server_name](os.path.join(scratch, "s3")).start()
    try:
        keys = bench.keys
        ctx = Context(scratch, src, server.url, keys.fingerprint, keys.public_home, keys.secret_home, server.ca_bundle)
        said = []
        for index in (0, 1):
            if index:
                dataset.change(src, bench.size, 1, bench.seed)
            os.sync()
            argv, env = tool._with_engine(S3napbackHost().backup(ctx, index))
            result = run_measured(argv, env=env, cwd=scratch)
            if result.returncode != 0:
                raise RuntimeError(f"backup: exit {result.returncode}: {result.stderr.strip()[-300:]}")
            said.append(f"{'incremental' if index else 'full'} {result.wall_s:.2f} s")
        for number in (1, 2):
            size = restore_fs_bytes(bench.source_bytes)
            with bench.filesystems.make(os.path.join(scratch, f"restore-{number}"), size) as where:
                os.sync()
                if number == 1 and before == "evict":
                    evict_page_cache([bench.base, scratch])
                if number == 1 and before == "drop" and not drop_page_cache():
                    raise RuntimeError("--before drop: the page cache can be dropped only as root")
                argv, env = tool.restore(ctx, os.path.join(where, "restored"))
                wall, cpu = sampled(argv, env, scratch)
                said.append(f"restore {number} {wall:.2f} s, CPU by process {cpu}")
        return said
    finally:
        server.stop()
        bench.keys.stop_agents()
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = data_set_parser(__doc__.splitlines()[0])
    parser.add_argument("--server", default="s3rver", choices=sorted(SERVERS))
    parser.add_argument("--variants", default="this=.", help="NAME=REVISION,... (. is the working tree)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--before",
        choices=("nothing", "evict", "drop"),
        default="nothing",
        help="before the first restore: nothing, evict the benchmark's data, or drop the page cache",
    )
    options = parser.parse_args(argv)
    os.makedirs(options.work, exist_ok=True)
    bench = Bench(options.work, parse_size(options.size), options.seed)
    tools = []
    for pair in options.variants.split(","):
        name, _equals, revision = pair.partition("=")
        tools.append(HostAt(f"host@{name}", variant_tree(options.work, name, revision)))
    try:
        for round_number in range(1, options.rounds + 1):
            for tool in alternated(tools, round_number):
                said = one(bench, options.server, tool, options.before)
                print(f"round {round_number} {tool.name}: " + "; ".join(said))
    except RuntimeError as exc:
        print(f"first-restore: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.keys.stop_agents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
