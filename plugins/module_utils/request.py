# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The requests the modules and the host command make of the engine, each made from its table of
options: a backup job's (the module s3napback's, and each job of the host command's config file)
and a restore's. Each request checks its own values (``problems``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import naming
from .compression import COMPRESSORS
from .databases import MYSQLDUMP_OPTIONS, Login, MySQLSource, PostgreSQLSource, mysql_databases, postgresql_databases
from .errors import BackupError
from .options import CONNECTION, LOGIN, Option, connection_from, fields_of
from .protection import ENCRYPTIONS, LOCK_MODES, STORAGE_CLASSES, Protection
from .retrieval import TIERS, Retrieval
from .rotation import CYCLES, Retention
from .s3 import Connection
from .schedule import Schedule
from .set_request import SECRET_KEY, SET, SetRequest
from .sources import DirectorySource
from .svn import SvnSource, repositories_under

DEFAULT_STATE_DIR = "/var/lib/s3napback"
MIN_BANDWIDTH = 64 * 1024

SOURCES = ("directory", "mysql_database", "postgresql_database", "svn_repository", "svn_parent")

BACKUP = {
    "directory": Option("path"),
    "mysql_database": Option("list"),
    "all_in_one": Option("bool", False),
    "mysqldump_options": Option("list"),
    "postgresql_database": Option("list"),
    **LOGIN,
    "svn_repository": Option("path"),
    "svn_parent": Option("path"),
    "exclude": Option("list", []),
    "name": Option("str"),
    "bucket": Option("str", required=True),
    "prefix": Option("str"),
    "gpg_recipient": Option("list", []),
    "gpg_public_key": Option("str", no_log=False),
    "gpg_home": Option("path"),
    "gpg_sign_key": Option("str", no_log=False),  # a key ID, not the key
    "encrypt": Option("bool", True),
    "compression": Option("str", "zstd", choices=tuple(COMPRESSORS)),
    "compression_level": Option("int"),
    "state_dir": Option("path", DEFAULT_STATE_DIR),
    "frequency": Option("int", 1),
    "phase": Option("int", 0),
    "diffs": Option("int", 6),
    "fulls": Option("int", 4),
    "force": Option("bool", False),
    "force_full": Option("bool", False),
    "storage_class": Option("str", choices=STORAGE_CLASSES),
    "storage_class_fulls": Option("str", choices=STORAGE_CLASSES),
    "storage_class_diffs": Option("str", choices=STORAGE_CLASSES),
    "sse": Option("str", choices=ENCRYPTIONS),
    "sse_kms_key_id": Option("str", no_log=False),  # names a key, is none
    "object_lock_days": Option("int"),
    "object_lock_mode": Option("str", "COMPLIANCE", choices=LOCK_MODES),
    "bandwidth_limit": Option("int"),
    "cycle": Option("str", "simple", choices=CYCLES),
    "discs": Option("int"),
    "keep_daily": Option("int"),
    "keep_weekly": Option("int"),
    "keep_monthly": Option("int"),
    **CONNECTION,
}

RESTORE = {
    **SET,
    "dest": Option("path"),
    "svn_repository": Option("path"),
    "mysql_database": Option("str"),
    "postgresql_database": Option("str"),
    "dump_to": Option("path"),
    **LOGIN,
    "force": Option("bool", False),
    "verify": Option("bool", False),
    "index": Option("bool", True),
    "retrieval_tier": Option("str", "Bulk", choices=TIERS),
    "retrieval_days": Option("int", 7),
    "wait": Option("bool", False),
    "wait_timeout": Option("int", 12 * 3600),
    **SECRET_KEY,
    **CONNECTION,
}


@dataclass(frozen=True)
class BackupRequest:
    source: DirectorySource
    bucket: str
    connection: Connection = field(default_factory=Connection)
    name: str | None = None
    prefix: str | None = None
    gpg_recipient: list[str] = field(default_factory=list)
    gpg_public_key: str | None = None
    gpg_home: str | None = None
    gpg_sign_key: str | None = None  # a secret key in the keyring that signs each manifest
    encrypt: bool = True
    compression: str = "zstd"
    compression_level: int | None = None
    state_dir: str = DEFAULT_STATE_DIR
    schedule: Schedule = field(default_factory=Schedule)
    force: bool = False
    force_full: bool = False
    part_size: int = 8 * 1024 * 1024
    # three parts uploading while a fourth fills: as fast as four on moto and s3rver over TLS (bench.ab,
    # 2026-12-05), 8 MiB less than four, which the module's 150 MB budget on the host needs
    upload_concurrency: int = 3
    protection: Protection = field(default_factory=Protection)
    retention: Retention = field(default_factory=Retention)
    bandwidth_limit: int | None = None  # bytes per second of upload

    @property
    def set_name(self) -> str:
        return self.name or self.source.default_name()

    @property
    def key_prefix(self) -> str:
        return naming.host_prefix(self.prefix)

    @property
    def keyring_home(self) -> str:
        return self.gpg_home or os.path.join(self.state_dir, "gnupg")

    def problems(self) -> list[str]:
        found: list[str | None] = []
        if not self.bucket:
            found.append("bucket must not be empty")
        for problem in (naming.name_problem(self.set_name), naming.prefix_problem(self.key_prefix)):
            if problem:
                found.append(problem)
        found += self.schedule.problems()
        if self.encrypt and not self.gpg_recipient:
            found.append("gpg_recipient is required to encrypt (set encrypt: false to store backups in clear)")
        if not self.encrypt and (self.gpg_recipient or self.gpg_public_key):
            found.append("encrypt is false but gpg_recipient or gpg_public_key is set: remove one or the other")
        if self.compression not in COMPRESSORS:
            found.append(f"compression must be one of {', '.join(COMPRESSORS)}, not {self.compression!r}")
        else:
            found.append(COMPRESSORS[self.compression].level_problem(self.compression_level))
        if not os.path.isabs(self.state_dir):
            found.append(f"state_dir {self.state_dir!r} must be an absolute path")
        if not 1 <= self.upload_concurrency <= 64:
            found.append("upload_concurrency must be from 1 to 64")
        if self.bandwidth_limit is not None and self.bandwidth_limit < MIN_BANDWIDTH:
            found.append(f"bandwidth_limit must be at least {MIN_BANDWIDTH} bytes per second")
        found += self.protection.problems()
        found += self.retention.problems()
        found += self.connection.problems()
        return [problem for problem in found if problem]


# The restore's targets, one of which a request names.
TARGETS = ("dest", "svn_repository", "mysql_database", "postgresql_database", "dump_to", "verify")


@dataclass(frozen=True)
class RestoreRequest(SetRequest):
    dest: str | None = None  # a directory set's target
    svn_repository: str | None = None  # a Subversion set's target: the new repository
    mysql_database: str | None = None  # a MySQL set's target database (created if absent)
    postgresql_database: str | None = None  # a PostgreSQL set's target database (created if absent)
    dump_to: str | None = None  # any set: the decrypted, decompressed stream into this file
    login: Login = field(default_factory=Login)
    force: bool = False
    verify: bool = False
    index: bool = True  # paths: read only what holds them, through the file index (restore_paths.py)
    retrieval_tier: str = "Bulk"  # archived objects (retrieval.py)
    retrieval_days: int = 7
    wait: bool = False
    wait_timeout: int = 12 * 3600

    @property
    def retrieval(self) -> Retrieval:
        return Retrieval(self.retrieval_tier, self.retrieval_days, self.wait, self.wait_timeout)

    def problems(self) -> list[str]:
        found = super().problems() + self.retrieval.problems()
        targets = [name for name in TARGETS if getattr(self, name)]
        if len(targets) != 1:
            found.append(
                f"give one of {', '.join(TARGETS[:-1])} or verify: true"
                + (f", not {' and '.join(targets)}" if targets else "")
            )
        for name in ("mysql_database", "postgresql_database"):
            if (getattr(self, name) or "x").startswith("-"):
                found.append(f"{name} {getattr(self, name)!r} is not a database name")
        for name in ("dest", "svn_repository", "dump_to"):
            if getattr(self, name) and not os.path.isabs(getattr(self, name)):
                found.append(f"{name} {getattr(self, name)!r} must be an absolute path")
        if self.paths and not self.dest:
            found.append("paths needs dest")
        return found


def login_from(options: dict) -> Login:
    return Login(**{name[len("login_") :] if name.startswith("login_") else name: options.get(name) for name in LOGIN})


def restore_request(options: dict) -> RestoreRequest:
    """The request of a restore, by the module's option names."""
    return RestoreRequest(
        connection=connection_from(options), login=login_from(options), **fields_of(RestoreRequest, options)
    )


def source_problem(options: dict) -> str | None:
    """Why the options do not name exactly one source, or None."""
    given = [name for name in SOURCES if options.get(name)]
    if len(given) != 1:
        return f"give exactly one source of {', '.join(SOURCES)}" + (f", not {' and '.join(given)}" if given else "")
    if options.get("name") and expands(options):
        return f"name cannot be set with {given[0]} naming several sets: each gets a name of its own"
    if options.get("exclude") and given[0] != "directory":
        return "exclude applies to directory only"
    return None


def expands(options: dict) -> bool:
    """Whether the job names several sets: svn_parent, several databases, or all of them."""
    if options.get("svn_parent"):
        return True
    for option in ("mysql_database", "postgresql_database"):
        names = options.get(option) or []
        if len(names) > 1 or (names == ["all"] and not (option == "mysql_database" and options.get("all_in_one"))):
            return True
    return False


def backup_requests(options: dict) -> tuple[list[BackupRequest], list[str]]:
    """The requests one job makes (one per repository of svn_parent, per database of a list or of
    ``all``), and notes on what was skipped; a BackupError for a job without a single source."""
    problem = source_problem(options)
    if problem:
        raise BackupError("config", problem)
    one = {**options, **dict.fromkeys(("svn_parent", "mysql_database", "postgresql_database"))}
    if options.get("svn_parent"):
        repositories, others = repositories_under(options["svn_parent"])
        notes = [f"{path} is not a Subversion repository: skipped" for path in others]
        return [backup_request({**one, "svn_repository": path}) for path in repositories], notes
    if options.get("mysql_database"):
        names = options["mysql_database"]
        if names == ["all"]:
            names = [None] if options.get("all_in_one") else mysql_databases(login_from(options))
        return [
            backup_request(one, MySQLSource(name, login_from(options), _dump_options(options))) for name in names
        ], []
    if options.get("postgresql_database"):
        names = options["postgresql_database"]
        if names == ["all"]:
            names = [*postgresql_databases(login_from(options)), None]  # None: the roles (globals)
        return [backup_request(one, PostgreSQLSource(name, login_from(options))) for name in names], []
    return [backup_request(options)], []


def _dump_options(options: dict) -> tuple[str, ...]:
    given = options.get("mysqldump_options")
    return MYSQLDUMP_OPTIONS if given is None else tuple(given)


def backup_request(options: dict, source=None) -> BackupRequest:
    """The request for a job of one source (``source``, or the directory or repository named in
    ``options``), by the module's option names; each piece of it takes the options named as its
    fields."""
    values = {name: options.get(name, option.default) for name, option in BACKUP.items()}
    if source is None and values["svn_repository"]:
        source = SvnSource(values["svn_repository"])
    elif source is None:
        source = DirectorySource(values["directory"], list(values["exclude"] or []))
    values["gpg_recipient"] = list(values["gpg_recipient"] or [])
    return BackupRequest(
        source=source,
        connection=connection_from(values),
        schedule=Schedule(**fields_of(Schedule, values)),
        protection=Protection(**fields_of(Protection, values)),
        retention=Retention(**fields_of(Retention, values)),
        **fields_of(BackupRequest, values),
    )
