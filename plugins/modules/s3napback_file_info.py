#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: s3napback_file_info
short_description: List the files of an s3napback directory set as of a point in time, or find every version of some
version_added: 0.1.0
description:
  - Reads the file indexes that M(s3napback.s3napback.s3napback) stores beside each directory
    backup, never a data object, and answers two questions.
  - Without O(find), the tree as of O(at) (the newest backup by default), or only O(paths) and what
    is under them, each file with its type, size, mtime and the backup that holds its content.
  - With O(find), every version of every path that matches a shell glob, across all the backups of
    the set, each with the backup that first had it and the one in which the path stopped existing.
  - The indexes are encrypted like the backups, so this needs the operator's secret key, as
    M(s3napback.s3napback.s3napback_restore) does. Restore a file it found with that module's
    O(s3napback.s3napback.s3napback_restore#module:paths).
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.s3_connection
  - s3napback.s3napback.backup_set
  - s3napback.s3napback.secret_key
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: This module only reads.
  diff_mode:
    support: N/A
    details: This module only reads.
  platform:
    platforms: posix
options:
  at:
    description:
      - The point in time whose tree to list, as an ISO 8601 timestamp or a date (the end of that
        day, UTC). Defaults to the newest backup.
    type: str
    version_added: 0.1.0
  paths:
    description: List only these paths (relative to the backed-up directory) and what is under them.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  find:
    description:
      - A shell glob. A pattern with a C(/) matches the whole relative path (C(etc/*.conf)), one
        without matches the last component, as C(find -name) does (C(*.conf)).
    type: str
    version_added: 0.1.0
requirements:
  - python-gnupg >= 0.4.9
  - gpg (GnuPG 2), and zstd or gzip as the indexes need
seealso:
  - module: s3napback.s3napback.s3napback_restore
  - module: s3napback.s3napback.s3napback_info
"""

EXAMPLES = r"""
- name: What was in /etc/nginx of web1 on the morning of 20 November
  s3napback.s3napback.s3napback_file_info:
    bucket: backups
    prefix: web1.example.com
    name: dir-etc
    at: "2026-11-20T06:00:00Z"
    paths: [nginx]
    gpg_home: /root/.gnupg-backups
  register: tree

- name: Which night did nginx.conf change, or disappear?
  s3napback.s3napback.s3napback_file_info:
    bucket: backups
    prefix: web1.example.com
    name: dir-etc
    find: nginx.conf
    gpg_private_key: "{{ vault_backup_secret_key }}"
  register: found

- name: Bring back the version before the last
  s3napback.s3napback.s3napback_restore:
    bucket: backups
    prefix: web1.example.com
    name: dir-etc
    at: "{{ found.versions[-2].time }}"
    paths: ["{{ found.versions[-2].path }}"]
    dest: /tmp/nginx-conf
    gpg_private_key: "{{ vault_backup_secret_key }}"
"""

RETURN = r"""
at:
  description: The time of the backup whose tree was listed.
  returned: without O(find)
  type: str
  sample: "2026-11-20T03:15:00Z"
backup:
  description: The key of that backup.
  returned: without O(find)
  type: str
files:
  description: The tree, sorted by path; the backed-up directory itself is the path V("").
  returned: without O(find)
  type: list
  elements: dict
  contains:
    path:
      description:
        - The path relative to the backed-up directory. Bytes that are not UTF-8 and control
          characters are written as tar writes them, C(\ooo) in octal.
      type: str
      returned: always
    type:
      description: V(file), V(directory), V(symlink), V(fifo), V(char) or V(block).
      type: str
      returned: always
    size:
      description: The size in bytes.
      type: int
      returned: always
    mtime:
      description: The modification time, UTC, to the microsecond.
      type: str
      returned: always
    mode:
      description: The permission bits in octal.
      type: str
      returned: always
    owner:
      description: The owner as tar stored it (a name, or a number where the name was unknown).
      type: str
      returned: always
    group:
      description: The group, likewise.
      type: str
      returned: always
    target:
      description: A symbolic link's target.
      type: str
      returned: for symbolic links
    hardlink_to:
      description: The other name that tar stored this file's content under, in the same backup.
      type: str
      returned: for the later names of a hard-linked file
    backup:
      description: The key of the backup whose object holds the content.
      type: str
      returned: always
  sample:
    - {path: nginx/nginx.conf, type: file, size: 1490, mtime: "2026-11-18T09:12:44.120000Z", mode: "0644",
       owner: root, group: root, backup: web1.example.com/dir-etc/20261118T031502Z-diff.tar.zst.gpg}
versions:
  description: With O(find), every version of every matching path, oldest first.
  returned: with O(find)
  type: list
  elements: dict
  contains:
    path:
      description: The path, as in RV(files).
      type: str
      returned: always
    backup:
      description: The key of the first backup that has this version at this path.
      type: str
      returned: always
    time:
      description:
        - That backup's time, the O(s3napback.s3napback.s3napback_restore#module:at) that restores
          this version.
      type: str
      returned: always
    stored_in:
      description: The key of the backup whose object holds the content (older when a directory was renamed).
      type: str
      returned: always
    deleted_in:
      description: The key of the backup in which the path stopped existing after this version, or V(null).
      type: str
      returned: always
    size:
      description: The size in bytes.
      type: int
      returned: always
    mtime:
      description: The modification time, UTC.
      type: str
      returned: always
    type:
      description: As in RV(files).
      type: str
      returned: always
paths:
  description: With O(find), the distinct paths that matched.
  returned: with O(find)
  type: list
  elements: str
chains_without_index:
  description: With O(find), the fulls of chains made before file indexes, which were not searched.
  returned: with O(find)
  type: list
  elements: str
"""

from ansible_collections.s3napback.s3napback.plugins.module_utils.browse import BROWSE, browse, browse_request
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module

OPTIONS = BROWSE
LIBRARIES = ("boto3", "python-gnupg")


def main() -> None:
    run_module(
        OPTIONS,
        lambda module: browse(browse_request(module.params)),
        libraries=LIBRARIES,
        mutually_exclusive=[("find", "at"), ("find", "paths")],
    )


if __name__ == "__main__":
    main()
