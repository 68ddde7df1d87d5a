"""The module as users run it: installed by ansible-galaxy, called by ansible and ansible-playbook."""

import json
import os

import pytest
from support import hard_tree, trees
from support.ansible_runner import ansible, playbook_variables
from support.db_servers import PASSWORD, make_invoices, make_shop
from support.fixtures import ACCESS_KEY, SECRET_KEY, bucket_contents, open_uploads
from support.manual_restore import restore_chain
from support.svn_repos import Repository, dump_of

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")


def run_playbook(name, tmp_path, env, moto, bucket, keys, source, **variables):
    """ansible-playbook on playbooks/NAME with the S3 server's, the bucket's and the keys' variables."""
    variables = playbook_variables(tmp_path, moto, bucket, keys, source, **variables)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    playbook = os.path.join(PLAYBOOKS, name)
    command = ["-i", "localhost,", "-c", "local", "-v", "-e", f"@{tmp_path / 'vars.json'}", playbook]
    return ansible("ansible-playbook", *command, env=env)


def test_playbook_full_idempotence_diff_errors_then_manual_restore(tmp_path, ansible_env, moto, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    run = run_playbook("directory.yml", tmp_path, ansible_env, moto, bucket, keys, source)
    assert "failed=0" in run.stdout
    assert SECRET_KEY not in run.stdout + run.stderr

    made = json.loads((tmp_path / "made.json").read_text())
    assert bucket_contents(s3, bucket) == sorted(
        key + suffix for key in (made["full"], made["diff"]) for suffix in ("", ".json", ".index")
    )
    assert open_uploads(s3, bucket) == []
    destination = tmp_path / "restored"
    destination.mkdir()
    set_prefix = made["full"].rsplit("/", 1)[0] + "/"
    assert restore_chain(s3, bucket, set_prefix, keys.secret_home, str(destination)) == [made["full"], made["diff"]]
    assert trees.differences(trees.picture(str(source)), trees.picture(str(destination))) == []


def test_playbook_backup_info_restore_verify_on_a_tree_hard_on_tar(tmp_path, ansible_env, moto, s3, bucket, keys):
    source = tmp_path / "source"
    hard_tree.build_hard_tree(str(source))
    private_key = keys.secret_key_text()
    extra = {"dest": str(tmp_path / "restored"), "private_key": private_key, "public_home": keys.public_home}
    run = run_playbook("restore.yml", tmp_path, ansible_env, moto, bucket, keys, source, **extra)
    assert "failed=0" in run.stdout and "ignored=1" in run.stdout
    secret_line = next(line for line in private_key.splitlines()[3:] if len(line) > 40)
    assert secret_line not in run.stdout + run.stderr and SECRET_KEY not in run.stdout + run.stderr
    restored = str(tmp_path / "restored")
    assert trees.differences(trees.picture(str(source)), trees.picture(restored)) == []
    assert hard_tree.hard_link_groups(restored) == hard_tree.hard_link_groups(str(source))


def test_playbook_databases_and_subversion_through_the_modules(
    tmp_path, ansible_env, moto, s3, bucket, keys, mariadb, postgresql
):
    make_shop(mariadb)
    make_invoices(postgresql)
    parent = tmp_path / "svn"
    parent.mkdir()
    repositories = []
    for name in ("alpha", "beta"):
        repositories.append(Repository(str(parent / name), str(tmp_path / f"wc-{name}")))
        repositories[-1].commit_round(1)
    (parent / "lost+found").mkdir()
    private_key = keys.secret_key_text()
    extra = {
        "private_key": private_key,
        "mysql_socket": mariadb.socket,
        "pg_port": postgresql.port,
        "db_password": PASSWORD,
        "svn_parent": str(parent),
        "svn_restored": str(tmp_path / "alpha-restored"),
    }
    run = run_playbook("databases.yml", tmp_path, ansible_env, moto, bucket, keys, tmp_path, **extra)
    assert "failed=0" in run.stdout
    assert PASSWORD not in run.stdout + run.stderr
    for table in ("orders", "order_lines", "audit"):
        original = mariadb.sql(f"CHECKSUM TABLE shop.{table} EXTENDED").split()[-1]
        assert mariadb.sql(f"CHECKSUM TABLE shop_copy.{table} EXTENDED").split()[-1] == original, table
    check = "SELECT md5(string_agg(encode(scan, 'hex'), ',' ORDER BY id)) FROM invoices; SELECT invoice_total();"
    assert postgresql.sql(check, "invoices_copy") == postgresql.sql(check, "invoices")
    assert dump_of(str(tmp_path / "alpha-restored")) == repositories[0].dump()


def ad_hoc_result(output: str) -> dict:
    """The result of ``ansible HOST -m``: the JSON after 'localhost | CHANGED => '."""
    return json.loads(output.split(" => ", 1)[1])


def directory_arguments(tmp_path, moto, bucket, keys, **more) -> dict:
    """The backup module's arguments for a tree built in tmp_path/source, into the test bucket."""
    source = tmp_path / "source"
    trees.build_tree(str(source))
    return {
        "directory": str(source),
        "bucket": bucket,
        "gpg_recipient": "backup@example.com",
        "gpg_public_key": keys.public_key,
        "endpoint_url": moto.url,
        "state_dir": str(tmp_path / "state"),
        **more,
    }


def test_one_ad_hoc_call_backs_up_a_directory(tmp_path, ansible_env, moto, s3, bucket, keys):
    arguments = directory_arguments(tmp_path, moto, bucket, keys)
    env = {
        **ansible_env,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
    }
    command = ["localhost", "-i", "localhost,", "-c", "local", "-m", "s3napback.s3napback.s3napback"]
    run = ansible("ansible", *command, "-a", json.dumps(arguments), env=env)
    result = ad_hoc_result(run.stdout)
    assert result["changed"] and result["backup"]["kind"] == "full"
    assert result["backup_set"]["name"].startswith("dir-")
    assert [stage["stage"] for stage in result["backup"]["timings"]["stages"]] == ["tar", "zstd", "gpg"]
    assert bucket_contents(s3, bucket) == sorted(result["backup"][k] for k in ("key", "manifest_key", "index_key"))
    assert SECRET_KEY not in run.stdout

    repeated = ad_hoc_result(ansible("ansible", *command, "-a", json.dumps(arguments), env=env).stdout)
    assert repeated["changed"] is False and "already has backup" in repeated["reason"]


@pytest.mark.parametrize(
    "module, options",
    [
        (
            "s3napback",
            ("directory", "svn_parent", "gpg_recipient", "endpoint_url", "secret_key", "fulls", "force_full"),
        ),
        ("s3napback_restore", ("at", "dest", "svn_repository", "paths", "verify", "gpg_private_key", "gpg_passphrase")),
        ("s3napback_info", ("bucket", "prefix", "endpoint_url")),
        ("s3napback_report", ("bucket", "prefix", "path", "mode", "owner", "endpoint_url")),
        ("s3napback_probe", ("bucket", "prefix", "endpoint_url", "checks")),
        ("s3napback_file_info", ("name", "at", "paths", "find", "gpg_private_key", "aws_ca_bundle")),
    ],
)
def test_ansible_doc_renders_every_module(ansible_env, module, options):
    run = ansible("ansible-doc", f"s3napback.s3napback.{module}", env=ansible_env)
    for option in options:
        assert f"{option}" in run.stdout, option
    assert "EXAMPLES" in run.stdout and "RETURN VALUES" in run.stdout


def test_a_cold_class_rotation_deletes_too_soon_is_an_ansible_warning(tmp_path, ansible_env, moto, s3, bucket, keys):
    credentials = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "region": "us-east-1"}
    arguments = directory_arguments(
        tmp_path, moto, bucket, keys, storage_class_fulls="GLACIER", fulls=2, diffs=6, **credentials
    )
    command = ["localhost", "-i", "localhost,", "-c", "local", "-m", "s3napback.s3napback.s3napback"]
    run = ansible("ansible", *command, "-a", json.dumps(arguments), env=ansible_env)
    result = ad_hoc_result(run.stdout)
    assert result["changed"] and "warnings" not in result.get("backup", {})
    assert "GLACIER bills 90 days per object, and rotation deletes fulls after as few as 14 days" in run.stderr
