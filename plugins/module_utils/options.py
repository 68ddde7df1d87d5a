# s3napback's engine: plain Python shared by the modules and the host command. Private to this
# collection; its interfaces may change without notice.
"""The options of a backup job, by the module's names: types, defaults, and the request they make.

The module's argument spec and the host command's config file both end here, so a job means the
same thing in a playbook, an ad-hoc call and /etc/s3napback/config.yml.
"""

from __future__ import annotations

from .errors import BackupError
from .request import DEFAULT_STATE_DIR, BackupRequest
from .s3 import Connection
from .schedule import Schedule
from .sources import DirectorySource
from .svn import SvnSource, repositories_under

CONNECTION = {
    "access_key": ("str", None),
    "secret_key": ("str", None),
    "session_token": ("str", None),
    "profile": ("str", None),
    "region": ("str", None),
    "endpoint_url": ("str", None),
    "validate_certs": ("bool", True),
}

SOURCES = ("directory", "svn_repository", "svn_parent")

BACKUP = {
    "directory": ("path", None),
    "svn_repository": ("path", None),
    "svn_parent": ("path", None),
    "exclude": ("list", []),
    "name": ("str", None),
    "bucket": ("str", None),
    "prefix": ("str", None),
    "gpg_recipient": ("list", []),
    "gpg_public_key": ("str", None),
    "gpg_home": ("path", None),
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
    **CONNECTION,
}

SECRETS = ("secret_key", "session_token")


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


def typed_options(options: dict, known: dict) -> dict:
    """Every option of ``known`` with its type checked and its default filled in; raises ValueError
    naming the first unknown or mistyped option."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r}")
    return {name: _typed(name, kind, options.get(name, default)) for name, (kind, default) in known.items()}


def connection_from(options: dict) -> Connection:
    return Connection(**{name: options.get(name, default) for name, (_kind, default) in CONNECTION.items()})


def source_problem(options: dict) -> str | None:
    """Why the options do not name exactly one source, or None."""
    given = [name for name in SOURCES if options.get(name)]
    if len(given) != 1:
        return f"give exactly one source of {', '.join(SOURCES)}" + (f", not {' and '.join(given)}" if given else "")
    if given[0] == "svn_parent" and options.get("name"):
        return "name cannot be set with svn_parent: each repository gets a name of its own"
    if options.get("exclude") and given[0] != "directory":
        return "exclude applies to directory only"
    return None


def backup_requests(options: dict) -> tuple[list[BackupRequest], list[str]]:
    """The requests one job makes (one per repository for svn_parent), and notes on what was
    skipped; a BackupError for a job that names no single source."""
    problem = source_problem(options)
    if problem:
        raise BackupError("config", problem)
    parent = options.get("svn_parent")
    if not parent:
        return [backup_request(options)], []
    repositories, others = repositories_under(parent)
    notes = [f"{path} is not a Subversion repository: skipped" for path in others]
    requests = [backup_request({**options, "svn_parent": None, "svn_repository": path}) for path in repositories]
    return requests, notes


def backup_request(options: dict) -> BackupRequest:
    """The request for a job of one directory or repository, by the module's option names."""
    values = {name: options.get(name, default) for name, (_kind, default) in BACKUP.items()}
    if values["svn_repository"]:
        source = SvnSource(values["svn_repository"])
    else:
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
        encrypt=values["encrypt"],
        compression=values["compression"],
        compression_level=values["compression_level"],
        state_dir=values["state_dir"],
        schedule=Schedule(values["frequency"], values["phase"], values["diffs"], values["fulls"]),
        force=values["force"],
        force_full=values["force_full"],
    )
