# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``s3napback``: the host command that cron or systemd runs, over the same engine as the modules.

Installed by ``pip install`` of the repository as ``s3napback``; from an installed collection it
runs as ``PYTHONPATH=<collections path> python3 -m
ansible_collections.s3napback.s3napback.plugins.module_utils.host_command``.

    s3napback [--config FILE] [--json] run [JOB ...] [--force] [--force-full] [--check] [--jobs N]
    s3napback [--config FILE] [--json] list [JOB ...] [--probe]
    s3napback [--config FILE] [--json] restore JOB --dest DIR [--at TIME] [--path P ...] [--force] [--no-index]
        [KEYS] [RETRIEVAL]
    s3napback [--config FILE] [--json] verify JOB [--at TIME] [KEYS] [RETRIEVAL]
    s3napback [--config FILE] [--json] ls JOB [PATH ...] [--at TIME] [KEYS]
    s3napback [--config FILE] [--json] find JOB PATTERN [KEYS]
    KEYS: --gpg-home DIR | --gpg-private-key-file FILE, and --passphrase-file FILE, --gpg-verify-key-file FILE
    RETRIEVAL: --retrieval-tier Bulk|Standard|Expedited, --retrieval-days N, --wait, --wait-timeout S

Exit codes: 0 done, 3 nothing to do (no job was due), 1 a job failed (the others still ran), 2 usage
or configuration error, 4 ``list``: a job has no backup yet, 75 ``restore``/``verify``: archived
objects (GLACIER, DEEP_ARCHIVE) were asked for and are not ready, run the same command later, 143
stopped by SIGTERM (every running job's upload aborted, its state as it was).

``--jobs N`` (or ``parallel_jobs`` in the config) runs N jobs at once, each in a child process: see
parallel.py for why processes and what one job costs.
"""

from __future__ import annotations

from . import gc_tuning

gc_tuning.pause()  # before the imports below, which make most of what the process keeps: see gc_tuning.py

import argparse
import dataclasses
import datetime
import json
import os
import signal
import sys
import time
from typing import Any

from . import config
from .backup import run_backup
from .errors import BackupError, Terminated
from .host_browse import add_browse_commands, add_key_arguments, add_retrieval_arguments, find, key_options, ls
from .naming import set_prefix
from .options import connection_from
from .parallel import ParallelRun, Task, job_cost
from .run_report import Reporter
from .s3 import Bucket
from .termination import stop_on_signals
from .version import VERSION

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOTHING, EXIT_NO_BACKUP = 0, 1, 2, 3, 4
EXIT_RETRIEVING = 75  # EX_TEMPFAIL: archived objects were asked for; run the same command again later
NO_BACKUP = "no backup yet"
EXIT_TERMINATED = 128 + signal.SIGTERM


class Progress:
    """A live line on a terminal (stage, bytes, rate); silent under cron."""

    def __init__(self, job: str, stream, enabled: bool):
        self.job, self.stream, self.enabled = job, stream, enabled
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, stage: str, size: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.shown < 0.5:
            return
        self.shown = now
        rate = size / max(now - self.started, 1e-6)
        self.stream.write(f"\r\033[K{self.job}: {stage} {size / 1e6:,.1f} MB at {rate / 1e6:,.1f} MB/s")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log(args, *words) -> str:
    """One line per job on stdout: greppable key=value words after a UTC timestamp."""
    line = " ".join([_stamp(), *words])
    if not args.json:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return line


def _failed(job, stage: str, message: str, **times: str) -> tuple[dict, list[str]]:
    """The result and log words of ``job`` failing in ``stage``."""
    result = {"job": job.name, "status": "failed", "stage": stage, "msg": message, **times}
    return result, ["status=failed", f"error={json.dumps(message)}"]


def _backup(args, job, show_progress: bool = True) -> tuple[dict, list[str]]:
    """Run one job: its result and the words of its log line."""
    request = dataclasses.replace(
        job.request, force=args.force or job.request.force, force_full=args.force_full or job.request.force_full
    )
    progress = Progress(job.name, sys.stderr, show_progress and sys.stderr.isatty() and not args.json)
    started = _stamp()
    try:
        outcome = run_backup(request, check_mode=args.check, progress=progress)
    except BackupError as exc:
        return _failed(job, exc.stage, str(exc), started=started, finished=_stamp())
    finally:
        progress.clear()
    times = {"started": started, "finished": _stamp()}
    if outcome.backup is None:
        result = {"job": job.name, "status": "nothing", "reason": outcome.reason, **times, **_debris(outcome)}
        return result, ["status=nothing", f"reason={json.dumps(outcome.reason)}", *_debris_words(outcome)]
    backup = outcome.backup
    status = "planned" if args.check else "ok"
    words = [f"status={status}", f"kind={backup['kind']}", f"key={backup['key']}"]
    if not args.check:
        words += [f"bytes={backup['bytes_out']}", f"seconds={backup['duration_s']}"]
    result = {"job": job.name, "status": status, **times, **outcome.as_dict()}
    return result, [*words, f"rotated={len(outcome.rotated)}", *_debris_words(outcome)]


def _debris(outcome) -> dict:
    """What a killed run had left and this run cleared (or would, with --check)."""
    found = outcome.as_dict()
    return {name: found[name] for name in ("aborted_uploads", "removed_strays", "locked_strays")}


def _debris_words(outcome) -> list[str]:
    """Log words counting what a killed run had left, each only when there was some."""
    return [f"{name}={len(found)}" for name, found in _debris(outcome).items() if found]


def _finished(args, job, result: dict, words: list[str]) -> None:
    """Say how ``job`` went: its log line, cron's mail on failure, and the reports."""
    line = _log(args, job.name, *words)
    for warning in result.get("warnings") or []:  # a setting to fix: each run says it until then
        _log(args, job.name, f"warning={json.dumps(warning)}")
    if result["status"] == "failed" and not args.json and not sys.stderr.isatty():
        sys.stderr.write(f"s3napback: {job.name}: {result['msg']}\n")  # cron mails stderr
    if not args.check:
        args.reporter.finished(job, line, result)


def _in_parallel(args, jobs: list, limit: int) -> dict:
    """Each job in a child process of its own, ``limit`` at a time and within the memory budget;
    the parent alone logs and reports, so lines stay whole. No live line: several would garble."""
    results: dict[str, dict] = {}

    def done(task: Task, child: dict | None, cause: str) -> None:
        job = by_name[task.name]
        if child is None:
            result, words = _failed(job, "job", f"job: {cause}", finished=_stamp())
        else:
            result, words = child["result"], child["words"]
        results[job.name] = result
        _finished(args, job, result, words)

    def task_of(job) -> Task:
        def work() -> dict:
            result, words = _backup(args, job, show_progress=False)
            return {"result": result, "words": words}

        return Task(job.name, job_cost(job.request.part_size, job.request.upload_concurrency), work)

    by_name = {job.name: job for job in jobs}
    budget = args.loaded.memory_budget_mb * 2**20 if args.loaded.memory_budget_mb else None
    started = (lambda task: None) if args.check else (lambda task: args.reporter.started(by_name[task.name]))
    ParallelRun(limit, budget, started, done).run([task_of(job) for job in jobs])
    return results


def _run(args, jobs: list) -> tuple[int, list]:
    limit = args.parallel_jobs or args.loaded.parallel_jobs
    if limit > 1 and len(jobs) > 1:
        by_name = _in_parallel(args, jobs, limit)
        results = [by_name[job.name] for job in jobs]  # the file's order, whatever ended first
    else:
        results = []
        for job in jobs:
            if not args.check:
                args.reporter.started(job)
            result, words = _backup(args, job)
            results.append(result)
            _finished(args, job, result, words)
    if any(result["status"] == "failed" for result in results):
        return EXIT_FAILED, results
    return (EXIT_OK if any(result.get("backup") for result in results) else EXIT_NOTHING), results


def _list(args, jobs: list) -> tuple[int, list]:
    from .bucket_summary import describe_set  # noqa: PLC0415 (see COMMANDS)
    from .probe import run_probe  # noqa: PLC0415

    results = []
    now = datetime.datetime.now(datetime.timezone.utc)
    probed: dict[tuple, dict] = {}  # jobs on the same store and prefix share one probe
    code = EXIT_OK
    for job in jobs:
        request = job.request
        bucket = Bucket(request.connection, request.bucket)
        prefix = set_prefix(request.key_prefix, job.name)
        described = describe_set(bucket, prefix, bucket.list_objects(prefix), bucket.open_uploads(prefix), now)
        if not described["backups"]:
            # A job that never made a backup is what monitoring must hear about first.
            described["problems"] = [NO_BACKUP, *described["problems"]]
            code = code if code == EXIT_FAILED else EXIT_NO_BACKUP
        results.append({"job": job.name, **described})
        newest = described["newest"]
        age = f"{newest['age_s'] / 3600:.1f}h" if newest else "never"
        _log(
            args,
            job.name,
            f"backups={described['backups']}",
            f"chains={len(described['chains'])}",
            f"bytes={described['bytes']}",
            f"newest_age={age}",
            f"problems={len(described['problems'])}",
            *_storage_words(described["bytes_by_storage_class"]),
        )
        for problem in described["problems"]:
            _log(args, job.name, f"problem={json.dumps(problem)}")
        for backup in described["history"]:
            if "retrieval" in backup:  # archived: is a restored copy there to read, and until when?
                until = (
                    [f"until={json.dumps(backup['retrieval']['expires'])}"] if backup["retrieval"]["expires"] else []
                )
                _log(args, job.name, f"archived={backup['time']}", f"class={backup['storage_class']}",
                     f"retrieval={backup['retrieval']['state']}", *until)  # fmt: skip
        if args.probe:
            store = (request.connection, request.bucket, request.key_prefix)
            if store not in probed:
                probed[store] = run_probe(request.connection, request.bucket, request.key_prefix)
                _log_probe(args, job.name, probed[store])
            results[-1]["probe"] = probed[store]
            code = code if probed[store]["ok"] else EXIT_FAILED  # a store that loses data outranks a missing backup
    return code, results


def _storage_words(by_class: dict[str, int]) -> list[str]:
    return ["storage=" + ",".join(f"{name}:{size}" for name, size in by_class.items())] if by_class else []


def _log_probe(args, name: str, probe: dict) -> None:
    words = [f"{check['name']}={'ok' if check['ok'] else 'failed'}" for check in probe["checks"]]
    _log(args, name, f"probe={'ok' if probe['ok'] else 'failed'}", *words)
    for check in probe["checks"]:
        if not check["ok"]:
            _log(args, name, f"probe_{check['name']}={json.dumps(check['detail'])}")


def _target_of(job) -> str:
    """The restore option --dest stands for: the source's type (a new repository, a database), or
    a directory."""
    kind = job.request.source.type
    return kind if kind in ("svn_repository", "mysql_database", "postgresql_database") else "dest"


def _restore(args, jobs: list) -> tuple[int, list]:
    from .request import RestoreRequest, login_from  # noqa: PLC0415 (see COMMANDS)
    from .restore import run_restore  # noqa: PLC0415

    (job,) = config.select(jobs, [args.job])
    request = job.request
    target: dict[str, Any] = {_target_of(job): getattr(args, "dest", None)}
    restore_request = RestoreRequest(
        bucket=request.bucket,
        name=job.name,
        connection=connection_from(job.options),
        prefix=request.key_prefix,
        at=args.at,
        login=login_from(job.options),
        dump_to=getattr(args, "dump_to", None),
        **target,
        paths=getattr(args, "path", None) or [],
        force=getattr(args, "force", False),
        verify=args.command == "verify",
        index=getattr(args, "index", True),
        retrieval_tier=args.retrieval_tier,
        retrieval_days=args.retrieval_days,
        wait=args.wait,
        wait_timeout=args.wait_timeout,
        **key_options(args),
    )
    progress = Progress(job.name, sys.stderr, sys.stderr.isatty() and not args.json)
    try:
        outcome = run_restore(restore_request, progress=progress)
    finally:
        progress.clear()
    if outcome.pending:
        return _retrieving(args, job.name, outcome)
    _log(
        args,
        job.name,
        f"status={'verified' if outcome.verified else 'restored'}",
        f"at={outcome.at}",
        f"objects={len(outcome.objects)}",
        f"bytes={outcome.bytes}",
        *([f"dest={outcome.dest}"] if outcome.dest else []),
    )
    return EXIT_OK, [{"job": job.name, **outcome.as_dict()}]


def _retrieving(args, name: str, outcome) -> tuple[int, list]:
    """Archived objects asked for and not ready: say what and when, exit 75 to be run again."""
    retrieval = outcome.retrieval
    expected = ", ".join(f"{cls} {when}" for cls, when in retrieval["expected_ready"].items())
    words = [f"requested={len(retrieval['requested'])}", f"in_progress={len(retrieval['in_progress'])}"]
    words += [f"ready={len(retrieval['ready'])}", f"tier={retrieval['tier']}", f"bytes={retrieval['bytes']}"]
    _log(args, name, "status=retrieving", *words, f"expected={json.dumps(expected)}")
    return EXIT_RETRIEVING, [{"job": name, **outcome.as_dict()}]


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, not {text!r}")
    return int(text)


JOB_HELP = (
    "a job's name in the config file: its `name`, or the set name derived from its source (dir-etc for /etc);"
    " a job of several sets (svn_parent, a list of databases) by its `name` stands for all of them."
    " Default: {default}"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3napback",
        description="Streamed, encrypted, incremental backups to S3, as configured in the config file.",
        epilog="Exit codes: 0 done, 3 nothing was due, 1 a job failed, 2 usage or configuration error,"
        " 4 list: a job has no backup yet, 75 restore/verify: archived objects were asked for, run it again"
        " later, 143 stopped by SIGTERM.",
    )
    parser.add_argument("--version", action="version", version=f"s3napback {VERSION}")
    parser.add_argument(
        "--config",
        default=os.environ.get("S3NAPBACK_CONFIG", config.DEFAULT_PATH),
        help=f"the jobs' configuration (default {config.DEFAULT_PATH}, or $S3NAPBACK_CONFIG)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary instead of log lines")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="back up every job that is due, or the named ones")
    run.add_argument("jobs", nargs="*", metavar="JOB", help=JOB_HELP.format(default="every job, each backed up if due"))
    run.add_argument("--force", action="store_true", help="back up even if this period has a backup")
    run.add_argument("--force-full", action="store_true", help="make each backup a full")
    run.add_argument("--check", action="store_true", help="say what would happen; change nothing")
    run.add_argument(
        "--jobs",
        dest="parallel_jobs",
        type=_positive,
        metavar="N",
        help="run up to N jobs at once, each in a process of its own (default: parallel_jobs of the config, 1)",
    )
    listing = commands.add_parser(
        "list",
        help="show each job's backups, their age and any problem",
        description="Show each job's backups, chains, bytes, the newest backup's age and any problem."
        " Exit 0 when every listed job has a backup, 4 when one has none yet ('no backup yet'),"
        " 1 when a --probe fails.",
    )
    listing.add_argument("jobs", nargs="*", metavar="JOB", help=JOB_HELP.format(default="every job in the config file"))
    listing.add_argument(
        "--probe",
        action="store_true",
        help="also write, read back and delete probe objects under each job's prefix: does the store keep"
        " what is sent? (exit 1 if not)",
    )
    restore = commands.add_parser("restore", help="restore a job's set as of a point in time")
    verify = commands.add_parser("verify", help="read, decrypt and check a job's chain, writing nothing")
    for command in (restore, verify):
        command.add_argument("job", metavar="JOB")
        command.add_argument("--at", help="ISO 8601 date or time (default: the newest backup)")
        add_key_arguments(command)
        add_retrieval_arguments(command)
    into = restore.add_mutually_exclusive_group(required=True)
    into.add_argument("--dest", help="an empty or absent directory, a new repository, or a database to restore into")
    into.add_argument("--dump-to", help="write the decrypted, decompressed dump to this file instead")
    restore.add_argument("--path", action="append", help="restore only this member (repeatable)")
    restore.add_argument("--force", action="store_true", help="replace the contents of a non-empty --dest")
    restore.add_argument(
        "--no-index",
        dest="index",
        action="store_false",
        help="with --path: apply the whole chain in a scratch tree instead of reading only what holds the paths",
    )
    add_browse_commands(commands)
    return parser


# A command imports what only it uses (the listing, the probe, the restore, the file browser) when
# it runs: a timer's ``run`` loaded all of them first, a tenth of its start before tar could begin.
COMMANDS = {"run": _run, "list": _list, "restore": _restore, "verify": _restore, "ls": ls, "find": find}


def main(argv: list[str] | None = None) -> int:
    """The host command: returns its exit code, and must be the last thing its process does."""
    gc_tuning.keep_loaded()
    args = _parser().parse_args(argv)
    os.umask(0o077)  # what gpg, tar and the state create holds keys, paths and credentials: owner only
    stop_on_signals(signal.SIGTERM)
    try:
        return _main(args)
    except (Terminated, KeyboardInterrupt) as exc:
        sys.stderr.write(f"s3napback: {exc or 'interrupted'}; any unfinished upload was aborted, state is unchanged\n")
        return EXIT_TERMINATED
    finally:
        gc_tuning.skip_exit_collection()


def _main(args) -> int:
    try:
        loaded = config.load(args.config)
        selected = config.select(loaded.jobs, getattr(args, "jobs", None) or [])
        args.loaded = loaded
        args.reporter = Reporter(loaded.log_file, loaded.metrics_dir, status_dir=loaded.status_dir)
        for note in loaded.notes:
            _log(args, "-", f"note={json.dumps(note)}")
    except BackupError as exc:
        sys.stderr.write(f"s3napback: {exc}\n")
        return EXIT_USAGE
    try:
        code, results = COMMANDS[args.command](args, selected)
    except BackupError as exc:
        code, results = (EXIT_USAGE if exc.stage == "config" else EXIT_FAILED), [{"stage": exc.stage, "msg": str(exc)}]
        if not args.json:
            sys.stderr.write(f"s3napback: {exc}\n")
    if args.json:
        sys.stdout.write(json.dumps({"command": args.command, "exit_code": code, "results": results}, indent=2) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
