# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every request that reads a backup set says: which set, on which store, as of when, and
with which keys (request.py's RestoreRequest and browse.py's BrowseRequest add what they do), and
the options that say it."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import naming
from .gpg import DecryptionKeys
from .options import Option
from .point_in_time import point_in_time
from .s3 import Connection

# Which set, as of when, and which of its paths.
SET = {
    "bucket": Option("str", required=True),
    "prefix": Option("str"),
    "name": Option("str", required=True),
    "at": Option("str"),
    "paths": Option("list", []),
}

# The operator's secret key, and the backed-up host's signing key.
SECRET_KEY = {
    "gpg_home": Option("path"),
    "gpg_private_key": Option("str", no_log=True),
    "gpg_passphrase": Option("str", no_log=True),
    "gpg_verify_key": Option("str", no_log=False),
}


@dataclass(frozen=True)
class SetRequest:
    bucket: str
    name: str
    connection: Connection = field(default_factory=Connection)
    prefix: str | None = None
    at: str | None = None  # ISO 8601 date or timestamp; None: the newest backup
    paths: list[str] = field(default_factory=list)  # only these, relative to the backed-up directory
    gpg_home: str | None = None
    gpg_private_key: str | None = None
    gpg_passphrase: str | None = None
    gpg_verify_key: str | None = None  # armored public key that must have signed every manifest

    @property
    def key_prefix(self) -> str:
        return naming.host_prefix(self.prefix)

    @property
    def set_prefix(self) -> str:
        return naming.set_prefix(self.key_prefix, self.name)

    def keys(self) -> DecryptionKeys:
        return DecryptionKeys(self.gpg_home, self.gpg_private_key, self.gpg_passphrase)

    def problems(self) -> list[str]:
        found = [naming.name_problem(self.name), naming.prefix_problem(self.key_prefix)]
        if not self.bucket:
            found.append("bucket must not be empty")
        for path in self.paths:
            if path.startswith("/") or ".." in path.split("/"):
                found.append(f"path {path!r} must be relative to the backed-up directory, without '..'")
        try:
            point_in_time(self.at)
        except ValueError as exc:
            found.append(str(exc))
        found += self.connection.problems()
        return [problem for problem in found if problem]
