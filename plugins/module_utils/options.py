# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of a backup job, by the module's names: types, defaults, and the request they make.

The module's argument spec and the host command's config file both end here, so a job means the
same thing in a playbook, an ad-hoc call and /etc/s3napback/config.yml.
"""

from __future__ import annotations

import difflib
from typing import Any

from .databases import MYSQLDUMP_OPTIONS, Login, MySQLSource, PostgreSQLSource, mysql_databases, postgresql_databases
from .errors import BackupError
from .protection import Protection
from .request import DEFAULT_STATE_DIR, BackupRequest
from .rotation import KEEP_RULES, Retention
from .s3 import Connection
from .schedule import Schedule
from .sources import DirectorySource
from .svn import SvnSource, repositories_under

CONNECTION: dict[str, tuple[str, Any]] = {
    "access_key": ("str", None),
    "secret_key": ("str", None),
    "session_token": ("str", None),
    "profile": ("str", None),
    "region": ("str", None),
    "endpoint_url": ("str", None),
    "validate_certs": ("bool", True),
    "aws_ca_bundle": ("path", None),
    "checksum_calculation": ("str", None),
    "addressing_style": ("str", None),
}

SOURCES = ("directory", "mysql_database", "postgresql_database", "svn_repository", "svn_parent")

LOGIN: dict[str, tuple[str, Any]] = {
    "login_host": ("str", None),
    "login_port": ("int", None),
    "login_unix_socket": ("str", None),
    "login_user": ("str", None),
    "login_password": ("str", None),
    "config_file": ("path", None),
}

BACKUP: dict[str, tuple[str, Any]] = {
    "directory": ("path", None),
    "mysql_database": ("list", None),
    "all_in_one": ("bool", False),
    "mysqldump_options": ("list", None),
    "postgresql_database": ("list", None),
    **LOGIN,
    "svn_repository": ("path", None),
    "svn_parent": ("path", None),
    "exclude": ("list", []),
    "name": ("str", None),
    "bucket": ("str", None),
    "prefix": ("str", None),
    "gpg_recipient": ("list", []),
    "gpg_public_key": ("str", None),
    "gpg_home": ("path", None),
    "gpg_sign_key": ("str", None),
    "encrypt": ("bool", True),
    "compression": ("str", "zstd"),
    "compression_level": ("int", None),
    "state_dir": ("path", DEFAULT_STATE_DIR),
    "frequency": ("int", 1),
    "phase": ("int", 0),
    "diffs": ("int", 6),
    "fulls": ("int", 4),
    "force": ("bool", False),
    "force_full": ("bool", False),
    "storage_class": ("str", None),
    "storage_class_fulls": ("str", None),
    "storage_class_diffs": ("str", None),
    "sse": ("str", None),
    "sse_kms_key_id": ("str", None),
    "object_lock_days": ("int", None),
    "object_lock_mode": ("str", "COMPLIANCE"),
    "bandwidth_limit": ("int", None),
    "cycle": ("str", "simple"),
    "discs": ("int", None),
    "keep_daily": ("int", None),
    "keep_weekly": ("int", None),
    "keep_monthly": ("int", None),
    **CONNECTION,
}

SECRETS = ("secret_key", "session_token", "login_password")


def _typed(name: str, kind: str, value):
    """``value`` as option ``name`` of type ``kind``, or a ValueError saying what is wrong."""
    if value is None:
        return None
    if kind in ("str", "path"):
        if isinstance(value, (dict, list, bool)):
            raise ValueError(f"{name} must be a string, not {type(value).__name__}")
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        return value
    if isinstance(value, str):  # a single string where a list is expected, as Ansible allows
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of strings")
    return value


def unknown_option(name: str, known) -> str:
    """The line that names a mistyped option, with the closest of ``known`` when one is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"unknown option {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def typed_options(options: dict, known: dict) -> dict:
    """Every option of ``known`` with its type checked and its default filled in; raises ValueError
    naming the first unknown or mistyped option."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(unknown_option(unknown[0], known))
    return {name: _typed(name, kind, options.get(name, default)) for name, (kind, default) in known.items()}


def connection_from(options: dict) -> Connection:
    return Connection(**{name: options.get(name, default) for name, (_kind, default) in CONNECTION.items()})


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


def login_from(options: dict) -> Login:
    return Login(**{name[len("login_") :] if name.startswith("login_") else name: options.get(name) for name in LOGIN})


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
    ``options``), by the module's option names."""
    values = {name: options.get(name, default) for name, (_kind, default) in BACKUP.items()}
    if source is None and values["svn_repository"]:
        source = SvnSource(values["svn_repository"])
    elif source is None:
        source = DirectorySource(values["directory"], list(values["exclude"] or []))
    return BackupRequest(
        source=source,
        bucket=values["bucket"],
        connection=connection_from(values),
        name=values["name"],
        prefix=values["prefix"],
        gpg_recipient=list(values["gpg_recipient"] or []),
        gpg_public_key=values["gpg_public_key"],
        gpg_home=values["gpg_home"],
        gpg_sign_key=values["gpg_sign_key"],
        encrypt=values["encrypt"],
        compression=values["compression"],
        compression_level=values["compression_level"],
        state_dir=values["state_dir"],
        schedule=Schedule(values["frequency"], values["phase"], values["diffs"], values["fulls"]),
        force=values["force"],
        force_full=values["force_full"],
        protection=Protection(
            storage_class=values["storage_class"],
            storage_class_fulls=values["storage_class_fulls"],
            storage_class_diffs=values["storage_class_diffs"],
            sse=values["sse"],
            sse_kms_key_id=values["sse_kms_key_id"],
            object_lock_days=values["object_lock_days"],
            object_lock_mode=values["object_lock_mode"],
        ),
        bandwidth_limit=values["bandwidth_limit"],
        retention=Retention(**{name: values[name] for name in ("cycle", "discs", *KEEP_RULES)}),
    )
