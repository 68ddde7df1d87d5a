# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signed manifests, for restores that must know a backup is the one the host made.

The backed-up host signs each manifest with a signing key of its own (``gpg_sign_key``, never the
key that decrypts). A restore given the signer's public key (``gpg_verify_key``) refuses any
manifest that is unsigned or whose signature does not verify; since the manifest holds its
object's SHA-256, an object swapped or edited by someone who can write to the bucket is refused
too. The signature travels inside the manifest, over the manifest's other fields in canonical
JSON, so no extra object needs listing, rotating or locking.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from .errors import BackupError
from .pipeline import child_environment

FIELD = "signature"
GPG = "gpg"


def canonical(manifest: dict) -> bytes:
    """What is signed: every field but the signature, in one fixed rendering."""
    fields = {name: value for name, value in manifest.items() if name != FIELD}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _gpg(home: str, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
    argv = [GPG, "--batch", "--no-tty", "--homedir", home, *args]
    try:
        return subprocess.run(argv, input=data, capture_output=True, env=child_environment(), check=False)
    except OSError as exc:
        raise BackupError("gpg", f"cannot run {GPG}: {exc.strerror}") from exc


def _first_error(result: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in result.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[0] if lines else f"exited with status {result.returncode}"


class Signer:
    """Signs manifests with ``key``, whose secret part is in the keyring at ``home``. Secret-key
    work needs gpg-agent: the one it starts is stopped again when the signer closes."""

    def __init__(self, home: str, key: str):
        self.home, self.key = home, key

    def check(self) -> None:
        found = _gpg(self.home, "--with-colons", "--list-secret-keys", "--", self.key)
        if found.returncode != 0 or b"\nsec:" not in b"\n" + found.stdout:
            raise BackupError("gpg", f"no secret key {self.key} to sign manifests with in {self.home}")

    def sign(self, manifest: dict) -> dict:
        signed = _gpg(self.home, "--local-user", self.key, "--armor", "--detach-sign", data=canonical(manifest))
        if signed.returncode != 0:
            raise BackupError("gpg", f"cannot sign the manifest with {self.key}: {_first_error(signed)}")
        return {**manifest, FIELD: signed.stdout.decode("ascii")}

    def close(self) -> None:
        subprocess.run(
            ["gpgconf", "--homedir", self.home, "--kill", "gpg-agent"],
            capture_output=True,
            env=child_environment(),
            check=False,
        )


class Verifier:
    """``with Verifier(public_key) as verify: verify(key, manifest)``, in a keyring of its own."""

    def __init__(self, public_key: str):
        self.public_key = public_key
        self.home: str | None = None

    def __enter__(self) -> Verifier:
        self.home = tempfile.mkdtemp(prefix="s3napback-verify-")
        imported = _gpg(self.home, "--import", data=self.public_key.encode())
        if imported.returncode != 0:
            self.__exit__()
            raise BackupError("gpg", f"gpg_verify_key holds no usable public key: {_first_error(imported)}")
        return self

    def __call__(self, key: str, manifest: dict) -> None:
        signature = manifest.get(FIELD)
        if not isinstance(signature, str):
            raise BackupError("restore", f"the manifest of {key} is not signed, and gpg_verify_key asks for signatures")
        with tempfile.NamedTemporaryFile(dir=self.home, suffix=".asc", delete=False) as handle:
            handle.write(signature.encode("ascii", "replace"))
        if self.home is None:
            raise AssertionError("__enter__ sets the home")
        try:
            checked = _gpg(self.home, "--status-fd", "1", "--verify", handle.name, "-", data=canonical(manifest))
        finally:
            os.unlink(handle.name)
        if checked.returncode != 0 or b"[GNUPG:] VALIDSIG " not in checked.stdout:
            raise BackupError("restore", f"the manifest of {key} has no valid signature by gpg_verify_key")

    def __exit__(self, *exc) -> None:
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)
