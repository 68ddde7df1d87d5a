"""Over HTTPS, as real users reach their store, with a certificate from a private CA: moto, and
s3rver, the store that keeps botocore's aws-chunked uploads as data. The host command backs up,
restores and verifies; what it stored is whole (restored by hand with boto3, gpg, zstd and tar);
the CA bundle comes from the option, the environment or the AWS config file; a wrong one fails with
one line and writes nothing."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from support import trees
from support.engine import state_files
from support.manual_restore import restore_chain
from support.tls import make_ca_and_server_cert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = next(p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "s3napback")))
MODULE = "ansible_collections.s3napback.s3napback.plugins.module_utils.host_command"
CRON_ENV = {"HOME": "/", "PATH": "/usr/bin:/bin", "LANG": "C", "PYTHONPATH": COLLECTIONS}
OS_PYTHON = "/usr/bin/python3"  # Debian 12's, with botocore 1.29: no checksum settings of its own
MIB = 1024 * 1024


def s3napback(config, *args, env=None, python=sys.executable):
    command = [python, "-m", MODULE, "--config", str(config), *args]
    return subprocess.run(command, capture_output=True, text=True, env={**CRON_ENV, **(env or {})}, check=False)


def write_config(path, store, bucket, keys, tmp_path, **connection):
    defaults = {
        **store.connection_options(),
        "bucket": bucket,
        "prefix": "host1",
        "gpg_recipient": "backup@example.com",
        "gpg_public_key": keys.public_key,
        "state_dir": str(tmp_path / "state"),
        **connection,
    }
    defaults = {name: value for name, value in defaults.items() if value is not None}
    jobs = [{"name": "etc", "directory": str(tmp_path / "etc")}]
    path.write_text(yaml.safe_dump({"defaults": defaults, "jobs": jobs}))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    "python, checksums",
    [(sys.executable, None), (OS_PYTHON, "when_supported")],
    ids=["venv", "os-botocore-1.29"],
)
def test_backup_restore_verify_and_probe_over_tls(tls_store, python, checksums, tmp_path, keys):
    bucket = tls_store.new_bucket()
    source = tmp_path / "etc"
    trees.build_tree(str(source))
    trees.write(str(source / "random.bin"), os.urandom(9 * MIB))  # two volumes
    config = write_config(tmp_path / "config.yml", tls_store, bucket, keys, tmp_path, checksum_calculation=checksums)
    full = s3napback(config, "--json", "run", python=python)
    assert full.returncode == 0, full.stderr
    (result,) = json.loads(full.stdout)["results"]
    backup = result["backup"]
    client = tls_store.client()
    # What the store keeps is what was sent: the manifest is JSON from its first byte (a store that
    # keeps aws-chunked framing would have stored "2e1\r\n{..."), the volumes have the size sent.
    manifest = client.get_object(Bucket=bucket, Key=backup["manifest_key"])["Body"].read()
    assert manifest.startswith(b"{") and json.loads(manifest)["sha256"] == backup["sha256"]
    volumes = [backup["key"], backup["key"] + "~00002"]
    sizes = [client.head_object(Bucket=bucket, Key=volume)["ContentLength"] for volume in volumes]
    assert sizes[0] == 8 * MIB and sum(sizes) == backup["bytes_out"] and json.loads(manifest)["volumes"] == 2
    trees.change_tree(str(source), 1)
    diff = s3napback(config, "run", "--force", python=python)
    assert diff.returncode == 0 and "etc status=ok kind=diff" in diff.stdout, diff.stderr
    by_hand = tmp_path / "by-hand"
    by_hand.mkdir()
    assert len(restore_chain(client, bucket, "host1/etc/", keys.secret_home, str(by_hand))) == 2
    assert trees.differences(trees.picture(str(source)), trees.picture(str(by_hand))) == []
    dest = tmp_path / "restored"
    restored = s3napback(config, "restore", "etc", "--dest", str(dest), "--gpg-home", keys.secret_home, python=python)
    assert restored.returncode == 0, restored.stderr
    assert trees.differences(trees.picture(str(source)), trees.picture(str(dest))) == []
    verified = s3napback(config, "verify", "etc", "--gpg-home", keys.secret_home, python=python)
    assert verified.returncode == 0 and "etc status=verified" in verified.stdout, verified.stderr
    probe = s3napback(config, "--json", "list", "--probe", python=python)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    checks = {check["name"]: check for check in json.loads(probe.stdout)["results"][0]["probe"]["checks"]}
    assert checks["put"]["ok"] and checks["multipart"]["ok"]
    if python == sys.executable:  # botocore 1.36+: it would send aws-chunked uploads over HTTPS
        assert checks["aws_chunked"]["ok"] is (tls_store.name == "moto")
    else:  # botocore 1.29 sends none, so there is nothing to probe
        assert "aws_chunked" not in checks
    left = client.list_objects_v2(Bucket=bucket, Prefix="host1/.s3napback-probe").get("KeyCount")
    assert left == 0


def test_the_store_tested_here_keeps_botocores_own_uploads_as_framing(s3rver_tls):
    """What the two runs above are worth: s3rver really is a store that keeps an aws-chunked upload
    (boto3's default over HTTPS since 1.36) as data, so s3napback's intact objects there are no
    accident. The probe says so in one line."""
    bucket = s3rver_tls.new_bucket()
    client = s3rver_tls.client()
    client.put_object(Bucket=bucket, Key="plain.json", Body=b"{}\n")
    kept = client.get_object(Bucket=bucket, Key="plain.json")["Body"].read()
    assert kept.startswith(b"3\r\n{}\n\r\n0\r\n") and b"x-amz-checksum-crc32" in kept


@pytest.mark.parametrize("source", ["environment", "aws config file"])
def test_without_the_option_the_bundle_comes_from_botocores_usual_places(source, moto_tls, keys, tmp_path):
    bucket = moto_tls.new_bucket()
    trees.build_tree(str(tmp_path / "etc"))
    config = write_config(tmp_path / "config.yml", moto_tls, bucket, keys, tmp_path, aws_ca_bundle=None)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    if source == "environment":
        env = {"AWS_CA_BUNDLE": moto_tls.ca}
    else:
        (home / ".aws" / "config").write_text(f"[default]\nca_bundle = {moto_tls.ca}\n")
        env = {}
    ran = s3napback(config, "run", env={"HOME": str(home), **env})
    assert ran.returncode == 0 and "etc status=ok kind=full" in ran.stdout, ran.stderr
    without = s3napback(config, "run", "--force", env={"HOME": str(tmp_path)})
    assert without.returncode == 1 and "certificate verify failed" in without.stdout


def test_a_wrong_or_missing_bundle_fails_with_one_line_and_changes_nothing(tls_store, keys, tmp_path):
    bucket = tls_store.new_bucket()
    trees.build_tree(str(tmp_path / "etc"))
    other_ca = make_ca_and_server_cert(str(tmp_path / "other-ca"), "another CA").ca
    config = write_config(tmp_path / "config.yml", tls_store, bucket, keys, tmp_path, aws_ca_bundle=other_ca)
    wrong = s3napback(config, "run")
    assert wrong.returncode == 1
    line = wrong.stderr.strip()
    assert "\n" not in line
    assert re.fullmatch(
        rf"s3napback: etc: s3: TLS error talking to {re.escape(tls_store.url)}: certificate verify failed:"
        rf" unable to get local issuer certificate \(checked against aws_ca_bundle {re.escape(other_ca)}\)",
        line,
    ), line
    config = write_config(tmp_path / "config.yml", tls_store, bucket, keys, tmp_path, aws_ca_bundle=None)
    unknown = s3napback(config, "run")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().endswith(
        "certificate verify failed: unable to get local issuer certificate (a private CA needs aws_ca_bundle)"
    ), unknown.stderr
    missing = str(tmp_path / "no-such-ca.pem")
    config = write_config(tmp_path / "config.yml", tls_store, bucket, keys, tmp_path, aws_ca_bundle=missing)
    absent = s3napback(config, "run")
    assert absent.returncode == 1 and f"config: aws_ca_bundle {missing}: no such file" in absent.stderr
    assert tls_store.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert [name for name in state_files(tmp_path / "state") if not name.endswith(".status.json")] == []
