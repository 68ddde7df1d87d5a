# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a restore writes until it is done: a private directory beside its target, that a killed
restore does not leave behind for good.

The restore goes into ``.NAME.restoring-XXXX/tree`` beside ``dest`` (or ``svn_repository``), or
into ``.NAME.restoring-XXXX/dump`` beside ``dump_to``: on the same file system, so that it can be
put in place by a rename, and under a directory made 0700, so that no other user reads the
plaintext while it is being written, whatever modes tar gives the tree. SIGKILL or the OOM
killer would leave it there, decrypted; so it is flocked for the restore's life (scratch.py), and
the next restore beside the same target removes the ones whose restore has died.
"""

from __future__ import annotations

import os

from .errors import BackupError
from .exchange import put_in_place
from .scratch import ScratchDirectory


def _nothing_to_stop(_path: str) -> None:
    """A dead restore's tar or svnadmin reads from its pipe, which died with it."""


class WorkDirectory:
    """``with WorkDirectory(target) as work``: a new work directory beside ``target``, removed
    on the way out with whatever is still in it."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.parent = os.path.dirname(self.target)
        prefix = f".{os.path.basename(self.target)}.restoring-"
        self._scratch = ScratchDirectory(prefix, _nothing_to_stop, self.parent)
        self.path = ""

    def __enter__(self) -> WorkDirectory:
        try:
            os.makedirs(self.parent, exist_ok=True)
            self.path = self._scratch.__enter__()  # removes the ones of dead restores first
        except OSError as exc:
            raise BackupError("restore", f"cannot write next to {self.target}: {exc.strerror}") from exc
        return self

    def __exit__(self, *exc) -> None:
        self._scratch.__exit__(*exc)

    def file(self, name: str) -> str:
        """A path in the work directory."""
        return os.path.join(self.path, name)

    @property
    def tree(self) -> str:
        """Where a directory or a repository is restored, to become the target."""
        return self.file("tree")

    def put_tree_in_place(self) -> str:
        """Make the restored tree the target, in one step where the file system can: see
        exchange.py. What was the target is removed with the work directory."""
        return put_in_place(self.tree, self.target, self.file("old"))
