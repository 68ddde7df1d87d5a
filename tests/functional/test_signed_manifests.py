"""Signed manifests: the host signs with a key of its own, a restore given its public key refuses
a manifest (and so an object) that anyone with write access to the bucket swapped or edited."""

import json
import subprocess

import pytest
from support import trees
from support.engine import restore_set
from test_protection import DAY

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import BackupError
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BackupRequest
from ansible_collections.s3napback.s3napback.plugins.module_utils.signature import canonical


def gpg(home, *args, data=None):
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], input=data, capture_output=True, check=True
    )


@pytest.fixture
def signing(tmp_path, make_request):
    """A host keyring with the backup public key and a signing key pair of the host's own."""
    home = tmp_path / "state" / "gnupg"
    home.mkdir(parents=True, mode=0o700)
    (tmp_path / "state").chmod(0o700)
    gpg(home, "--passphrase", "", "--quick-gen-key", "Host signer <web1@example.com>", "ed25519", "sign", "never")
    public = gpg(home, "--armor", "--export", "web1@example.com").stdout.decode()
    yield "web1@example.com", public
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def test_a_signed_chain_restores_and_a_swapped_one_is_refused(tmp_path, make_request, s3, bucket, keys, signing):
    signer, public = signing
    source = tmp_path / "source"
    trees.build_tree(str(source))
    request: BackupRequest = make_request(source, gpg_sign_key=signer)
    backup = run_backup(request, now=DAY).backup
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=backup["manifest_key"])["Body"].read())
    assert manifest["signature"].startswith("-----BEGIN PGP SIGNATURE-----")
    restored = tmp_path / "restored"
    restore_set(request, keys, dest=str(restored), gpg_verify_key=public)
    assert trees.differences(trees.picture(str(source)), trees.picture(str(restored))) == []

    # Someone with write access puts in another object and a manifest that matches it, unsigned ...
    other = tmp_path / "other"
    trees.build_tree(str(other))
    trees.write(str(other / "planted"), b"not from the host")
    forged = run_backup(make_request(other, name=request.set_name, prefix="elsewhere"), now=DAY).backup
    s3.copy_object(Bucket=bucket, Key=backup["key"], CopySource={"Bucket": bucket, "Key": forged["key"]})
    forged_manifest = json.loads(s3.get_object(Bucket=bucket, Key=forged["manifest_key"])["Body"].read())
    forged_manifest["key"] = backup["key"]
    s3.put_object(Bucket=bucket, Key=backup["manifest_key"], Body=json.dumps(forged_manifest).encode())
    with pytest.raises(BackupError, match=r"^restore: the manifest of .* is not signed"):
        restore_set(request, keys, dest=str(tmp_path / "forged"), gpg_verify_key=public)
    # ... or keeps the host's signature on an edited manifest.
    forged_manifest["signature"] = manifest["signature"]
    s3.put_object(Bucket=bucket, Key=backup["manifest_key"], Body=json.dumps(forged_manifest).encode())
    with pytest.raises(BackupError, match=r"^restore: the manifest of .* has no valid signature by gpg_verify_key$"):
        restore_set(request, keys, dest=str(tmp_path / "forged"), gpg_verify_key=public)
    assert not (tmp_path / "forged").exists()


def test_a_missing_signing_key_is_named_before_anything_runs(tmp_path, make_request, s3, bucket):
    source = tmp_path / "source"
    trees.build_tree(str(source))
    with pytest.raises(BackupError, match=r"^gpg: no secret key nobody@example.com to sign manifests with in "):
        run_backup(make_request(source, gpg_sign_key="nobody@example.com"), now=DAY)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_the_signature_covers_every_other_field():
    assert canonical({"b": 1, "a": [1, "x"], "signature": "ignored"}) == b'{"a":[1,"x"],"b":1}'
