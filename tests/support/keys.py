"""A real GnuPG key pair for the tests: a backing-up keyring with only the public key, and a
restoring keyring with the secret key (no passphrase)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

RECIPIENT = "backup@example.com"


@dataclass(frozen=True)
class TestKeys:
    public_home: str  # what a backed-up host has
    secret_home: str  # what the restoring operator has
    public_key: str  # armored
    fingerprint: str

    def secret_key_text(self) -> str:
        """The armored secret key, as an operator would hand it to a restore."""
        return _gpg(
            self.secret_home,
            "--armor",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--export-secret-keys",
            self.fingerprint,
            text=True,
        ).stdout

    def stop_agents(self) -> None:
        for home in (self.public_home, self.secret_home):
            subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False)


def _gpg(home: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--homedir", home, "--batch", "--no-tty", *args], check=True, capture_output=True, **kwargs
    )


def make_keys(directory: str, uid: str = f"Backup <{RECIPIENT}>", passphrase: str = "") -> TestKeys:
    secret_home = os.path.join(directory, "secret")
    public_home = os.path.join(directory, "public")
    os.makedirs(secret_home, mode=0o700)
    os.makedirs(public_home, mode=0o700)
    protection = ["--pinentry-mode", "loopback", "--passphrase", passphrase]
    _gpg(secret_home, *protection, "--quick-gen-key", uid, "ed25519", "cert", "0")
    listing = _gpg(secret_home, "--list-keys", "--with-colons", text=True).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    _gpg(secret_home, *protection, "--quick-add-key", fingerprint, "cv25519", "encr", "0")
    public_key = _gpg(secret_home, "--armor", "--export", fingerprint, text=True).stdout
    _gpg(public_home, "--import", input=public_key, text=True)
    return TestKeys(public_home, secret_home, public_key, fingerprint)
