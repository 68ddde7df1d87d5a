# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the modules that read backups find the operator's secret key, and the host's signing key."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  gpg_home:
    description:
      - A GnuPG home directory that holds the secret key. Not needed with O(gpg_private_key).
    type: path
    version_added: 0.1.0
  gpg_private_key:
    description:
      - The ASCII-armored secret key. It is imported into a private temporary keyring (in
        C(/dev/shm), a tmpfs, unless E(TMPDIR) is set) that is removed, with its gpg-agent, when
        the task ends; if the task is killed before it can clean up, by the next restore on the host.
    type: str
    version_added: 0.1.0
  gpg_passphrase:
    description:
      - The passphrase of the secret key. It reaches gpg through a pipe, never its command line or
        environment.
    type: str
    version_added: 0.1.0
  gpg_verify_key:
    description:
      - The ASCII-armored public key of the backed-up host's O(s3napback.s3napback.s3napback#module:gpg_sign_key).
        Every manifest of the chain must carry a valid signature by it, checked before anything is
        read, so an object or manifest swapped or edited by anyone who can write to the bucket is
        refused.
    type: str
    version_added: 0.1.0
"""
