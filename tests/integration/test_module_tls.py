"""The modules over HTTPS with a private CA, as installed by ansible-galaxy and called by
``ansible``: the bundle as the option (backup) and from AWS_CA_BUNDLE, the module's environment
fallback (restore); the probe module; ls and find through the file indexes, and one
directory restored from them; a wrong bundle fails the task with one line."""

import json

from support import trees
from support.ansible_runner import ansible
from support.tls import make_ca_and_server_cert

COMMAND = ["localhost", "-i", "localhost,", "-c", "local", "-m"]


def call(module: str, arguments: dict, env: dict, check: bool = True) -> dict:
    run = ansible(
        "ansible", *COMMAND, f"s3napback.s3napback.{module}", "-a", json.dumps(arguments), env=env, check=check
    )
    return {"rc": run.returncode, **json.loads(run.stdout.split(" => ", 1)[1])}


def test_backup_probe_and_restore_through_the_modules_over_tls(tmp_path, ansible_env, tls_store, keys):
    bucket = tls_store.new_bucket()
    source = tmp_path / "source"
    trees.build_tree(str(source))
    connection = {**tls_store.connection_options(), "bucket": bucket, "prefix": "host1"}
    backup = call(
        "s3napback",
        {
            **connection,
            "directory": str(source),
            "name": "src",
            "gpg_recipient": "backup@example.com",
            "gpg_public_key": keys.public_key,
            "state_dir": str(tmp_path / "state"),
        },
        ansible_env,
    )
    assert backup["changed"] and backup["backup"]["kind"] == "full"
    probe = call("s3napback_probe", connection, ansible_env)
    assert probe["changed"] is False and probe["ok"] is True
    info = call("s3napback_info", connection, ansible_env)
    assert info["changed"] is False and [set_["name"] for set_ in info["sets"]] == ["src"] and info["problems"] == []
    chunked = next(check for check in probe["checks"] if check["name"] == "aws_chunked")
    assert chunked["ok"] is (tls_store.name == "moto"), chunked
    keys_option = {"name": "src", "gpg_home": keys.secret_home}
    listed = call("s3napback_file_info", {**connection, **keys_option, "paths": ["etc"]}, ansible_env)
    assert [entry["path"] for entry in listed["files"]] == ["etc", "etc/app.conf", "etc/secret.key"]
    found = call("s3napback_file_info", {**connection, **keys_option, "find": "*.conf"}, ansible_env)
    assert [(v["path"], v["backup"]) for v in found["versions"]] == [("etc/app.conf", backup["backup"]["key"])]
    one = call("s3napback_restore", {**connection, **keys_option, "dest": str(tmp_path / "one"), "paths": ["bin"]},
               ansible_env)  # fmt: skip
    assert one["method"] == "index" and sorted(p.name for p in (tmp_path / "one" / "bin").iterdir()) == [
        "hardlink-to-tool",
        "tool",
    ]
    from_env = {name: value for name, value in connection.items() if name != "aws_ca_bundle"}
    restored = call(
        "s3napback_restore",
        {**from_env, "name": "src", "dest": str(tmp_path / "restored"), "gpg_home": keys.secret_home},
        {**ansible_env, "AWS_CA_BUNDLE": tls_store.ca},
    )
    assert restored["changed"] and len(restored["objects"]) == 1
    assert trees.differences(trees.picture(str(source)), trees.picture(str(tmp_path / "restored"))) == []


def test_a_wrong_bundle_fails_the_task_with_one_line(tmp_path, ansible_env, moto_tls):
    other_ca = make_ca_and_server_cert(str(tmp_path / "other"), "another CA").ca
    arguments = {**moto_tls.connection_options(), "aws_ca_bundle": other_ca, "bucket": moto_tls.new_bucket()}
    failed = call("s3napback_info", arguments, ansible_env, check=False)
    assert failed["rc"] != 0 and failed["stage"] == "s3"
    assert failed["msg"] == (
        f"s3: TLS error talking to {moto_tls.url}: certificate verify failed: unable to get local issuer"
        f" certificate (checked against aws_ca_bundle {other_ca})"
    )
