# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which sets a module that lists a bucket looks at: one host's, or every host's."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  bucket:
    description: The bucket to look in.
    type: str
    required: true
    version_added: 0.1.0
  prefix:
    description:
      - A host's key prefix, such as C(web1.example.com). Without it, every host's sets in the
        bucket.
    type: str
    version_added: 0.1.0
"""
