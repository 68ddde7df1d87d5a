# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""MySQL/MariaDB and PostgreSQL databases: always full dumps, streamed like any source.

A password reaches the client only through a 0600 file that is removed afterwards (MySQL's
``--defaults-extra-file``, PostgreSQL's ``PGPASSFILE``), never argv or the environment's values.
The dump tool's exit status and stderr decide whether the backup is good, not its output's size.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from dataclasses import dataclass, field

from . import naming
from .errors import BackupError
from .pipeline import Stage, child_environment
from .sources import BaseSource, Prepared
from .state import SetState

MYSQL_SYSTEM_SCHEMAS = ("information_schema", "performance_schema", "mysql", "sys")
MYSQLDUMP_OPTIONS = ("--single-transaction", "--routines", "--triggers", "--events", "--hex-blob")


@dataclass(frozen=True)
class Login:
    """How to reach a database server; the names are community.mysql's and community.postgresql's."""

    host: str | None = None
    port: int | None = None
    unix_socket: str | None = None
    user: str | None = None
    password: str | None = None
    config_file: str | None = None  # MySQL only: an option file to include (default ~/.my.cnf)

    def __repr__(self) -> str:  # never print the password by accident
        return f"Login(host={self.host!r}, port={self.port!r}, unix_socket={self.unix_socket!r}, user={self.user!r})"


def _private_file(prefix: str, text: str) -> str:
    descriptor, path = tempfile.mkstemp(prefix=prefix)  # mode 0600
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _remover(path: str):
    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    return remove


def _quoted(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def mysql_options_file(login: Login) -> str:
    """A 0600 option file with the login, for ``--defaults-extra-file``; the caller removes it."""
    lines = []
    config = login.config_file or os.path.expanduser("~/.my.cnf")
    if os.path.isfile(config):
        lines.append(f"!include {config}")
    lines.append("[client]")
    for option, value in (
        ("host", login.host),
        ("port", login.port),
        ("socket", login.unix_socket),
        ("user", login.user),
        ("password", login.password),
    ):
        if value not in (None, ""):
            lines.append(f"{option}={_quoted(value)}")
    return _private_file("s3napback-mysql-", "\n".join(lines) + "\n")


def pg_connection(login: Login, passfile: str | None) -> tuple[list[str], dict]:
    """libpq arguments and environment for ``login``; the password only in ``passfile``."""
    argv = ["--no-password"]
    host = login.unix_socket or login.host
    if host:
        argv.append(f"--host={host}")
    if login.port:
        argv.append(f"--port={login.port}")
    if login.user:
        argv.append(f"--username={login.user}")
    return argv, ({"PGPASSFILE": passfile} if passfile else {})


def pgpass_file(login: Login) -> str | None:
    if login.password is None:
        return None
    escaped = login.password.replace("\\", "\\\\").replace(":", "\\:")
    return _private_file("s3napback-pgpass-", f"*:*:*:*:{escaped}\n")


def _client_query(argv: list[str], env: dict, what: str) -> list[str]:
    found = subprocess.run(argv, capture_output=True, text=True, env=child_environment(env), check=False)
    if found.returncode != 0:
        lines = [line for line in found.stderr.strip().splitlines() if line.strip()]
        raise BackupError(what, lines[0] if lines else f"{argv[0]} exited with status {found.returncode}")
    return [line for line in found.stdout.splitlines() if line.strip()]


def mysql_databases(login: Login) -> list[str]:
    """Every database of the server but its own schemas."""
    options = mysql_options_file(login)
    try:
        names = _client_query(
            ["mysql", f"--defaults-extra-file={options}", "-N", "-B", "-e", "SHOW DATABASES"], {}, "mysql"
        )
    finally:
        _remover(options)()
    return [name for name in names if name not in MYSQL_SYSTEM_SCHEMAS]


def postgresql_databases(login: Login) -> list[str]:
    """Every database that accepts connections, but the templates."""
    passfile = pgpass_file(login)
    argv, env = pg_connection(login, passfile)
    query = "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"
    try:
        return _client_query(["psql", *argv, "--dbname=postgres", "-Atc", query], env, "psql")
    finally:
        if passfile:
            _remover(passfile)()


@dataclass(frozen=True)
class MySQLSource(BaseSource):
    """One database (or, with ``database=None``, every one in a single --all-databases dump)."""

    database: str | None
    login: Login = field(default_factory=Login)
    dump_options: tuple[str, ...] = MYSQLDUMP_OPTIONS

    type = "mysql_database"
    incremental = False
    uses_snapshot = False
    extension = ".mysql"

    def default_name(self) -> str:
        return naming.source_name("mysql", self.database or "all-databases")

    def check(self) -> None:
        if self.database is not None and (not self.database or self.database.startswith("-")):
            raise BackupError("source", f"mysql_database {self.database!r} is not a database name")

    def describe(self) -> dict:
        return {
            "type": self.type,
            "database": self.database or "--all-databases",
            "host": self.login.host,
            "socket": self.login.unix_socket,
        }

    def prepare(self, kind: str, state: SetState, index=None) -> Prepared:
        options = mysql_options_file(self.login)  # must be mysqldump's first option
        argv = ["mysqldump", f"--defaults-extra-file={options}", *self.dump_options]
        argv += ["--all-databases"] if self.database is None else [self.database]
        return Prepared(Stage("mysqldump", argv), cleanup=_remover(options))


@dataclass(frozen=True)
class PostgreSQLSource(BaseSource):
    """One database in pg_dump's custom format (restorable, selectively, with pg_restore), or with
    ``database=None`` the cluster's roles and tablespaces (pg_dumpall --globals-only)."""

    database: str | None
    login: Login = field(default_factory=Login)

    type = "postgresql_database"
    incremental = False
    uses_snapshot = False

    @property
    def extension(self) -> str:
        return ".pgsql" if self.database is None else ".pgdump"

    def default_name(self) -> str:
        return naming.source_name("pgsql", self.database or "globals")

    def check(self) -> None:
        if self.database is not None and (not self.database or self.database.startswith("-")):
            raise BackupError("source", f"postgresql_database {self.database!r} is not a database name")

    def describe(self) -> dict:
        return {
            "type": self.type,
            "database": self.database or "--globals-only",
            "host": self.login.unix_socket or self.login.host,
        }

    def prepare(self, kind: str, state: SetState, index=None) -> Prepared:
        passfile = pgpass_file(self.login)
        connection, env = pg_connection(self.login, passfile)
        if self.database is None:
            argv = ["pg_dumpall", "--globals-only", *connection]
        else:
            argv = ["pg_dump", "--format=custom", *connection, f"--dbname={self.database}"]
        cleanup = _remover(passfile) if passfile else (lambda: None)
        return Prepared(Stage(argv[0], argv, env=env), cleanup=cleanup)


def _mysql_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _pg_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextlib.contextmanager
def database_loader(option: str, database: str, login: Login, force: bool, plain_sql: bool):
    """The stage that loads a dump into ``database`` (created when absent), with the password file
    it needs for as long as the restore runs."""
    if option == "mysql_database":
        options = mysql_options_file(login)
        try:
            client = ["mysql", f"--defaults-extra-file={options}"]
            _client_query([*client, "-e", f"CREATE DATABASE IF NOT EXISTS {_mysql_name(database)}"], {}, "mysql")
            yield Stage("mysql", [*client, database])
        finally:
            _remover(options)()
        return
    passfile = pgpass_file(login)
    try:
        connection, env = pg_connection(login, passfile)
        literal = "'" + database.replace("'", "''") + "'"  # standard_conforming_strings: '' is the only escape
        query = f"SELECT 1 FROM pg_database WHERE datname = {literal}"  # noqa: S608
        exists = _client_query(["psql", *connection, "--dbname=postgres", "-Atc", query], env, "psql")
        if not exists:
            _client_query(
                ["psql", *connection, "--dbname=postgres", "-c", f"CREATE DATABASE {_pg_name(database)}"], env, "psql"
            )
        if plain_sql:  # roles and tablespaces (pg_dumpall --globals-only)
            yield Stage(
                "psql", ["psql", *connection, "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={database}"], env=env
            )
        else:
            clean = ["--clean", "--if-exists"] if force else []
            yield Stage(
                "pg_restore", ["pg_restore", *connection, *clean, "--exit-on-error", f"--dbname={database}"], env=env
            )
    finally:
        if passfile:
            _remover(passfile)()
