"""The role rolls s3napback out to a fleet: three hosts, each with a root filesystem of its own
(reached through the chroot connection plugin), jobs from group_vars and host_vars, one S3 server
on loopback that serves HTTPS with a certificate from a private CA, which the role installs on
every host. Then each host's scheduled command, run exactly as cron or systemd would run it,
backs that host up under its own prefix."""

import hashlib
import json
import os
import pathlib
import shlex
import shutil
import signal
import stat
import subprocess
import time
import zipfile

import pytest
import yaml
from support import trees
from support.ansible_runner import BIN, ROOT, ansible
from support.db_servers import PASSWORD, make_shop
from support.fixtures import ACCESS_KEY, SECRET_KEY, bucket_contents
from support.fleet import Fleet
from support.manual_restore import decoded_object, restore_chain
from support.svn_repos import Repository, dump_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot and overlay mounts need root")

SITE = os.path.join(ROOT, "examples", "fleet", "site.yml")
GROUPS = {"web": ["host1", "host2"], "db": ["host3"]}
SETS_OF_HOST2 = ["etc", "svn-srv_svn_alpha", "svn-srv_svn_beta", "www"]  # repos: a set per repository
SETS_OF_HOST3 = ["etc", "shop"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with Fleet(["host1", "host2", "host3"], str(tmp_path_factory.mktemp("fleet"))) as made:
        yield made


@pytest.fixture(scope="module")
def s3(moto_tls):
    """The fleet's store, as the tests read it: the TLS server, verified with its CA."""
    return moto_tls.client()


@pytest.fixture(scope="module")
def world(fleet, moto_tls, s3, keys, mariadb, tmp_path_factory):
    """The hosts' data, the bucket, and an inventory with group_vars and host_vars."""
    bucket = "fleet-backups"
    s3.create_bucket(Bucket=bucket)
    for name in ("host1", "host2"):
        trees.build_tree(fleet[name].path("/srv/www"))
    work = tmp_path_factory.mktemp("svn-work")
    os.makedirs(fleet["host2"].path("/srv/svn"))
    for name in ("alpha", "beta"):
        Repository(fleet["host2"].path(f"/srv/svn/{name}"), str(work / name)).commit_round(1)
    make_shop(mariadb)
    mariadb.sql(
        f"CREATE USER IF NOT EXISTS 'backup'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';"
        " GRANT ALL ON *.* TO 'backup'@'127.0.0.1';"
    )
    inventory = tmp_path_factory.mktemp("inventory")
    (inventory / "hosts.ini").write_text(fleet.inventory(GROUPS))
    group_vars = {
        "all": {
            "s3napback_bucket": bucket,
            "s3napback_endpoint_url": moto_tls.url,
            "s3napback_aws_ca_bundle_content": pathlib.Path(moto_tls.ca).read_text(encoding="ascii"),
            "s3napback_region": "us-east-1",
            "s3napback_access_key": ACCESS_KEY,
            "s3napback_secret_key": SECRET_KEY,
            "s3napback_gpg_recipient": ["backup@example.com"],
            "s3napback_gpg_public_key": keys.public_key,
            "s3napback_defaults": {"fulls": 2, "diffs": 3, "hour": 2},
            "s3napback_jobs": [{"name": "etc", "directory": "/etc", "exclude": ["s3napback"]}],
        },
        "web": {
            "s3napback_jobs": [
                {"name": "etc", "directory": "/etc", "exclude": ["s3napback"]},
                {"name": "www", "directory": "/srv/www", "exclude": ["*.key"], "minute": 30},
            ]
        },
    }
    host_vars = {
        "host1": {"s3napback_prefix": "fleet/host1", "s3napback_host_jobs": [{"name": "www", "directory": "/srv/www"}]},
        "host2": {
            "s3napback_prefix": "fleet/host2",
            "s3napback_scheduler": "systemd",
            "s3napback_metrics_dir": "/var/lib/node_exporter",
            "s3napback_host_jobs": [{"name": "repos", "svn_parent": "/srv/svn", "hour": 4}],
        },
        "host3": {  # the prefix is left to its default, the host's FQDN; boto3 & co. from PyPI
            "s3napback_virtualenv": True,
            "s3napback_host_jobs": [
                {
                    "name": "shop",
                    "mysql_database": "shop",
                    "login_host": "127.0.0.1",
                    "login_port": mariadb.port,
                    "login_user": "backup",
                    "login_password": PASSWORD,
                }
            ],
        },
    }
    for directory, values in (("group_vars", group_vars), ("host_vars", host_vars)):
        (inventory / directory).mkdir()
        for name, variables in values.items():
            (inventory / directory / f"{name}.yml").write_text(yaml.safe_dump(variables))
    return {"bucket": bucket, "inventory": inventory, "host_vars": host_vars}


def playbook(world, env, *extra, check=True):
    return ansible("ansible-playbook", "-i", str(world["inventory"] / "hosts.ini"), *extra, SITE, env=env, check=check)


def recap(run) -> dict:
    """PLAY RECAP's counters per host: {'host1': {'ok': 20, 'changed': 0, ...}}."""
    counts = {}
    for line in run.stdout.split("PLAY RECAP", 1)[1].splitlines()[1:]:
        if ":" in line:
            host, rest = line.split(":", 1)
            counts[host.strip()] = {k: int(v) for k, v in (word.split("=") for word in rest.split())}
    return counts


def scheduled_commands(host) -> dict:
    """Each job's command, exactly as cron (the cron.d line after the user) or systemd
    (ExecStart) would run it."""
    commands = {}
    if os.path.exists(host.path("/etc/cron.d/s3napback")):
        for line in host.read("/etc/cron.d/s3napback").splitlines():
            if line.strip() and not line.startswith("#"):
                fields = line.split(None, 6)
                assert fields[2:5] == ["*", "*", "*"] and fields[5] == "root", line
                commands[shlex.split(fields[6])[2]] = fields[6].strip()
    units = host.path("/etc/systemd/system")
    for name in sorted(os.listdir(units)) if os.path.isdir(units) else []:
        if name.startswith("s3napback-") and name.endswith(".service"):
            text = host.read(f"/etc/systemd/system/{name}")
            command = next(line for line in text.splitlines() if line.startswith("ExecStart="))[len("ExecStart=") :]
            commands[shlex.split(command)[2]] = command
    return commands


def enabled_timers(host) -> list[str]:
    wants = os.listdir(host.path("/etc/systemd/system/timers.target.wants"))
    return sorted(name for name in wants if name.startswith("s3napback-"))


def fqdn_of(host) -> str:
    return host.run("python3 -c 'import socket; print(socket.getfqdn())'", check=True).stdout.strip()


def test_the_role_schedules_each_hosts_jobs_and_they_back_it_up(fleet, world, ansible_env, s3, keys, tmp_path):
    bucket = world["bucket"]
    first = playbook(world, ansible_env, "--diff")
    assert SECRET_KEY not in first.stdout + first.stderr and PASSWORD not in first.stdout + first.stderr
    assert "+++ after" in first.stdout  # --diff showed the files that hold no secret
    counts = recap(first)
    assert sorted(counts) == ["host1", "host2", "host3"]
    assert all(c["failed"] == 0 and c["changed"] > 0 for c in counts.values()), counts

    for host in fleet.hosts.values():
        assert_configured(host, keys)
    # What only some jobs need was installed where they are, and nowhere else.
    installed = {
        name: host.run("for c in svnadmin mysqldump pg_dump; do command -v $c; done").stdout.split()
        for name, host in fleet.hosts.items()
    }
    assert installed == {"host1": [], "host2": ["/usr/bin/svnadmin"], "host3": ["/usr/bin/mysqldump"]}
    assert fleet["host1"].run("/usr/sbin/logrotate --debug /etc/logrotate.d/s3napback").returncode == 0
    assert sorted(scheduled_commands(fleet["host1"])) == ["etc", "www"]
    assert sorted(scheduled_commands(fleet["host2"])) == ["etc", "repos", "www"]
    assert sorted(scheduled_commands(fleet["host3"])) == ["etc", "shop"]
    assert not os.path.exists(fleet["host2"].path("/etc/cron.d/s3napback"))
    assert fleet["host3"].read("/usr/local/sbin/s3napback").startswith("#!/usr/local/lib/s3napback/venv/bin/python\n")
    assert fleet["host1"].read("/usr/local/sbin/s3napback").startswith("#!/usr/bin/python3\n")
    assert enabled_timers(fleet["host2"]) == ["s3napback-etc.timer", "s3napback-repos.timer", "s3napback-www.timer"]
    timer = fleet["host2"].read("/etc/systemd/system/s3napback-repos.timer")
    assert "OnCalendar=*-*-* 04:" in timer and "Persistent=true" in timer

    # Each job's command, run inside its host as the scheduler would run it.
    for host in fleet.hosts.values():
        for job, command in scheduled_commands(host).items():
            ran = host.run(command)
            assert ran.returncode == 0, f"{host.name} {job}: {ran.stdout} {ran.stderr}"
    prefixes = {"host1": "fleet/host1/", "host2": "fleet/host2/", "host3": f"{fqdn_of(fleet['host3'])}/"}
    stored = bucket_contents(s3, bucket)
    sets = {
        name: sorted({key[len(prefix) :].split("/")[0] for key in stored if key.startswith(prefix)})
        for name, prefix in prefixes.items()
    }
    assert sets["host1"] == ["etc", "www"]
    assert sets["host2"][:2] == ["etc", "svn-alpha"] or len(sets["host2"]) == 4, sets
    assert len(sets["host2"]) == 4 and "www" in sets["host2"]
    assert sets["host3"] == ["etc", "shop"] or (sets["host3"][0] == "etc" and len(sets["host3"]) == 2), sets
    # a data object and a manifest per set, and a file index per directory set (etc, www)
    assert len(stored) == 2 * (2 + 4 + 2) + 5
    assert len([key for key in stored if key.endswith(".index")]) == 5

    # What the jobs left for their watchers: a log line each, node_exporter textfiles on host2.
    log = fleet["host1"].read("/var/log/s3napback.log").splitlines()
    assert [line.split()[1:3] for line in log] == [["etc", "status=ok"], ["www", "status=ok"]]
    textfiles = sorted(os.listdir(fleet["host2"].path("/var/lib/node_exporter")))
    assert len(textfiles) == 4 and all(name.endswith(".prom") for name in textfiles)
    metrics = fleet["host2"].read("/var/lib/node_exporter/s3napback_www.prom")
    assert 's3napback_last_success_timestamp_seconds{job="www"} ' in metrics

    # The backups restore by hand, with the operator's key, to what the hosts hold.
    restored = tmp_path / "www"
    restored.mkdir()
    restore_chain(s3, bucket, "fleet/host1/www/", keys.secret_home, str(restored))
    assert trees.differences(trees.picture(fleet["host1"].path("/srv/www")), trees.picture(str(restored))) == []
    (key,) = [k for k in stored if k.startswith("fleet/host2/svn-srv_svn_alpha/") and not k.endswith(".json")]
    assert decoded_object(s3, bucket, key, keys.secret_home) == dump_of(fleet["host2"].path("/srv/svn/alpha"))

    assert_second_run_changes_nothing(world, ansible_env)


def assert_configured(host, keys) -> None:
    """The host's configuration is root's alone, names the CA bundle the role installed, and its
    keyring holds the public key only."""
    config = os.stat(host.path("/etc/s3napback/config.yml"))
    assert stat.S_IMODE(config.st_mode) == 0o600 and config.st_uid == 0
    for directory in ("/var/lib/s3napback", "/var/lib/s3napback/gnupg", "/etc/s3napback"):
        assert stat.S_IMODE(os.stat(host.path(directory)).st_mode) == 0o700, directory
    written = yaml.safe_load(host.read("/etc/s3napback/config.yml"))
    assert written["defaults"]["aws_ca_bundle"] == "/etc/s3napback/ca-bundle.pem"
    assert "BEGIN CERTIFICATE" in host.read("/etc/s3napback/ca-bundle.pem")
    gpg = "gpg --no-autostart --homedir /var/lib/s3napback/gnupg --with-colons"
    secret_keys, public_keys = host.run(f"{gpg} --list-secret-keys"), host.run(f"{gpg} --list-keys")
    assert secret_keys.stdout == "" and keys.fingerprint in public_keys.stdout


def assert_second_run_changes_nothing(world, env):
    """A second run of the role changes nothing, on any host. Its wall time goes to
    tests/output/fleet-second-run.json, for docs/BENCHMARKS.md, and each task's to
    fleet-second-run-tasks.json (tests/callback_plugins/s3napback_timings.py)."""
    output = os.path.join(ROOT, "tests", "output")
    os.makedirs(output, exist_ok=True)
    timed = {
        **env,
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "tests", "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "s3napback_timings",
        "S3NAPBACK_TIMINGS": os.path.join(output, "fleet-second-run-tasks.json"),
    }
    started = time.monotonic()
    second = recap(playbook(world, timed))
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in second.values()), second
    with open(os.path.join(ROOT, "tests", "output", "fleet-second-run.json"), "w", encoding="utf-8") as handle:
        json.dump({"hosts": len(second), "seconds": round(time.monotonic() - started, 1)}, handle)


def test_removing_a_job_from_inventory_removes_its_timer(fleet, world, ansible_env):
    host_vars = world["host_vars"]
    inventory = world["inventory"]
    (inventory / "host_vars" / "host1.yml").write_text(
        yaml.safe_dump({**host_vars["host1"], "s3napback_host_jobs": []})
    )
    (inventory / "host_vars" / "host2.yml").write_text(
        yaml.safe_dump({**host_vars["host2"], "s3napback_host_jobs": []})
    )
    try:
        counts = recap(playbook(world, ansible_env))
        assert counts["host3"]["changed"] == 0 and counts["host1"]["changed"] > 0, counts
        assert sorted(scheduled_commands(fleet["host1"])) == ["etc", "www"]  # the group's www again
        assert sorted(scheduled_commands(fleet["host2"])) == ["etc", "www"]
        units = sorted(n for n in os.listdir(fleet["host2"].path("/etc/systemd/system")) if n.startswith("s3napback"))
        assert units == ["s3napback-etc.service", "s3napback-etc.timer", "s3napback-www.service", "s3napback-www.timer"]
        assert enabled_timers(fleet["host2"]) == ["s3napback-etc.timer", "s3napback-www.timer"]
        host1_group_only = {**host_vars["host1"], "s3napback_host_jobs": []}
        (inventory / "host_vars" / "host1.yml").write_text(
            yaml.safe_dump({**host1_group_only, "s3napback_jobs": [{"name": "etc", "directory": "/etc"}]})
        )
        playbook(world, ansible_env, "--limit", "host1")
        assert sorted(scheduled_commands(fleet["host1"])) == ["etc"]
    finally:
        for name in ("host1", "host2"):
            (inventory / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(host_vars[name]))


def test_the_module_ad_hoc_beside_the_role(fleet, world, ansible_env, s3):
    """The same hosts, one ad-hoc call: the module runs in each host with the role's keyring."""
    for host in fleet.hosts.values():
        trees.build_tree(host.path("/srv/adhoc"))
    arguments = {
        "directory": "/srv/adhoc",
        "bucket": "{{ s3napback_bucket }}",
        "prefix": "adhoc/{{ inventory_hostname }}",
        "endpoint_url": "{{ s3napback_endpoint_url }}",
        "aws_ca_bundle": "/etc/s3napback/ca-bundle.pem",  # the role's
        "region": "us-east-1",
        "access_key": "{{ s3napback_access_key }}",
        "secret_key": "{{ s3napback_secret_key }}",
        "gpg_recipient": "backup@example.com",
        "gpg_home": "/var/lib/s3napback/gnupg",
    }
    command = ["all", "-i", str(world["inventory"] / "hosts.ini"), "-m", "s3napback.s3napback.s3napback"]
    run = ansible("ansible", *command, "-a", json.dumps(arguments), env=ansible_env)
    assert run.stdout.count("CHANGED => ") == 3 and SECRET_KEY not in run.stdout
    stored = bucket_contents(s3, world["bucket"])
    for name in fleet.hosts:
        # the data object, its manifest and its file index
        assert len([key for key in stored if key.startswith(f"adhoc/{name}/")]) == 3, name


def test_a_mistake_in_a_job_fails_before_any_change_and_names_the_job(world, ansible_env):
    bad = json.dumps({"s3napback_host_jobs": [{"name": "www", "direktory": "/srv/www"}]})
    run = playbook(world, ansible_env, "-e", bad, check=False)
    assert run.returncode != 0
    assert "s3napback_jobs: job 2 (www): unknown option 'direktory'" in run.stdout
    assert all(c["changed"] == 0 for c in recap(run).values())


ENGINE = "/usr/local/lib/s3napback/engine.pyz"
PREVIOUS_COMMAND = """#!/usr/bin/python3
# The host command of versions that copied the engine file by file.
import sys

sys.path.insert(0, "/usr/local/lib/s3napback")
from s3napback.host_command import main  # noqa: E402

sys.exit(main(["--config", "/etc/s3napback/config.yml", *sys.argv[1:]]))
"""
# Holds the engine's copy on the host until the test has killed the run: the copy module is the
# step that renames the transferred zip into place.
HOLD_THE_COPY = """#!/bin/sh
case "$1" in *AnsiballZ_copy.py) dirname "$1" > /tmp/copy-dir; mv /tmp/copy-dir /tmp/copy-started; sleep 60;; esac
exec /usr/bin/python3 "$@"
"""


def sha256_of(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_an_upgrade_from_the_file_by_file_engine(fleet, world, ansible_env):
    """host1 as the previous version left it: the engine's files in a directory and a host command
    that reads them. The role replaces both with the one zip, and the scheduled jobs keep working."""
    host = fleet["host1"]
    os.remove(host.path(ENGINE))
    shutil.copytree(os.path.join(ROOT, "plugins", "module_utils"), host.path("/usr/local/lib/s3napback/s3napback"))
    with open(host.path("/usr/local/sbin/s3napback"), "w", encoding="utf-8") as handle:
        handle.write(PREVIOUS_COMMAND)
    assert host.run("/usr/local/sbin/s3napback list").returncode == 0  # the previous layout runs

    upgrade = recap(playbook(world, ansible_env, "--limit", "host1"))
    assert upgrade["host1"]["changed"] >= 2, upgrade
    assert not os.path.exists(host.path("/usr/local/lib/s3napback/s3napback"))
    assert os.listdir(host.path("/usr/local/lib/s3napback")) == ["engine.pyz"]
    assert f'sys.path.insert(0, "{ENGINE}")' in host.read("/usr/local/sbin/s3napback")
    for job, command in scheduled_commands(host).items():
        ran = host.run(command.replace(" run ", " list ", 1))
        assert ran.returncode == 0, f"{job}: {ran.stdout} {ran.stderr}"
    again = recap(playbook(world, ansible_env, "--limit", "host1"))
    assert again["host1"]["changed"] == 0, again


def test_a_run_killed_while_the_engine_is_copied_leaves_the_previous_engine(fleet, world, ansible_env, tmp_path):
    """A newer engine (one more line in a module_utils file) reaches host1, and the run is killed
    after the zip is on the host but before it is in place: the installed engine is still the
    previous one, whole, and the scheduled command runs it; the next run installs the new one."""
    host = fleet["host1"]
    newer = tmp_path / "newer"
    subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", ROOT, "-p", str(newer)],
        check=True,
        capture_output=True,
    )
    version = newer / "ansible_collections" / "s3napback" / "s3napback" / "plugins" / "module_utils" / "version.py"
    version.write_text(version.read_text() + "# a newer engine\n")
    newer_env = {**ansible_env, "ANSIBLE_COLLECTIONS_PATH": str(newer)}
    with open(host.path("/usr/local/bin/python3-hold-copy"), "w", encoding="utf-8") as handle:
        handle.write(HOLD_THE_COPY)
    os.chmod(host.path("/usr/local/bin/python3-hold-copy"), 0o755)
    previous = sha256_of(host.path(ENGINE))

    argv = [os.path.join(BIN, "ansible-playbook"), "-i", str(world["inventory"] / "hosts.ini"), "--limit", "host1"]
    argv += ["-e", "ansible_python_interpreter=/usr/local/bin/python3-hold-copy", SITE]
    run = subprocess.Popen(argv, env=newer_env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(host.path("/tmp/copy-started")) and run.poll() is None:
            assert time.monotonic() < deadline, "the engine's copy never started"
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before the engine's copy"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    for pid in host.processes():  # the held copy, if the kill missed it
        os.kill(pid, signal.SIGKILL)
    # The held copy names its remote temporary directory: no guess at remote_tmp or $HOME.
    remote_tmp = host.read("/tmp/copy-started").strip()
    os.remove(host.path("/tmp/copy-started"))
    transferred = host.path(f"{remote_tmp}/.source.pyz")  # copy's upload
    assert os.path.exists(transferred), f"held a copy that is not the engine's: {os.listdir(host.path(remote_tmp))}"
    with zipfile.ZipFile(transferred) as arrived:  # the newer engine is on the host, whole ...
        assert arrived.read("s3napback/version.py").endswith(b"# a newer engine\n")
    assert sha256_of(host.path(ENGINE)) == previous  # ... and not in place: the previous one is
    assert zipfile.ZipFile(host.path(ENGINE)).testzip() is None
    for job, command in scheduled_commands(host).items():
        ran = host.run(command.replace(" run ", " list ", 1))
        assert ran.returncode == 0, f"{job}: {ran.stdout} {ran.stderr}"

    newer_run = recap(ansible("ansible-playbook", *argv[1:-3], SITE, env=newer_env))
    assert newer_run["host1"]["changed"] >= 1, newer_run
    with zipfile.ZipFile(host.path(ENGINE)) as engine:
        assert engine.read("s3napback/version.py").endswith(b"# a newer engine\n")
    assert host.run("/usr/local/sbin/s3napback list").returncode == 0
    playbook(world, ansible_env, "--limit", "host1")  # this checkout's engine again
    assert sha256_of(host.path(ENGINE)) == previous


def test_state_absent_removes_the_runner_and_purge_its_state(fleet, world, ansible_env, s3):
    stored = bucket_contents(s3, world["bucket"])
    playbook(world, ansible_env, "--limit", "host2,host3", "-e", "s3napback_state=absent")
    for name in ("host2", "host3"):
        host = fleet[name]
        for gone in (
            "/etc/cron.d/s3napback",
            "/usr/local/sbin/s3napback",
            "/usr/local/lib/s3napback",
            "/etc/s3napback",
        ):
            assert not os.path.exists(host.path(gone)), (name, gone)
        assert scheduled_commands(host) == {} and os.path.isdir(host.path("/var/lib/s3napback/gnupg"))
    assert enabled_timers(fleet["host2"]) == []
    assert os.path.exists(fleet["host1"].path("/etc/cron.d/s3napback"))  # not in --limit
    again = recap(playbook(world, ansible_env, "--limit", "host2,host3", "-e", "s3napback_state=absent"))
    assert all(c["changed"] == 0 for c in again.values()), again

    purge = json.dumps({"s3napback_state": "absent", "s3napback_purge": True})
    playbook(world, ansible_env, "--limit", "host3", "-e", purge)
    assert not os.path.exists(fleet["host3"].path("/var/lib/s3napback"))
    assert not os.path.exists(fleet["host3"].path("/var/log/s3napback.log"))
    assert bucket_contents(s3, world["bucket"]) == stored  # backups are never the role's to delete
