"""Bad input through the module, as a user types it in an ad-hoc call: one clear line each, and
nothing uploaded, nothing written on the host."""

import json

import pytest
from support import trees
from support.ansible_runner import ansible
from support.fixtures import ACCESS_KEY, SECRET_KEY, bucket_contents, open_uploads

CASES = {
    "no source": ({"directory": None}, "one of the following is required: directory, mysql_database"),
    "two sources": ({"svn_repository": "/srv/svn/repo"}, "parameters are mutually exclusive: directory|mysql_database"),
    "unknown option": ({"direktory": "/srv"}, "unknown option 'direktory' (did you mean 'directory'?)"),
    # the option that no source was given for: Ansible itself says "one of the following is required"
    "unknown option instead of the source": (
        {"directory": None, "direktory": "/etc"},
        "unknown option 'direktory' (did you mean 'directory'?)",
    ),
    "unknown option like nothing known": ({"xyzzy": 1}, "unknown option 'xyzzy'"),
    "fulls not a number": (
        {"fulls": "four"},
        "argument 'fulls' is of type str and we were unable to convert to int",
    ),
    "diffs out of range": ({"diffs": -1}, "config: diffs must be an integer from 0 to 1000, not -1"),
    "name with a path trick": ({"name": "../etc"}, "config: name '../etc' must be 1 to 200 letters"),
    "relative directory": ({"directory": "relative/dir"}, "source: directory 'relative/dir' must be an absolute path"),
    "missing directory": ({"directory": "/nonexistent/dir"}, "source: directory /nonexistent/dir does not exist"),
    "invalid storage class": ({"storage_class": "COLD"}, "value of storage_class must be one of: STANDARD, "),
    "invalid server-side encryption": ({"sse": "rot13"}, "value of sse must be one of: AES256, aws:kms, aws:kms:dsse"),
    "object lock of no days": ({"object_lock_days": 0}, "config: object_lock_days must be from 1 to 36500"),
    "hanoi without discs": ({"cycle": "hanoi"}, "config: cycle hanoi needs discs, from 1 to 32"),
    "hanoi with keep rules": ({"cycle": "hanoi", "discs": 4, "keep_daily": 7}, "cannot be combined with cycle: hanoi"),
    "bandwidth limit too small": (
        {"bandwidth_limit": 10},
        "config: bandwidth_limit must be at least 65536 bytes per second",
    ),
    "malformed public key": (
        {"gpg_public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n"},
        "gpg: gpg_public_key holds no valid OpenPGP public key",
    ),
    "encrypt false with a recipient": (
        {"encrypt": False},
        "config: encrypt is false but gpg_recipient or gpg_public_key is set",
    ),
    "missing bucket": ({"bucket": "no-such-bucket"}, "s3: bucket 'no-such-bucket' does not exist at http://127.0.0.1:"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_module_input_gets_one_line_and_changes_nothing(case, tmp_path, ansible_env, moto, s3, bucket, keys):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    overrides, expected = CASES[case]
    arguments = {
        "directory": str(source),
        "bucket": bucket,
        "endpoint_url": moto.url,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "region": "us-east-1",
        "gpg_recipient": "backup@example.com",
        "gpg_public_key": keys.public_key,
        "state_dir": str(tmp_path / "state"),
        **overrides,
    }
    arguments = {name: value for name, value in arguments.items() if value is not None}
    command = ["localhost", "-i", "localhost,", "-c", "local", "-m", "s3napback.s3napback.s3napback"]
    run = ansible("ansible", *command, "-a", json.dumps(arguments), env=ansible_env, check=False)
    assert run.returncode != 0
    assert "localhost | FAILED! => " in run.stdout
    result = json.loads(run.stdout.split(" => ", 1)[1])
    assert result["msg"].startswith(expected) if expected.startswith("unknown") else expected in result["msg"]
    assert not result["changed"], result["msg"]
    assert "\n" not in result["msg"] and SECRET_KEY not in run.stdout
    assert bucket_contents(s3, bucket) == [] and open_uploads(s3, bucket) == []
    assert not (tmp_path / "state").exists()
