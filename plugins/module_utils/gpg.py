# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backing-up host's keyring: a dedicated GnuPG home that holds only public keys.

python-gnupg manages keys (import, lookup); the encryption itself is a ``gpg`` process in the
pipe, since python-gnupg can only encrypt to a file path. A dedicated home (never ``~/.gnupg``)
keeps cron, whose HOME differs, on the same keyring as an interactive run.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import tempfile
from typing import Any

from . import files
from .errors import BackupError
from .pipeline import Stage, child_environment
from .scratch import ScratchDirectory, secret_parent

try:
    import gnupg
except ImportError:  # the module reports missing_required_lib('python-gnupg')
    gnupg = None

GPG = "gpg"
RESTORE_KEYRING_PREFIX = "s3napback-restore-gpg-"  # one per restore given gpg_private_key: secret_parent()


def _scan(gpg, armored: str) -> list:
    """The keys in ``armored``; python-gnupg before 0.5 (Debian 12's) can only scan a file."""
    if hasattr(gpg, "scan_keys_mem"):
        return gpg.scan_keys_mem(armored)
    with tempfile.NamedTemporaryFile("w", suffix=".asc") as handle:
        handle.write(armored)
        handle.flush()
        return gpg.scan_keys(handle.name)


class Keyring:
    def __init__(self, home: str):
        self.home = home

    def _gpg(self, agent: bool = False):
        if shutil.which(GPG) is None:
            raise BackupError("gpg", f"the {GPG} command is not installed")
        # Public-key work needs no gpg-agent; without --no-autostart gpg would leave one running.
        arguments: dict[str, Any] = {
            "gpgbinary": GPG,
            "gnupghome": self.home,
            "options": None if agent else ["--no-autostart"],
        }
        if "env" in inspect.signature(gnupg.GPG).parameters:  # python-gnupg 0.5 and later
            arguments["env"] = child_environment()
        return gnupg.GPG(**arguments)

    def import_public_key(self, armored: str) -> bool:
        """Import ``armored`` public key text; True when the keyring changed."""
        files.private_directory(self.home, "gpg")
        gpg = self._gpg()
        found = _scan(gpg, armored)
        if any(key.get("type") == "sec" for key in found):
            raise BackupError("gpg", "gpg_public_key holds a secret key: give backed-up hosts the public key only")
        if not found:
            raise BackupError("gpg", "gpg_public_key holds no valid OpenPGP public key")
        result = gpg.import_keys(armored)
        if not result.fingerprints:  # the key is fine: writing it into the keyring failed
            reasons = [line[len("gpg: ") :] for line in (result.stderr or "").splitlines() if line.startswith("gpg: ")]
            reason = reasons[0] if reasons else "gpg could not write it"  # the first says why; the rest follow
            raise BackupError("gpg", f"cannot import gpg_public_key into {self.home}: {reason}")
        return bool(result.imported)

    def missing_recipients(self, recipients: list[str]) -> list[str]:
        """The recipients that have no public key able to encrypt in this keyring."""
        if not os.path.isdir(self.home):
            return list(recipients)
        gpg = self._gpg()
        missing = []
        for recipient in recipients:
            keys = gpg.list_keys(keys=[recipient])
            if not any("E" in key.get("cap", "") and key.get("trust") not in ("e", "r") for key in keys):
                missing.append(recipient)
        return missing

    def encrypt_stage(self, recipients: list[str]) -> Stage:
        argv = [
            GPG,
            "--batch",
            "--no-tty",
            "--quiet",
            "--no-autostart",
            "--homedir",
            self.home,
            "--trust-model",
            "always",
            "--compress-algo",
            "none",  # the compressor before gpg did that job, 15x faster
            "--no-auto-key-locate",  # never go looking for keys on the network
            "--encrypt",
        ]
        for recipient in recipients:
            argv += ["--recipient", recipient]
        return Stage("gpg", argv)


def check_recipients(home: str, recipients: list[str], public_key: str | None) -> None:
    """Fail unless every recipient can be encrypted to with ``home``'s keys plus ``public_key``.

    ``public_key`` is tried in a throwaway keyring, so that checking changes nothing: a run that
    fails on any other input leaves the host's keyring as it was.
    """
    missing = list(recipients)
    if public_key:
        with ScratchDirectory("s3napback-gpg-", _no_agent) as scratch:
            keyring = Keyring(scratch)
            keyring.import_public_key(public_key)
            missing = keyring.missing_recipients(missing)
    if missing:
        missing = Keyring(home).missing_recipients(missing)
    if missing:
        raise BackupError("gpg", f"no public key for recipient {', '.join(missing)} in {home}")


def _no_agent(_home: str) -> None:
    """Public-key work runs gpg with --no-autostart: there is no agent to stop."""


def _stop_agent(home: str) -> None:
    subprocess.run(
        ["gpgconf", "--homedir", home, "--kill", "all"], check=False, capture_output=True, env=child_environment()
    )


class DecryptionKeys:
    """Where a restore finds the secret key: the operator's ``home``, or a private temporary
    keyring holding ``private_key`` that is removed afterwards, its agent stopped (by the next
    restore if this one is killed: scratch.py).

    The passphrase reaches gpg through a pipe of its own (``--passphrase-fd``), never argv or the
    environment.
    """

    def __init__(self, home: str | None, private_key: str | None, passphrase: str | None):
        self.home = home
        self.private_key = private_key
        self.passphrase = passphrase
        self._scratch: ScratchDirectory | None = None
        self._open_fds: list[int] = []

    def __enter__(self) -> DecryptionKeys:
        scratch = ScratchDirectory(RESTORE_KEYRING_PREFIX, _stop_agent, secret_parent())
        if self.private_key:
            self._scratch = scratch
            self.home = scratch.__enter__()  # removes the keyrings of killed restores first
            try:
                secret_keys = Keyring(self.home)._gpg(agent=True)  # the agent keeps secret keys
                result = secret_keys.import_keys(self.private_key, passphrase=self.passphrase)
                if not result.sec_imported:
                    raise BackupError("gpg", "gpg_private_key holds no OpenPGP secret key")
            except BaseException:  # no with-block owns it yet: remove the keyring here
                self.__exit__()
                raise
            return self
        scratch.remove_abandoned()
        if self.home is None or not os.path.isdir(self.home):
            raise BackupError("gpg", f"no keyring to decrypt with: gpg_home {self.home} does not exist")
        return self

    def decrypt_stage(self) -> Stage:
        if self.home is None:
            raise AssertionError("__enter__ sets the home or raises")
        argv = [GPG, "--batch", "--no-tty", "--quiet", "--homedir", self.home, "--decrypt"]
        pass_fds: tuple[int, ...] = ()
        if self.passphrase is not None:
            read_end, write_end = os.pipe()
            os.write(write_end, self.passphrase.encode() + b"\n")
            os.close(write_end)
            self._open_fds.append(read_end)
            argv[-1:-1] = ["--pinentry-mode", "loopback", "--passphrase-fd", str(read_end)]
            pass_fds = (read_end,)
        return Stage("gpg", argv, pass_fds=pass_fds)

    def release_fds(self) -> None:
        """Close this process's copies of passphrase pipes, once gpg holds its own."""
        while self._open_fds:
            os.close(self._open_fds.pop())

    def __exit__(self, *exc) -> None:
        self.release_fds()
        if self._scratch:
            self._scratch.__exit__(*exc)
            self._scratch = None
