"""``make bench-tempdisk``: a backup writes no temporary file, by measurement.

The claim: no file larger than 1 MB is written outside the state directory during a backup. The
host command backs up a generated tree (default 300 MB) into moto under ``strace -f``, which logs
every write of the command and of every process it starts; the bytes written are summed per
regular file (pipes, sockets and terminals do not count) and every file with more than 1 MB is
listed, the state directory's apart. The same is done for a restore, where the chain is applied in
a work directory beside the destination and renamed into place. The command's TMPDIR is watched
as well (its peak size). Prints a Markdown fragment, writes it to bench/results/temp_disk.md, and
exits 1 when a file outside the expected places got more than 1 MB, or a command failed.

Not seen by strace: writes through a shared memory mapping (only the TMPDIR watch would catch
such a file, and only in TMPDIR), and the gpg-agent, which runs outside the command (the test keys'
agent, started before the restore; it only unwraps the session key).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field

from support import trees
from support.keys import make_keys

from . import dataset
from .fragment import publish
from .measure import run_measured
from .run import parse_size
from .servers import Moto
from .tools import Context, S3napbackHost

LIMIT = 1 << 20
MB = 1e6
# calls whose first argument is the fd written to: files, pipes, and the sockets of the upload
WRITES = ("write", "pwrite64", "writev", "pwritev", "pwritev2", "sendfile", "sendto", "sendmsg")
TRACED = (*WRITES, "openat", "rename", "renameat", "renameat2", "unlink", "unlinkat")
# 1234 write(5</path/of/file>, ""..., 8192) = 8192: the fd's target as strace -y shows it, and the count
WRITE_RE = re.compile(r"^(?:" + "|".join(WRITES) + r")\(\d+<(?P<target>.*?)>, .* = (?P<count>\d+)$")
RENAME_RE = re.compile(
    r'^rename(?:at2?)?\((?:[^,]*?<(?P<old_dir>[^>]*)>, )?"(?P<old>[^"]*)", '
    r'(?:[^,]*?<(?P<new_dir>[^>]*)>, )?"(?P<new>[^"]*)".* = 0$'
)
UNLINK_RE = re.compile(r'^unlink(?:at)?\((?:[^,]*?<(?P<dir>[^>]*)>, )?"(?P<path>[^"]*)".* = 0$')


@dataclass
class Trace:
    written: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # regular file -> bytes
    streamed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "pipe", "socket" -> bytes
    renames: list[tuple[str, str]] = field(default_factory=list)
    unlinked: set[str] = field(default_factory=set)


def _joined(directory: str | None, path: str) -> str:
    return os.path.normpath(os.path.join(directory or "", path))


def read_trace(prefix: str) -> Trace:
    """What every traced process wrote, from strace's files ``prefix.PID`` (one a process, so no
    call is split across lines)."""
    trace = Trace()
    for name in glob.glob(f"{glob.escape(prefix)}.*"):
        with open(name, errors="replace") as handle:
            for raw in handle:
                line = raw.rstrip("\n")
                if match := WRITE_RE.match(line):
                    target, count = match["target"], int(match["count"])
                    if target.startswith("/") and not target.startswith(("/dev/", "/proc/", "/sys/")):
                        trace.written[target] += count
                    else:  # pipe:[…], socket:[…], a terminal, /dev/null
                        trace.streamed[target.split(":")[0] if ":" in target else "device"] += count
                elif match := RENAME_RE.match(line):
                    trace.renames.append(
                        (_joined(match["old_dir"], match["old"]), _joined(match["new_dir"], match["new"]))
                    )
                elif match := UNLINK_RE.match(line):
                    trace.unlinked.add(_joined(match["dir"], match["path"]))
    return trace


def traced(argv: list[str], env: dict, cwd: str, watch: list[str]):
    """Run ``argv`` under strace; its Measurement and its Trace."""
    prefix = os.path.join(cwd, "strace", "trace")
    shutil.rmtree(os.path.dirname(prefix), ignore_errors=True)
    os.makedirs(os.path.dirname(prefix))
    strace = ["strace", "-f", "-ff", "-y", "-qq", "-s", "0", "-e", f"trace={','.join(TRACED)}", "-e", "signal=none"]
    measured = run_measured([*strace, "-o", prefix, "--", *argv], env=env, cwd=cwd, watch_dirs=watch)
    if measured.returncode != 0:
        last = (measured.stderr.strip() or "no output").splitlines()[-1]
        raise RuntimeError(f"{argv[-1]}: exit {measured.returncode}: {last}")
    return measured, read_trace(prefix)


def _fate(path: str, trace: Trace) -> str:
    """What became of a file: deleted, or moved (itself or a directory above it)."""
    if path in trace.unlinked:
        return "deleted afterwards"
    for old, new in trace.renames:
        if path == old:
            return f"renamed to `{new}`"
        if path.startswith(old + "/"):
            return f"moved into place with `{old}` as `{new}`"
    return "kept"


def report(title: str, measured, trace: Trace, places: dict[str, str], scratch: str) -> tuple[list[str], int]:
    """A table of the files with more than 1 MB written, by place, and how many of them lie outside
    ``places`` ({path prefix: what is there}; a directory's prefix ends with /), each of which is
    listed on its own."""
    groups: dict[tuple[str, str], list[int]] = {}
    outside = 0
    for path, count in sorted(trace.written.items()):
        if count <= LIMIT:
            continue
        fate = _fate(path, trace)
        where = next((label for prefix, label in places.items() if path.startswith(prefix)), None)
        if where is None:
            where, outside = f"**outside**: `{path}`", outside + 1
        groups.setdefault((where, fate), []).append(count)
    small = [count for count in trace.written.values() if count <= LIMIT]
    streams = ", ".join(f"{kind} {count / MB:,.1f} MB" for kind, count in sorted(trace.streamed.items()))
    lines = [
        f"**{title}**: {measured.wall_s:.1f} s under strace. Written to pipes, sockets and devices: {streams}. "
        f"{len(small)} files got at most 1 MB each ({sum(small) / MB:,.2f} MB together). The command's TMPDIR "
        f"peaked at {measured.peak_temp_bytes / MB:,.2f} MB. Files that got more than 1 MB:",
        "",
        "| where | files | MB written | then |",
        "| --- | ---: | ---: | --- |",
    ]
    for (where, fate), counts in groups.items():
        lines.append(f"| {where} | {len(counts)} | {sum(counts) / MB:,.1f} | {fate} |")
    if not groups:
        lines.append("| none | 0 | 0 | |")
    return [line.replace(scratch, "$SCRATCH") for line in lines] + [""], outside


def control(scratch: str) -> str:
    """That the method sees a temporary file: one of 2 MB, written in TMPDIR and deleted."""
    script = 'head -c 2000000 /dev/zero > "$TMPDIR/control"; rm "$TMPDIR/control"'
    _measured, trace = traced(["sh", "-c", script], {"PATH": os.environ["PATH"], "TMPDIR": scratch}, scratch, [])
    caught = trace.written.get(os.path.join(scratch, "control"), 0) > LIMIT and bool(trace.unlinked)
    if not caught:
        raise RuntimeError("the control's 2 MB temporary file was not seen: this strace's output is not understood")
    return "Control: a command that writes a 2 MB file in TMPDIR and deletes it is caught as such."


def measure(size: int, seed: int) -> tuple[list[str], bool]:
    lines, clean = [], True
    with tempfile.TemporaryDirectory(prefix="s3napback-tempdisk-") as scratch:
        lines += [control(scratch), ""]
        src = os.path.join(scratch, "src")
        dataset.generate(src, size, seed)
        source_bytes = sum(os.path.getsize(os.path.join(d, n)) for d, _s, names in os.walk(src) for n in names)
        keys = make_keys(os.path.join(scratch, "keys"))
        server = Moto(scratch).start()
        try:
            ctx = Context(scratch, src, server.url, keys.fingerprint, keys.public_home, keys.secret_home)
            tool = S3napbackHost()
            lines.append(
                f"Source: {source_bytes / MB:,.0f} MB in a generated tree (bench/dataset.py) in $SCRATCH, S3: moto. "
                "Every write of the command and its children, summed by the file it went to (strace -f -y)."
            )
            lines.append("")
            argv, env = tool.backup(ctx, 0)
            measured, trace = traced(argv, env, scratch, [ctx.tmp])
            found, outside = report(
                "Backup (`s3napback run`)", measured, trace, {ctx.state + "/": "state directory"}, scratch
            )
            lines += found
            clean = clean and outside == 0
            dest = os.path.join(scratch, "restored")
            # the decrypting gpg then uses this agent; one it forked itself would keep strace waiting
            subprocess.run(["gpgconf", "--homedir", keys.secret_home, "--launch", "gpg-agent"], check=True)
            argv, env = tool.restore(ctx, dest)
            measured, trace = traced(argv, env, scratch, [ctx.tmp])
            places = {
                ctx.state + "/": "state directory",
                dest + "/": "the destination",
                # the engine's work directory: tempfile.mkdtemp(prefix=".restored.restoring-") beside dest
                os.path.join(scratch, ".restored.restoring-"): "restore work directory, beside the destination",
            }
            found, outside = report("Restore (`s3napback restore`)", measured, trace, places, scratch)
            lines += found
            clean = clean and outside == 0
            differences = trees.differences(trees.picture(src), trees.picture(dest))
            if differences:
                raise RuntimeError(f"the restored tree differs: {len(differences)} entries, {differences[0]}")
        finally:
            server.stop()
            keys.stop_agents()
    verdict = "no file outside them got more than 1 MB" if clean else "FILES OUTSIDE THEM GOT MORE THAN 1 MB"
    lines.append(
        f"Expected places: the state directory (backup); the work directory and destination (restore): {verdict}."
    )
    return lines, clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="300M", help="the tree's size, e.g. 50M, 300M (default 300M)")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    load = os.getloadavg()
    try:
        lines, clean = measure(parse_size(options.size), options.seed)
    except RuntimeError as exc:
        print(f"temp disk: {exc}", file=sys.stderr)
        return 1
    publish("temp_disk", "Zero temporary disk", "\n".join(lines), load)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
