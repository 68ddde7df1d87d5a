# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How s3napback's modules reach a database server: community.mysql's and community.postgresql's names."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description: The database server's host name or address.
    type: str
    version_added: 0.1.0
  login_port:
    description: The database server's port.
    type: int
    version_added: 0.1.0
  login_unix_socket:
    description: The server's Unix socket (MySQL), or the directory that holds it (PostgreSQL).
    type: str
    version_added: 0.1.0
  login_user:
    description: The database user.
    type: str
    version_added: 0.1.0
  login_password:
    description:
      - The database user's password. It reaches the client only through a mode 0600 file that is
        removed afterwards (MySQL C(--defaults-extra-file), PostgreSQL C(PGPASSFILE)), never its
        command line or environment.
    type: str
    version_added: 0.1.0
  config_file:
    description:
      - A MySQL option file to read, for instance with credentials. Defaults to C(~/.my.cnf) when
        it exists.
    type: path
    version_added: 0.1.0
"""
