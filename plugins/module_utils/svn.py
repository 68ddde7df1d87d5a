# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Subversion repositories: incremental by revision with ``svnadmin dump --incremental``.

The last revision stored is kept in the host's state and in the manifest, and advances only after
the upload and its manifest succeeded (the original lost revisions here). With no new revision
there is nothing to store.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from . import naming
from .errors import BackupError
from .pipeline import Stage, child_environment
from .sources import BaseSource, Prepared
from .state import SetState


def youngest(path: str) -> int:
    """The repository's newest revision; a BackupError when ``path`` is not a repository."""
    try:
        found = subprocess.run(
            ["svnlook", "youngest", path], capture_output=True, text=True, env=child_environment(), check=False
        )
    except OSError as exc:
        raise BackupError("svn", f"cannot run svnlook: {exc.strerror}") from exc
    if found.returncode != 0:
        cause = found.stderr.strip().splitlines()[-1] if found.stderr.strip() else f"status {found.returncode}"
        raise BackupError("source", f"{path} is not a readable Subversion repository ({cause})")
    return int(found.stdout.strip())


def is_repository(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "format")) and os.path.isdir(os.path.join(path, "db"))


def repositories_under(parent: str) -> tuple[list[str], list[str]]:
    """The repositories directly below ``parent``, and the other directories found there."""
    try:
        entries = sorted(os.scandir(parent), key=lambda entry: entry.name)
    except OSError as exc:
        raise BackupError("source", f"svn_parent {parent} cannot be read: {exc.strerror}") from exc
    directories = [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
    repositories = [path for path in directories if is_repository(path)]
    return repositories, [path for path in directories if path not in repositories]


@dataclass(frozen=True)
class SvnSource(BaseSource):
    """A Subversion repository: a full is revisions 0:HEAD, a diff LAST+1:HEAD."""

    path: str

    type = "svn_repository"
    incremental = True
    uses_snapshot = False
    extension = ".svndump"

    def default_name(self) -> str:
        return naming.source_name("svn", os.path.abspath(self.path))

    def check(self) -> None:
        if not os.path.isabs(self.path):
            raise BackupError("source", f"svn_repository {self.path!r} must be an absolute path")
        youngest(self.path)

    def describe(self) -> dict:
        return {"type": self.type, "path": self.path}

    def unchanged(self, state: SetState) -> str | None:
        last = state.record().get("revision")
        if isinstance(last, int) and youngest(self.path) == last:
            return f"no new revision since r{last}"
        return None

    def prepare(self, kind: str, state: SetState, index=None) -> Prepared:
        head = youngest(self.path)  # dump exactly up to here, so the recorded revision is the one stored
        last = state.record().get("revision")
        if kind == "diff" and not isinstance(last, int):
            raise BackupError("state", f"{state.record_path} records no revision to follow; run with force_full")
        if kind == "full":
            first = 0
        else:
            if not isinstance(last, int):
                raise AssertionError("a diff has a recorded revision, checked above")
            first = last + 1
        argv = ["svnadmin", "dump", "--quiet", "--revision", f"{first}:{head}"]
        if kind == "diff":
            argv.append("--incremental")
        argv += ["--", self.path]
        return Prepared(Stage("svnadmin", argv), {"revision": head}, {"revisions": [first, head]})
