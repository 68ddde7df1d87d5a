"""``make bench-files``: questions a file index answers, against the whole-chain way and restic.

On the benchmark's data set, s3napback (host command) and restic each make a full and 6 diffs,
with the data set's 1% change before each diff. Then, round after round in alternating order:
``find`` of a file across all backups; a restore of one file last changed in the 3rd diff; a restore
of a subtree holding about 10% of the data. s3napback restores through the index and, for
comparison, with ``--no-index`` (the whole chain in a scratch tree). Bytes downloaded are counted
by a TCP relay between each tool and the server. Every restore is compared with the source.

Targets (issue 22): a single-file restore at least 10x faster than the whole-chain way, and no
slower than ``restic restore --include``; ``find`` across the whole history in under 3 s.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys

import yaml
from support.keys import RECIPIENT, make_keys

from . import dataset
from .byte_counter import ByteCounter
from .fragment import publish
from .measure import run_measured
from .run import alternated, data_set, parse_size
from .servers import BUCKET, SERVERS
from .tools import COLLECTIONS, HOST_COMMAND

DIFFS = 6
TARGET = "media/new/upload-3.jpg"  # added by the 3rd change and never changed again


class Trial:
    """One server with both tools' chains on it, and the ways of asking each of them."""

    def __init__(self, work: str, base: str, server, keys):
        self.work, self.server, self.keys = work, server, keys
        self.src = os.path.join(work, "src")
        shutil.rmtree(self.src, ignore_errors=True)
        shutil.copytree(base, self.src, symlinks=True)
        self.home = os.path.join(work, "home")
        os.makedirs(self.home, exist_ok=True)
        self.ca = getattr(server, "ca_bundle", None)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "PYTHONPATH": COLLECTIONS,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def config(self, url: str) -> str:
        path = os.path.join(self.work, f"config-{url.rsplit(':', 1)[1]}.yml")
        defaults = {"bucket": BUCKET, "prefix": "bench", "endpoint_url": url, "region": "us-east-1"}
        defaults.update(access_key="S3RVER", secret_key="S3RVER", gpg_recipient=RECIPIENT)  # noqa: S106
        defaults.update(gpg_home=self.keys.public_home, state_dir=os.path.join(self.work, "state"))
        if self.ca:
            defaults["aws_ca_bundle"] = self.ca
        with open(path, "w") as handle:
            yaml.safe_dump({"defaults": defaults, "jobs": [{"name": "data", "directory": self.src}]}, handle)
        os.chmod(path, 0o600)
        return path

    def s3napback(self, url: str, *args: str) -> list[str]:
        return [sys.executable, "-m", HOST_COMMAND, "--config", self.config(url), *args]

    def restic_env(self, url: str) -> dict:
        env = {**self.env, "RESTIC_REPOSITORY": f"s3:{url}/{BUCKET}/restic", "RESTIC_PASSWORD": "bench"}
        env.update(AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER")  # noqa: S106
        env["RESTIC_CACHE_DIR"] = os.path.join(self.home, "restic-cache")
        return env

    def restic(self, *args: str) -> list[str]:
        return ["restic", *(["--cacert", self.ca] if self.ca else []), *args]

    def make_chains(self) -> None:
        url = self.server.url
        run(self.restic("init"), self.restic_env(url))
        for step in range(DIFFS + 1):
            if step:
                dataset.change(self.src, self.size, step)
            run(self.s3napback(url, "run", "--force", "data"), self.env)
            run(self.restic("backup", "--quiet", "--host", "bench", self.src), self.restic_env(url))

    size = 0


def run(argv: list[str], env: dict) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv[:4])} ... failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def subtree(root: str, total: int) -> str:
    """The directory (two levels down at most) whose files hold closest to 10% of ``total``."""
    sizes: dict[str, int] = {}
    for directory, _dirs, _files in os.walk(root):
        relative = os.path.relpath(directory, root)
        if relative == "." or relative.count("/") > 1:
            continue
        sizes[relative] = sum(os.path.getsize(os.path.join(d, f)) for d, _s, names in os.walk(directory) for f in names)
    return min(sizes, key=lambda name: abs(sizes[name] - total / 10))


def same_tree(source: str, restored: str) -> bool:
    compared = filecmp.dircmp(source, restored)
    if compared.left_only or compared.right_only or compared.diff_files or compared.funny_files:
        return False
    _match, mismatch, errors = filecmp.cmpfiles(source, restored, compared.common_files, shallow=False)
    return (
        not mismatch
        and not errors
        and all(same_tree(os.path.join(source, d), os.path.join(restored, d)) for d in compared.common_dirs)
    )


def ways(trial: Trial, relay_url: str, path: str, dest: str) -> dict[str, list[str]]:
    """The restores compared: argv of each, all into ``dest``."""
    host = ["restore", "data", "--dest", dest, "--path", path, "--gpg-home", trial.keys.secret_home]
    return {
        "s3napback (index)": trial.s3napback(relay_url, *host),
        "s3napback (whole chain)": trial.s3napback(relay_url, *host, "--no-index"),
        "restic restore --include": trial.restic(
            "restore", "latest", "--target", dest, "--include", os.path.join(trial.src, path)
        ),
    }


def measure(trial: Trial, relay: ByteCounter, rounds: int, subtree_path: str) -> list[dict]:
    rows = []
    relay_url = f"{trial.server.url.rsplit(':', 1)[0]}:{relay.port}"
    finds = {
        "s3napback find": (
            trial.s3napback(relay_url, "find", "data", os.path.basename(TARGET), "--gpg-home", trial.keys.secret_home),
            trial.env,
        ),
        "restic find": (trial.restic("find", os.path.basename(TARGET)), trial.restic_env(relay_url)),
    }
    for number in range(rounds):
        for name, (argv, env) in alternated(list(finds.items()), number):
            relay.take()
            result = run_measured(argv, env=env)
            rows.append(_row("find", name, result, relay.take(), ok=result.returncode == 0, number=number))
        for what, path in (("one file", TARGET), ("10% subtree", subtree_path)):
            dest = os.path.join(trial.work, "restored")
            for name, argv in alternated(list(ways(trial, relay_url, path, dest).items()), number):
                shutil.rmtree(dest, ignore_errors=True)
                env = trial.restic_env(relay_url) if name.startswith("restic") else trial.env
                os.sync()
                relay.take()
                result = run_measured(argv, env=env)
                root = os.path.join(dest, trial.src.lstrip("/")) if name.startswith("restic") else dest
                ok = result.returncode == 0 and _same(trial.src, root, path)
                rows.append(_row(what, name, result, relay.take(), ok=ok, number=number))
    return rows


def _same(source: str, restored_root: str, path: str) -> bool:
    left, right = os.path.join(source, path), os.path.join(restored_root, path)
    if os.path.isdir(left):
        return os.path.isdir(right) and same_tree(left, right)
    return os.path.isfile(right) and filecmp.cmp(left, right, shallow=False)


def _row(step: str, tool: str, result, downloaded: int, *, ok: bool, number: int) -> dict:
    error = "" if ok else result.stderr.strip()[-200:]
    return {
        "step": step,
        "tool": tool,
        "round": number,
        "wall_s": result.wall_s,
        "peak_rss_bytes": result.peak_rss_bytes,
        "downloaded_bytes": downloaded,
        "ok": ok,
        "error": error,
    }


def table(server: str, rows: list[dict]) -> tuple[list[str], list[str]]:
    lines = [f"#### Server: {server}", "", "| step | tool | wall s, median (min-max) | MB downloaded | peak RSS MB |",
             "|---|---|---|---|---|"]  # fmt: skip
    medians = {}
    for step in ("find", "one file", "10% subtree"):
        for tool in dict.fromkeys(row["tool"] for row in rows if row["step"] == step):
            picked = [row for row in rows if row["step"] == step and row["tool"] == tool]
            walls = [row["wall_s"] for row in picked]
            medians[(step, tool)] = statistics.median(walls)
            down = statistics.median(row["downloaded_bytes"] for row in picked) / 1e6
            rss = max(row["peak_rss_bytes"] for row in picked) / 1e6
            lines.append(f"| {step} | {tool} | {medians[(step, tool)]:.2f} ({min(walls):.2f}-{max(walls):.2f}) |"
                         f" {down:.1f} | {rss:.0f} |")  # fmt: skip
    failures = [f"{row['step']} / {row['tool']}: {row['error']}" for row in rows if not row["ok"]]
    one = medians[("one file", "s3napback (index)")]
    faster = medians[("one file", "s3napback (whole chain)")] / one
    than_restic = medians[("one file", "restic restore --include")] / one
    find = medians[("find", "s3napback find")]
    targets = [
        ("one file: index >= 10x faster than the whole chain", f"{faster:.2f}x", faster >= 10),
        ("one file: index >= 1.0x restic restore --include", f"{than_restic:.2f}x", than_restic >= 1),
        ("find across the whole history < 3 s", f"{find:.2f} s", find < 3),
    ]
    lines += ["", "| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'yes' if met else 'NO'} |" for name, value, met in targets]
    return lines, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="s3rver-tls")
    scratch = os.environ.get("TMPDIR", "/var/tmp")  # noqa: S108 (the data set is too big for a tmpfs /tmp)
    parser.add_argument("--work", default=os.path.join(scratch, "s3napback-bench"))
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    base = data_set(args.work, size, 1)
    load = os.getloadavg()
    keys_dir = os.path.join(args.work, "files-keys")
    shutil.rmtree(keys_dir, ignore_errors=True)  # a run stopped half way leaves its keys
    keys = make_keys(keys_dir)
    body, failures = [f"Data set: {size >> 20} MiB, a full and {DIFFS} diffs per tool; {args.rounds} rounds.", ""], []
    try:
        for name in args.servers.split(","):
            work = os.path.join(args.work, f"files-{name}")
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            server = SERVERS[name](os.path.join(work, "s3")).start()
            try:
                trial = Trial(work, base, server, keys)
                trial.size = size
                trial.make_chains()
                chosen = subtree(trial.src, sum(os.path.getsize(os.path.join(d, f))
                                                for d, _s, names in os.walk(trial.src) for f in names))  # fmt: skip
                with ByteCounter(server.port) as relay:
                    rows = measure(trial, relay, args.rounds, chosen)
                lines, failed = table(name, rows)
                body += [*lines, "", f"The subtree: `{chosen}`.", ""]
                failures += failed
            finally:
                server.stop()
                shutil.rmtree(work, ignore_errors=True)
    finally:
        keys.stop_agents()
    publish("files", "Browsing and restoring paths through the file index (make bench-files)", "\n".join(body), load)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
