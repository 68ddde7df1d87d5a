# s3napback's engine: plain Python shared by the modules and the host command. Private to this
# collection; its interfaces may change without notice.
"""The options of a backup job, by the module's names: types, defaults, and the request they make.

The module's argument spec and the host command's config file both end here, so a job means the
same thing in a playbook, an ad-hoc call and /etc/s3napback/config.yml.
"""

from __future__ import annotations

from .request import DEFAULT_STATE_DIR, BackupRequest
from .s3 import Connection
from .schedule import Schedule
from .sources import DirectorySource

CONNECTION = {
    "access_key": ("str", None),
    "secret_key": ("str", None),
    "session_token": ("str", None),
    "profile": ("str", None),
    "region": ("str", None),
    "endpoint_url": ("str", None),
    "validate_certs": ("bool", True),
}

BACKUP = {
    "directory": ("path", None),
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


def backup_request(options: dict) -> BackupRequest:
    """The request for one backup job given by the module's option names (defaults filled in)."""
    values = {name: options.get(name, default) for name, (_kind, default) in BACKUP.items()}
    return BackupRequest(
        source=DirectorySource(values["directory"], list(values["exclude"] or [])),
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
