"""``make bench-overhead``: what one module call costs on localhost when there is no data to move.

Times, in alternated rounds after one warm-up round, the median wall time of: Ansible's own floor
(``ansible.builtin.ping``), ``ansible.builtin.shell -a true`` (what the hand-rolled pipe pays to run
under Ansible), ``s3napback_info`` on a prefix with one set, and the ``s3napback`` module on an empty
directory whose backup is already done today (nothing due: it checks the key, lists the set and
stops), the same with ``--check``, and the host command doing that same job without Ansible. The
module's overhead is its time less the host command's. Bars: each module call under 2 s, and a
nothing-due module call at most 0.3 s more than the shell module's ``true`` (issue 23). Prints a
Markdown fragment, writes it to bench/results/ansible_overhead.md, and exits 1 when a call fails or a
bar is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

from support.keys import RECIPIENT, make_keys

from .fragment import publish
from .measure import run_measured
from .servers import BUCKET, Moto
from .tools import Context, S3napbackHost, S3napbackModule

TARGET_S = 2.0
# Issue 23's bar: a nothing-due module call costs at most this much more than a shell-module call of
# `true`, so that the module pays for Ansible what the hand-rolled pipe under the shell module pays.
OVER_SHELL_S = 0.3
SHELL_TRUE = "`ansible -m ansible.builtin.shell -a true` (the pipe's floor under Ansible)"
NOTHING_DUE_CALL = "`ansible -m s3napback`, empty directory, nothing due"
NOTHING_DUE = 3  # the host command's exit code when no job was due


def _call(base: tuple[list[str], dict], module: str, args: dict | None = None) -> tuple[list[str], dict]:
    """The ad-hoc ``ansible`` command ``base`` with another module and arguments (or none)."""
    argv, env = base
    argv = [*argv[: argv.index("-m")], "-m", module]
    return ([*argv, "-a", json.dumps(args)] if args else argv), env


def _shell_true(base: tuple[list[str], dict]) -> tuple[list[str], dict]:
    """``ansible localhost -m ansible.builtin.shell -a true``: what the hand-rolled pipeline pays for Ansible."""
    argv, env = base
    return [*argv[: argv.index("-m")], "-m", "ansible.builtin.shell", "-a", "true"], env


def calls(ctx: Context) -> list[tuple[str, tuple[list[str], dict], bool]]:
    """(what, (argv, env), whether it is a module call the target is about)."""
    args = {"directory": ctx.src, "gpg_recipient": RECIPIENT, "gpg_home": ctx.public_home, "state_dir": ctx.state}
    backup = S3napbackModule()._ansible(ctx, "s3napback", args)
    info = {"bucket": BUCKET, "prefix": "bench", "endpoint_url": ctx.url}
    return [
        ("`ansible -m ansible.builtin.ping` (Ansible alone)", _call(backup, "ansible.builtin.ping"), False),
        (SHELL_TRUE, _shell_true(backup), False),
        (
            "`ansible -m s3napback_info`, one set of one backup",
            _call(backup, "s3napback.s3napback.s3napback_info", info),
            True,
        ),
        (NOTHING_DUE_CALL, backup, True),
        ("`ansible -m s3napback --check`, nothing due", ([*backup[0], "--check"], backup[1]), True),
        (
            "`s3napback run` (host command, no Ansible), nothing due",
            S3napbackHost()._command(ctx, "run", "data"),
            False,
        ),
    ]


def measure(runs: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="s3napback-overhead-") as scratch:
        src = os.path.join(scratch, "empty")
        os.makedirs(src)
        keys = make_keys(os.path.join(scratch, "keys"))
        server = Moto(scratch).start()
        try:
            ctx = Context(scratch, src, server.url, keys.fingerprint, keys.public_home, keys.secret_home)
            measured_calls = calls(ctx)
            # Alternated, a round of every call at a time, so a busier minute of the machine weighs on
            # all of them alike; round 0 warms up.
            rounds = [
                [run_measured(argv, env=env, cwd=scratch) for _w, (argv, env), _t in measured_calls]
                for _r in range(runs + 1)
            ]
            for index, (what, _call_argv, target) in enumerate(measured_calls):
                measured = [each[index] for each in rounds[1:]]
                failed = [m for m in measured if m.returncode not in (0, NOTHING_DUE)]
                if failed:
                    last = (failed[0].stdout.strip() + failed[0].stderr.strip() or "no output").splitlines()[-1]
                    raise RuntimeError(f"{what}: exit {failed[0].returncode}: {last}")
                walls, cpus = [m.wall_s for m in measured], [m.cpu_s for m in measured]
                peak = max(m.peak_rss_bytes for m in measured)
                rows.append({"what": what, "walls": walls, "cpus": cpus, "peak_rss_bytes": peak, "target": target})
                print(f"{what}: median {statistics.median(walls):.2f} s", file=sys.stderr)
        finally:
            server.stop()
            keys.stop_agents()
    return rows


def render(rows: list[dict], runs: int) -> tuple[str, bool]:
    lines = [
        "| call | median wall | min-max | median CPU (user+sys) | peak RSS, tree |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        walls = row["walls"]
        lines.append(
            f"| {row['what']} | {statistics.median(walls):.2f} s | {min(walls):.2f}-{max(walls):.2f} s "
            f"| {statistics.median(row['cpus']):.2f} s | {row['peak_rss_bytes'] / 1e6:.0f} MB |"
        )
    medians = {row["what"]: statistics.median(row["walls"]) for row in rows}
    cpu = {row["what"]: statistics.median(row["cpus"]) for row in rows}
    slowest = max((row["what"] for row in rows if row["target"]), key=medians.get)
    backup, host = NOTHING_DUE_CALL, rows[-1]["what"]
    over_shell = medians[backup] - medians[SHELL_TRUE]
    # Each round's own difference too: the calls of a round ran one after the other.
    walls = {row["what"]: row["walls"] for row in rows}
    per_round = statistics.median(b - s for b, s in zip(walls[backup], walls[SHELL_TRUE]))
    met = medians[slowest] < TARGET_S and over_shell <= OVER_SHELL_S
    lines += [
        "",
        f"{runs} alternated rounds after one warm-up round, on localhost (connection local), S3: moto. "
        f"A nothing-due module call less a shell-module call of `true`: {over_shell:.2f} s on the medians, "
        f"{per_round:.2f} s as the median of each round's difference (bar: at most {OVER_SHELL_S:.1f} s). "
        "Slowest module call "
        f"{medians[slowest]:.2f} s (under {TARGET_S:.0f} s). Bars {'met' if met else 'MISSED'}. "
        f"Ansible's share of a nothing-due backup, the module's median less the host command's: "
        f"{medians[backup] - medians[host]:.2f} s of wall time, {cpu[backup] - cpu[host]:.2f} s of CPU. "
        "CPU time is the whole tree's (Ansible, the module's Python, gpg); on a busy machine it varies less "
        "than the wall time.",
    ]
    return "\n".join(lines), met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    load = os.getloadavg()
    try:
        rows = measure(options.runs)
    except RuntimeError as exc:
        print(f"overhead: {exc}", file=sys.stderr)
        return 1
    text, met = render(rows, options.runs)
    publish("ansible_overhead", "Ansible's overhead per call", text, load)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
