"""``make bench-role``: what the role costs per host, on 1, 3 and 10 hosts made the fleet test's way
(tests/support/fleet.py: an overlay per host on one debootstrapped Debian, reached by the chroot
connection), at Ansible's default 5 forks.

For each fleet size: a fresh fleet, the role's first run (the packages are already in the root
filesystem, so it installs none), then ``--runs`` no-change runs. It reports each run's wall time,
the number of tasks that ran, the time of each task (the callback plugin in
tests/callback_plugins), and CPU: the whole process tree's (exact, from wait4) and the
controller's share of it (``ansible-playbook`` and its workers, sampled from /proc every 20 ms:
processes whose root is a host's are the host's). Prints a Markdown fragment, writes it to
bench/results/role_scaling.md, and exits 1 when a run fails, or a no-change run changes something,
or a bar is missed: one host's no-change run <= 10 s, its first run <= 20 s, three hosts'
no-change run <= 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import yaml
from support.fleet import Fleet
from support.keys import RECIPIENT, make_keys
from support.tree_memory import tree

from .fragment import publish

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
SITE = os.path.join(ROOT, "examples", "fleet", "site.yml")
CALLBACKS = os.path.join(ROOT, "tests", "callback_plugins")
SIZES = (1, 3, 10)
BARS = {"one host, no change": 10.0, "one host, first run": 20.0, "three hosts, no change": 20.0}
TICKS = os.sysconf("SC_CLK_TCK")


class CpuSampler(threading.Thread):
    """Samples utime+stime of every process of a tree, split by whether it runs inside a host (its
    /proc/PID/root is not /). A process is counted at its last sample, so each one's last 20 ms or
    less are missed: the split undercounts both sides a little; the tree's total comes from wait4."""

    def __init__(self, pid: int, interval_s: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.seen: dict[int, tuple[bool, float]] = {}  # pid -> (inside a host, CPU seconds)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for pid in tree(self.pid):
                try:
                    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                        fields = handle.read().rsplit(")", 1)[1].split()
                    inside = os.readlink(f"/proc/{pid}/root") != "/"
                except (OSError, IndexError):
                    continue
                start = fields[19]  # a pid reused by another process is another entry
                self.seen[(pid, start)] = (inside, (int(fields[11]) + int(fields[12])) / TICKS)
            time.sleep(self.interval_s)

    def split(self) -> tuple[float, float]:
        controller = sum(cpu for inside, cpu in self.seen.values() if not inside)
        hosts = sum(cpu for inside, cpu in self.seen.values() if inside)
        return controller, hosts


def playbook(inventory: str, env: dict, timings: str) -> dict:
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, SITE]
    started = time.monotonic()
    process = subprocess.Popen(
        argv, env={**env, "S3NAPBACK_TIMINGS": timings}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = CpuSampler(process.pid)
    sampler.start()
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    sampler.done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"ansible-playbook exited {process.returncode}:\n{output[-3000:]}")
    with open(timings, encoding="utf-8") as handle:
        tasks = json.load(handle)["tasks"]
    controller, hosts = sampler.split()
    recap = output.split("PLAY RECAP", 1)[1]
    changed = sum(int(word.split("=")[1]) for word in recap.split() if word.startswith("changed="))
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "controller_cpu_s": controller,
        "hosts_cpu_s": hosts,
        "tasks": tasks,
        "changed": changed,
    }


def write_inventory(directory: str, fleet: Fleet, public_key: str) -> str:
    """The fleet demo's kind of inventory: two directory jobs per host, cron, every package there."""
    with open(os.path.join(directory, "hosts.ini"), "w", encoding="utf-8") as handle:
        handle.write(fleet.inventory({"all": list(fleet.hosts)}).replace("[all]\n", "[backed_up]\n"))
    os.makedirs(os.path.join(directory, "group_vars"))
    variables = {
        "s3napback_bucket": "backups",
        "s3napback_endpoint_url": "http://127.0.0.1:9000",
        "s3napback_region": "us-east-1",
        "s3napback_access_key": "bench-access-key",
        "s3napback_secret_key": "bench-secret-key",
        "s3napback_gpg_recipient": [RECIPIENT],
        "s3napback_gpg_public_key": public_key,
        "s3napback_defaults": {"fulls": 4, "diffs": 6, "hour": 2},
        "s3napback_jobs": [{"name": "etc", "directory": "/etc"}, {"name": "srv", "directory": "/srv"}],
    }
    with open(os.path.join(directory, "group_vars", "all.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(variables, handle)
    return os.path.join(directory, "hosts.ini")


def install_collection(directory: str) -> str:
    """The collection as users get it: ansible-galaxy installs this tree into an empty path."""
    path = os.path.join(directory, "collections")
    galaxy = os.path.join(BIN, "ansible-galaxy")
    subprocess.run([galaxy, "collection", "install", "--force", ROOT, "-p", path], check=True, capture_output=True)
    return path


def measure(runs: int, sizes: tuple[int, ...]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="s3napback-bench-role-") as scratch:
        keys = make_keys(os.path.join(scratch, "keys"))
        env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": install_collection(scratch),
            "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
            "ANSIBLE_CALLBACKS_ENABLED": "s3napback_timings",
            "ANSIBLE_LOCAL_TEMP": os.path.join(scratch, "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        }
        try:
            for size in sizes:
                work = os.path.join(scratch, f"fleet-{size}")
                os.makedirs(work)
                names = [f"host{n}" for n in range(1, size + 1)]
                with Fleet(names, work) as fleet:
                    inventory = write_inventory(work, fleet, keys.public_key)
                    timings = os.path.join(work, "timings.json")
                    first = playbook(inventory, env, timings)
                    again = [playbook(inventory, env, timings) for _run in range(runs)]
                rows.append({"hosts": size, "first": first, "again": again})
                print(
                    f"{size} host(s): first {first['wall_s']:.1f} s, no change "
                    + ", ".join(f"{r['wall_s']:.1f}" for r in again)
                    + " s",
                    file=sys.stderr,
                )
        finally:
            keys.stop_agents()
    return rows


def _ran(run: dict) -> int:
    """Tasks that did something on at least one host (not skipped everywhere)."""
    return sum(1 for task in run["tasks"] if set(task.get("hosts", {})) - {"skipped"})


def render(rows: list[dict], runs: int) -> tuple[str, list[str]]:
    lines = [
        "| hosts | run | wall s, median (min-max) | per host s | tasks run | changed | CPU s, tree "
        "| CPU s, controller |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    missed = []
    for row in rows:
        size = row["hosts"]
        for label, measured in (("first", [row["first"]]), ("no change", row["again"])):
            walls = [m["wall_s"] for m in measured]
            wall = statistics.median(walls)
            spread = f" ({min(walls):.1f}-{max(walls):.1f})" if len(walls) > 1 else ""
            lines.append(
                f"| {size} | {label} | {wall:.1f}{spread} | {wall / size:.2f} | {_ran(measured[-1])} "
                f"| {max(m['changed'] for m in measured)} | {statistics.median(m['cpu_s'] for m in measured):.1f} "
                f"| {statistics.median(m['controller_cpu_s'] for m in measured):.1f} |"
            )
        if any(m["changed"] for m in row["again"]):
            missed.append(f"{size} host(s): a no-change run changed something")
        bars = {1: [("one host, first run", row["first"]["wall_s"])], 3: []}
        nochange = statistics.median(m["wall_s"] for m in row["again"])
        bars.setdefault(size, []).append(
            ({1: "one host, no change", 3: "three hosts, no change"}.get(size, ""), nochange)
        )
        for label, value in bars.get(size, []):
            if label in BARS and value > BARS[label]:
                missed.append(f"{label}: {value:.1f} s, bar {BARS[label]:.0f} s")
    last = rows[-1]
    nochange = statistics.median(m["wall_s"] for m in last["again"])
    per_task = {}
    for run in last["again"]:
        for task in run["tasks"]:
            per_task.setdefault(task["name"], []).append(task["seconds"])
    lines += [
        "",
        f"Each no-change run {runs} times after the first run, on a fresh fleet per size, 5 forks. At "
        f"{last['hosts']} hosts a no-change run costs {nochange / last['hosts']:.2f} s per host "
        f"({nochange:.1f} s in all).",
        "",
        f"Per task, no-change run at {last['hosts']} hosts (median s):",
        "",
        "| task | s |",
        "| --- | ---: |",
        *[f"| {name} | {statistics.median(secs):.2f} |" for name, secs in per_task.items()],
    ]
    return "\n".join(lines), missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="no-change runs per fleet size")
    parser.add_argument("--hosts", default=",".join(map(str, SIZES)), help="fleet sizes, comma-separated")
    options = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-role: chroot and overlay mounts need root", file=sys.stderr)
        return 1
    load = os.getloadavg()
    try:
        rows = measure(options.runs, tuple(int(n) for n in options.hosts.split(",")))
    except RuntimeError as exc:
        print(f"bench-role: {exc}", file=sys.stderr)
        return 1
    text, missed = render(rows, options.runs)
    publish("role_scaling", "The role's cost per host", text, load)
    for what in missed:
        print(f"bench-role: MISSED {what}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
