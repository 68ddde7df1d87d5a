# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host command's ``ls`` and ``find``: a directory set's files through its indexes, and the
key options they share with ``restore`` and ``verify``.

browse.py (with the index reader and the download it brings) is imported by the commands that use
it, not with this file, which the host command's parser needs for every run.
"""

from __future__ import annotations

import sys
from typing import Any

from . import config
from .errors import BackupError
from .options import connection_from
from .retrieval import TIERS


def read_secret_file(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    except OSError as exc:
        raise BackupError("config", f"cannot read {path}: {exc.strerror}") from exc


def key_options(args) -> dict[str, Any]:
    """The secret key and the signing key the command line names, read from their files."""
    return {
        "gpg_home": args.gpg_home,
        "gpg_private_key": read_secret_file(args.gpg_private_key_file),
        "gpg_passphrase": read_secret_file(args.passphrase_file),
        "gpg_verify_key": read_secret_file(args.gpg_verify_key_file),
    }


def add_key_arguments(command) -> None:
    command.add_argument("--gpg-home", help="a GnuPG home that holds the secret key")
    command.add_argument("--gpg-private-key-file", help="a file with the armored secret key")
    command.add_argument("--passphrase-file", help="a file with the secret key's passphrase")
    command.add_argument(
        "--gpg-verify-key-file", help="the host's signing public key: every manifest must be signed by it"
    )


def add_retrieval_arguments(command) -> None:
    command.add_argument(
        "--retrieval-tier",
        choices=TIERS,
        default="Bulk",
        help="for archived objects (GLACIER, DEEP_ARCHIVE): Bulk (cheapest), Standard, or Expedited (GLACIER only)",
    )
    command.add_argument("--retrieval-days", type=int, default=7, help="days the restored copies last (default 7)")
    command.add_argument("--wait", action="store_true", help="wait until archived objects are restored, then go on")
    command.add_argument(
        "--wait-timeout", type=int, default=12 * 3600, help="seconds to wait at most with --wait (default 43200)"
    )


def _request(args, jobs: list, **more) -> tuple:
    (job,) = config.select(jobs, [args.job])
    request = job.request
    if request.source.type != "directory":
        raise BackupError("config", f"{job.name} is not a directory set: only those have file indexes")
    from .browse import BrowseRequest  # noqa: PLC0415

    browse = BrowseRequest(
        bucket=request.bucket,
        name=job.name,
        connection=connection_from(job.options),
        prefix=request.key_prefix,
        **key_options(args),
        **more,
    )
    return job, browse


def _short(key: str) -> str:
    """A backup's key without its set prefix: its time and kind, which is what tells it apart."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def ls(args, jobs: list) -> tuple[int, list]:
    from .browse import list_tree, tree_as_of  # noqa: PLC0415

    job, request = _request(args, jobs, at=args.at, paths=args.paths)
    if args.json:
        return 0, [{"job": job.name, **list_tree(request)}]
    head, files = tree_as_of(request)  # printed as they come: a million paths are not held at once
    sys.stdout.write(f"# {job.name} as of {head['at']} ({_short(head['backup'])})\n")
    for entry in files:
        target = f" -> {entry['target']}" if "target" in entry else ""
        line = f"{entry['type']:9} {entry['size']:>12} {entry['mtime'][:19]}Z {_short(entry['backup'])}"
        sys.stdout.write(f"{line} {entry['path'] or '.'}{target}\n")
    return 0, [{"job": job.name, **head}]


def find(args, jobs: list) -> tuple[int, list]:
    from .browse import find_versions  # noqa: PLC0415

    job, request = _request(args, jobs)
    found = find_versions(request, args.pattern)
    if not args.json:
        for version in found["versions"]:
            line = f"{version['time']} {_short(version['backup'])} {version['type']:9} {version['size']:>12}"
            sys.stdout.write(f"{line} {version['mtime'][:19]}Z {version['path']}\n")
            if version["deleted_in"]:
                gone = f"{version['deleted_in']}"
                sys.stdout.write(f"{'':20} {_short(gone)} {'deleted':9} {'':>12} {'':20} {version['path']}\n")
        for full in found["chains_without_index"]:
            sys.stdout.write(f"# {_short(full)}: a chain made before file indexes; not searched\n")
    return (0 if found["versions"] else 1), [{"job": job.name, **found}]


def add_browse_commands(commands) -> None:
    listing = commands.add_parser("ls", help="list a directory job's files as of a backup (reads its indexes only)")
    listing.add_argument("job", metavar="JOB", help="a directory job of the config file")
    listing.add_argument("paths", nargs="*", metavar="PATH", help="only these paths and what is under them")
    listing.add_argument("--at", help="ISO 8601 date or time (default: the newest backup)")
    add_key_arguments(listing)
    finding = commands.add_parser("find", help="every version of the paths matching a glob, across all backups")
    finding.add_argument("job", metavar="JOB", help="a directory job of the config file")
    finding.add_argument("pattern", metavar="PATTERN", help="a shell glob: on the name, or with a / on the path")
    add_key_arguments(finding)
