"""MariaDB and PostgreSQL against real servers: consistent dumps under writes, restores compared
table by table, routines and views included, and passwords that never show."""

import dataclasses
import datetime
import glob
import subprocess
import threading

import pytest
from support.db_servers import PASSWORD, MariaDB, SecretWatch, make_invoices, make_shop
from support.engine import restore_set
from support.fixtures import bucket_contents, open_uploads

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup, run_job
from ansible_collections.s3napback.s3napback.plugins.module_utils.databases import Login, MySQLSource, PostgreSQLSource
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError

DAY = datetime.datetime(2026, 12, 31, 2, 30, tzinfo=datetime.timezone.utc)


def mysql_login(server):
    return Login(unix_socket=server.socket, user="backup", password=PASSWORD)


def pg_login(server):
    return Login(host="127.0.0.1", port=server.port, user="backup", password=PASSWORD)


@pytest.fixture
def shop(mariadb):
    return make_shop(mariadb)


def test_a_mariadb_dump_under_writes_is_consistent_and_restores_exactly(tmp_path, make_request, mariadb, shop, keys):
    request = make_request(tmp_path, source=MySQLSource("shop", mysql_login(mariadb)))
    writer = subprocess.Popen([*mariadb.client(), "shop"], stdin=subprocess.PIPE, text=True)
    stop = threading.Event()

    def write():  # each transaction adds an order (and, by trigger, an audit row) and its line
        while not stop.is_set():
            writer.stdin.write(
                "START TRANSACTION; CALL add_order('w'); INSERT INTO order_lines(order_id, data)"
                " VALUES (LAST_INSERT_ID(), UNHEX('00FF')); COMMIT;\n"
            )
            writer.stdin.flush()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        during = run_backup(request, now=DAY)
    finally:
        stop.set()
        thread.join()
        writer.stdin.close()
        writer.wait()
    assert during.backup["kind"] == "full" and during.backup["key"].endswith("-full.mysql.zst.gpg")
    restore_set(request, keys, mysql_database="shop_copy", login=mysql_login(mariadb))
    orders, lines, audit = (
        int(mariadb.sql(f"SELECT COUNT(*) FROM {t}", "shop_copy")) for t in ("orders", "order_lines", "audit")
    )
    assert orders > 1 and orders == lines == audit, "one transaction's rows are all in the dump or none"

    settled = run_backup(
        make_request(tmp_path, source=MySQLSource("shop", mysql_login(mariadb)), force=True),
        now=DAY + datetime.timedelta(hours=1),
    )
    assert settled.backup["kind"] == "full"  # databases have no diffs
    mariadb.sql("DROP DATABASE shop_copy")
    restore_set(request, keys, mysql_database="shop_copy", login=mysql_login(mariadb))
    for table in ("orders", "order_lines", "audit"):
        original = mariadb.sql(f"CHECKSUM TABLE shop.{table} EXTENDED").split()[-1]
        assert mariadb.sql(f"CHECKSUM TABLE shop_copy.{table} EXTENDED").split()[-1] == original, table
    routines = "SELECT COUNT(*) FROM information_schema.{} WHERE {}_SCHEMA = 'shop_copy'"
    for what, column in (("VIEWS", "TABLE"), ("TRIGGERS", "TRIGGER"), ("ROUTINES", "ROUTINE"), ("EVENTS", "EVENT")):
        assert mariadb.sql(routines.format(what, column)).strip() == "1", what


@pytest.mark.alone  # SecretWatch reads every process on the machine: no other test beside it
def test_mariadb_mistakes_fail_clearly_and_the_password_never_shows(tmp_path, make_request, mariadb, shop, s3, bucket):
    with SecretWatch(PASSWORD) as watch:
        cases = [
            (
                Login(unix_socket=mariadb.socket, user="backup", password="wrong-" + PASSWORD),
                "shop",
                r"^mysqldump: Got error: 1045: .*Access denied for user 'backup'@'localhost'",
            ),
            (mysql_login(mariadb), "no_such_db", r"^mysqldump: Got error: 1049: .*Unknown database"),
            (
                Login(unix_socket=str(tmp_path / "gone.sock"), user="backup", password=PASSWORD),
                "shop",
                r"^mysqldump: Got error: 2002: .*Can't connect",
            ),
        ]
        for login, database, expected in cases:
            request = make_request(tmp_path, source=MySQLSource(database, login), name=f"case-{database}")
            with pytest.raises(BackupError, match=expected) as failure:
                run_backup(request, now=DAY)
            assert PASSWORD not in str(failure.value) + failure.value.details
        made = run_backup(make_request(tmp_path, source=MySQLSource("shop", mysql_login(mariadb))), now=DAY)
    assert made.backup["kind"] == "full" and PASSWORD not in str(made.as_dict())
    assert watch.looked > 10 and watch.seen == []
    assert [k for k in bucket_contents(s3, bucket) if "case-" in k] == [] and open_uploads(s3, bucket) == []
    assert glob.glob("/tmp/s3napback-mysql-*") == [], "password files are removed"


def test_mariadb_all_makes_a_set_per_database(job_options, mariadb, shop):
    mariadb.sql("DROP DATABASE IF EXISTS crm; CREATE DATABASE crm; CREATE TABLE crm.people (id INT PRIMARY KEY);")
    options = job_options(
        mysql_database=["all"], login_unix_socket=mariadb.socket, login_user="backup", login_password=PASSWORD
    )
    summary = run_job(options, now=DAY)
    names = sorted(result["backup_set"]["name"] for result in summary["results"])
    assert names == ["mysql-crm", "mysql-shop"] and all(r["changed"] for r in summary["results"])


@pytest.fixture
def invoices(postgresql):
    return make_invoices(postgresql)


def test_a_postgresql_dump_restores_table_function_view_and_sequence(
    tmp_path, make_request, postgresql, invoices, keys
):
    request = make_request(tmp_path, source=PostgreSQLSource("invoices", pg_login(postgresql)))
    made = run_backup(request, now=DAY)
    assert made.backup["key"].endswith("-full.pgdump.zst.gpg")
    restore_set(request, keys, postgresql_database="invoices_copy", login=pg_login(postgresql))
    check = (
        "SELECT md5(string_agg(id || ':' || number || ':' || encode(scan, 'hex'), ',' ORDER BY id)) FROM invoices;"
        " SELECT invoice_total(); SELECT count(*) FROM big_invoices; SELECT last_value FROM invoice_numbers;"
    )
    assert postgresql.sql(check, "invoices_copy") == postgresql.sql(check, "invoices")
    dumped = tmp_path / "invoices.pgdump"
    restore_set(request, keys, dump_to=str(dumped))
    listing = subprocess.run(["pg_restore", "--list", str(dumped)], capture_output=True, text=True, check=True)
    assert "FUNCTION public invoice_total()" in listing.stdout


@pytest.mark.alone  # SecretWatch reads every process on the machine: no other test beside it
def test_postgresql_mistakes_fail_clearly_and_the_password_never_shows(tmp_path, make_request, postgresql, invoices):
    wrong = Login(host="127.0.0.1", port=postgresql.port, user="backup", password="wrong-" + PASSWORD)
    with SecretWatch(PASSWORD) as watch:
        with pytest.raises(BackupError, match=r'^pg_dump: error: .*password authentication failed for user "backup"'):
            run_backup(make_request(tmp_path, source=PostgreSQLSource("invoices", wrong)), now=DAY)
        with pytest.raises(BackupError, match=r'^pg_dump: error: .*database "nothing" does not exist'):
            run_backup(make_request(tmp_path, source=PostgreSQLSource("nothing", pg_login(postgresql))), now=DAY)
        made = run_backup(make_request(tmp_path, source=PostgreSQLSource("invoices", pg_login(postgresql))), now=DAY)
    assert made.changed and watch.looked > 10 and watch.seen == []
    assert glob.glob("/tmp/s3napback-pgpass-*") == [], "password files are removed"


def test_postgresql_all_makes_a_set_per_database_and_one_for_the_roles(
    tmp_path, make_request, job_options, postgresql, invoices, keys
):
    options = job_options(
        postgresql_database=["all"],
        login_host="127.0.0.1",
        login_port=postgresql.port,
        login_user="backup",
        login_password=PASSWORD,
    )
    summary = run_job(options, now=DAY)
    names = {result["backup_set"]["name"]: result for result in summary["results"]}
    assert {"pgsql-invoices", "pgsql-postgres", "pgsql-globals"} <= set(names)
    assert names["pgsql-globals"]["backup"]["key"].endswith("-full.pgsql.zst.gpg")
    roles = tmp_path / "roles.sql"
    restore_set(make_request(tmp_path, name="pgsql-globals"), keys, dump_to=str(roles))
    assert "CREATE ROLE backup;" in roles.read_text()


def test_a_postgresql_restore_over_an_existing_database_needs_force(tmp_path, make_request, postgresql, invoices, keys):
    request = make_request(tmp_path, source=PostgreSQLSource("invoices", pg_login(postgresql)))
    run_backup(request, now=DAY)
    restore_set(request, keys, postgresql_database="invoices_copy", login=pg_login(postgresql))
    postgresql.sql("DELETE FROM invoices WHERE id > 5", "invoices_copy")
    with pytest.raises(BackupError, match=r"^pg_restore: .*pgsql-invoices/.*: .*already exists"):
        restore_set(request, keys, postgresql_database="invoices_copy", login=pg_login(postgresql))
    restore_set(request, keys, postgresql_database="invoices_copy", login=pg_login(postgresql), force=True)
    count = "SELECT count(*) FROM invoices"
    assert postgresql.sql(count, "invoices_copy") == postgresql.sql(count, "invoices") == "20\n"


def test_a_server_gone_half_way_fails_the_backup_and_leaves_the_bucket_as_it_was(tmp_path, make_request, s3, bucket):
    server = MariaDB().start()  # its own server: this test kills it
    try:
        server.sql("CREATE DATABASE big; CREATE TABLE big.t (id INT PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB;")
        request = make_request(tmp_path, source=MySQLSource("big", Login(unix_socket=server.socket, user="root")))
        earlier = run_backup(request, now=DAY)  # a good backup, which the failed run must not touch
        random_100k = "CONCAT(" + ", ".join(["RANDOM_BYTES(1024)"] * 100) + ")"  # incompressible: fills parts
        server.sql(f"INSERT INTO t SELECT seq, {random_100k} FROM seq_1_to_600;", "big")  # 60 MB

        def kill_the_server_once_uploading(stage, size):
            if server.process.poll() is None:
                server.process.kill()

        with pytest.raises(BackupError, match=r"^mysqldump: .*(Lost connection|2013)"):
            run_backup(
                dataclasses.replace(request, force=True),
                now=DAY + datetime.timedelta(hours=1),
                progress=kill_the_server_once_uploading,
            )
    finally:
        server.process.kill()
        server.stop()
    assert bucket_contents(s3, bucket) == sorted([earlier.backup["key"], earlier.backup["manifest_key"]])
    assert open_uploads(s3, bucket) == []


def test_a_damaged_dump_is_found_before_it_reaches_the_database(tmp_path, make_request, keys, s3, bucket, mariadb):
    make_shop(mariadb)
    mariadb.sql("DROP DATABASE IF EXISTS shop_copy")
    request = make_request(tmp_path, source=MySQLSource("shop", mysql_login(mariadb)))
    key = run_backup(request, now=DAY).backup["key"]
    data = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[-100] ^= 0xFF  # late in the stream: most of the dump would have been loaded already
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    with pytest.raises(BackupError, match=rf"^restore: {key} is damaged: its SHA-256 differs"):
        restore_set(request, keys, mysql_database="shop_copy", login=mysql_login(mariadb))
    assert "shop_copy" not in mariadb.sql("SHOW DATABASES").split()
