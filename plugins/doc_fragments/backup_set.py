# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which backup set a module that reads backups works on."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  bucket:
    description: The bucket that holds the set.
    type: str
    required: true
    version_added: 0.1.0
  prefix:
    description:
      - The key prefix of the backed-up host's sets. Defaults to this host's fully qualified
        domain name. Set it when reading another host's backups.
    type: str
    version_added: 0.1.0
  name:
    description: The set's name, as the backup module returned it in RV(ignore:backup_set.name).
    type: str
    required: true
    version_added: 0.1.0
"""
