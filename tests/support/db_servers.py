"""Real MariaDB and PostgreSQL servers from Debian's packages, started by the tests on 127.0.0.1
and a private Unix socket, and stopped by them."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time

from .processes import free_port, wait_for_port

PASSWORD = "Tr0ub4dor&3-s3napback"  # the backup user's, looked for in every process's argv and env


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


def _shut_down(process: subprocess.Popen | None, shutdown: list[str], base: str) -> None:
    """Ask the server to stop cleanly, kill it if it will not, and remove its files."""
    if process and process.poll() is None:
        subprocess.run(shutdown, check=False, capture_output=True)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(base, ignore_errors=True)


class MariaDB:
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="s3napback-mariadb-")
        self.datadir = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> MariaDB:
        _run(
            [
                "mariadb-install-db",
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]
        )
        self.process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--pid-file={self.base}/mariadb.pid",
                "--bind-address=127.0.0.1",
                f"--port={self.port}",
                "--skip-name-resolve",
                f"--log-error={self.base}/error.log",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        self.sql(
            f"CREATE USER 'backup'@'localhost' IDENTIFIED BY '{PASSWORD}';"
            " GRANT ALL ON *.* TO 'backup'@'localhost' WITH GRANT OPTION;"
        )
        return self

    def client(self) -> list[str]:
        return ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"]

    def sql(self, statements: str, database: str | None = None) -> str:
        return _run([*self.client(), *([database] if database else [])], input=statements).stdout

    def stop(self) -> None:
        _shut_down(
            self.process, ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-uroot", "shutdown"], self.base
        )


class PostgreSQL:
    """A cluster owned by the postgres user (initdb refuses root), in a directory it can reach."""

    def __init__(self):
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.base = tempfile.mkdtemp(prefix="s3napback-postgresql-", dir="/tmp")
        self.datadir = os.path.join(self.base, "data")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def _as_postgres(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv]

    def start(self) -> PostgreSQL:
        shutil.chown(self.base, "postgres", "postgres")
        _run(
            self._as_postgres(
                f"{self.bin}/initdb",
                "-D",
                self.datadir,
                "--username=postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            )
        )
        self.process = subprocess.Popen(
            self._as_postgres(
                f"{self.bin}/postgres", "-D", self.datadir, "-k", self.base, "-h", "127.0.0.1", "-p", str(self.port)
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        for _attempt in range(100):  # listening comes a moment before accepting queries
            if subprocess.run(["pg_isready", "-q", "-h", self.base, "-p", str(self.port)], check=False).returncode == 0:
                break
            time.sleep(0.1)
        self.sql(f"CREATE ROLE backup LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        return self

    def sql(self, statements: str, database: str = "postgres") -> str:
        return _run(
            [
                "psql",
                "-h",
                self.base,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
            ],
            input=statements,
        ).stdout

    def stop(self) -> None:
        _shut_down(
            self.process, self._as_postgres(f"{self.bin}/pg_ctl", "-D", self.datadir, "stop", "-m", "fast"), self.base
        )


def _command_of(proc: str) -> str:
    try:
        with open(f"{proc}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")[:80]
    except OSError:
        return "?"


class SecretWatch:
    """``with SecretWatch(secret) as watch:`` looks through every process's argv and environment,
    over and over while the block runs, for ``secret``; ``watch.seen`` lists where it was."""

    def __init__(self, secret: str):
        self.secret = secret.encode()
        self.seen: list[str] = []
        self.looked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_looking)

    def _keep_looking(self) -> None:
        while not self._stop.is_set():
            self.look()

    def __enter__(self) -> SecretWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def look(self) -> None:
        for proc in glob.glob("/proc/[0-9]*"):
            for part in ("cmdline", "environ"):
                try:
                    with open(f"{proc}/{part}", "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                if self.secret in data:
                    self.seen.append(f"{proc}/{part}: {_command_of(proc)}: {data[:200]!r}")
        self.looked += 1


MARIADB_SCHEMA = """
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(50)) ENGINE=InnoDB;
CREATE TABLE order_lines (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT, data LONGBLOB) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB;
CREATE VIEW order_count AS SELECT COUNT(*) AS n FROM orders;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO audit(note) VALUES (CONCAT('order ', NEW.id));
CREATE PROCEDURE add_order(IN who VARCHAR(50)) INSERT INTO orders(customer) VALUES (who);
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE id < 0;
CALL add_order('first');
INSERT INTO order_lines(order_id, data) VALUES (1, REPEAT(UNHEX('00FF7F80'), 5000));
"""

PG_SCHEMA = """
CREATE SEQUENCE invoice_numbers START 1000;
CREATE TABLE invoices (id SERIAL PRIMARY KEY, number INT DEFAULT nextval('invoice_numbers'), scan BYTEA);
CREATE VIEW big_invoices AS SELECT id FROM invoices WHERE length(scan) > 10;
CREATE FUNCTION invoice_total() RETURNS BIGINT LANGUAGE SQL AS 'SELECT count(*) FROM invoices';
INSERT INTO invoices(scan) SELECT decode(repeat('00ff7f80', 2000 + i), 'hex') FROM generate_series(1, 20) AS i;
"""


def make_shop(server: MariaDB) -> str:
    """A MariaDB database with InnoDB tables, blobs, a view, a trigger, a procedure and an event."""
    server.sql("DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS shop_copy; CREATE DATABASE shop;")
    server.sql(MARIADB_SCHEMA, "shop")
    return "shop"


def make_invoices(server: PostgreSQL) -> str:
    """A PostgreSQL database with bytea, a view, a function and a sequence."""
    for statement in (
        "DROP DATABASE IF EXISTS invoices",
        "DROP DATABASE IF EXISTS invoices_copy",
        "CREATE DATABASE invoices",
    ):
        server.sql(statement)
    server.sql(PG_SCHEMA, "invoices")
    return "invoices"
