"""Real Subversion repositories for the tests, made and changed with svnadmin and the svn client."""

from __future__ import annotations

import os
import subprocess


def run(*argv: str, cwd: str | None = None) -> str:
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True).stdout


class Repository:
    """A repository and a working copy of it; ``commit_round(n)`` makes a few revisions."""

    def __init__(self, path: str, work: str):
        self.path, self.work = path, work
        run("svnadmin", "create", path)
        run("svn", "checkout", "--quiet", f"file://{path}", work)

    def commit(self, message: str) -> None:
        run("svn", "commit", "--quiet", "-m", message, cwd=self.work)

    def commit_round(self, number: int) -> None:
        """Text, binary, properties and a deletion, in three revisions."""
        with open(os.path.join(self.work, f"notes-{number}.txt"), "w", encoding="utf-8") as handle:
            handle.write(f"round {number}\n" * 50)
        with open(os.path.join(self.work, f"blob-{number}.bin"), "wb") as handle:
            handle.write(os.urandom(20_000))
        run("svn", "add", "--quiet", f"notes-{number}.txt", f"blob-{number}.bin", cwd=self.work)
        self.commit(f"round {number}: add")
        run("svn", "propset", "--quiet", "review:status", f"done-{number}", f"notes-{number}.txt", cwd=self.work)
        self.commit(f"round {number}: property")
        if number > 1:
            run("svn", "delete", "--quiet", f"blob-{number - 1}.bin", cwd=self.work)
            self.commit(f"round {number}: delete")

    def youngest(self) -> int:
        return int(run("svnlook", "youngest", self.path))

    def dump(self, until: int | None = None) -> bytes:
        """The repository as a dump of revisions 0 to ``until`` (default: all)."""
        upper = self.youngest() if until is None else until
        return subprocess.run(
            ["svnadmin", "dump", "--quiet", "-r", f"0:{upper}", self.path], check=True, capture_output=True
        ).stdout


def dump_of(path: str) -> bytes:
    return subprocess.run(["svnadmin", "dump", "--quiet", path], check=True, capture_output=True).stdout
