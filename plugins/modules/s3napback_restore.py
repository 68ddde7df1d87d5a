#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: s3napback_restore
short_description: Restore or verify an s3napback backup set as of a point in time
version_added: 0.1.0
description:
  - Restores one backup set made by M(s3napback.s3napback.s3napback) as it was at O(at). A
    directory goes into O(dest), a Subversion repository into a new repository at O(svn_repository).
  - Picks the newest full backup at or before O(at) and every diff of its chain up to O(at).
    Checks that each diff follows the one before. Streams each object from the bucket through
    C(gpg --decrypt), the decompressor and C(tar --extract --listed-incremental=/dev/null), so
    deletions and renames between backups are replayed.
  - Checks each object's SHA-256 against its manifest as it streams. Writes into a temporary
    directory beside O(dest) and moves it into place only when the whole chain applied cleanly.
    A damaged object, a missing link, or a wrong key or passphrase leaves O(dest) untouched.
  - With O(verify=true), reads and decrypts the whole chain and checks every checksum and the tar
    stream, writing no file. This is the automated restore drill.
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.s3_connection
  - s3napback.s3napback.backup_set
  - s3napback.s3napback.database_login
  - s3napback.s3napback.secret_key
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Lists the objects that would be applied and the point in time they restore, and for archived
        ones what would be asked for (RV(retrieval)).
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  at:
    description:
      - The point in time to restore, as an ISO 8601 timestamp (C(2026-11-26T03:00:00Z); a time
        without a zone is UTC) or a date (the end of that day, UTC).
      - Defaults to the newest backup.
    type: str
    version_added: 0.1.0
  dest:
    description:
      - For a directory's set, the absolute path of the directory to restore into. It must be
        absent or empty unless O(force=true).
      - Exactly one of O(dest), O(svn_repository), O(mysql_database), O(postgresql_database),
        O(dump_to) and O(verify=true) is required, the one that fits the set.
    type: path
    version_added: 0.1.0
  svn_repository:
    description:
      - For a Subversion repository's set, the absolute path of the repository to create. The
        full dump and every diff up to O(at) are loaded into it with C(svnadmin load). It must be
        absent or empty unless O(force=true).
    type: path
    version_added: 0.1.0
  mysql_database:
    description:
      - For a MySQL/MariaDB set, the database to load the dump into with C(mysql), created when
        absent. Unlike a directory restore, a load that fails half way leaves what it loaded.
    type: str
    version_added: 0.1.0
  postgresql_database:
    description:
      - For a PostgreSQL set, the database to restore into with C(pg_restore) (created when absent;
        with O(force=true), C(--clean --if-exists) replaces what exists). For the C(pgsql-globals)
        set, the database C(psql) runs the roles' SQL in.
    type: str
    version_added: 0.1.0
  dump_to:
    description:
      - For any set, a file to write the decrypted, decompressed dump to (the chain's streams one
        after the other), for loading by hand. Replaced only with O(force=true).
    type: path
    version_added: 0.1.0
  paths:
    description:
      - Restore only these members, relative to the backed-up directory (C(etc/app.conf),
        C(var/www)). A directory brings everything below it, and the directories above each path
        come with the owner, mode and time they had.
      - The backups' file indexes say which objects hold these paths as of O(at), and under which
        names. Only those objects are read and only those members extracted, with no scratch copy
        of the tree. A path that did not exist then fails the task, naming the last backup that had
        it.
      - Backups made before s3napback kept file indexes are restored by applying the whole chain in
        a scratch directory beside O(dest) (it needs the tree's size for a moment); RV(note) says so.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  retrieval_tier:
    description:
      - How S3 restores the objects the restore needs that are archived (V(GLACIER), V(DEEP_ARCHIVE)),
        which it refuses to read until a RestoreObject made a temporary copy. V(Bulk) is the cheapest
        and slowest, V(Standard) in between, V(Expedited) fastest and for V(GLACIER) only.
      - Each archived object the restore needs is looked at first (one HEAD), and only those neither
        restored nor under way are asked for, once. Manifests and file indexes are never archived.
    type: str
    choices: [Bulk, Standard, Expedited]
    default: Bulk
    version_added: 0.1.0
  retrieval_days:
    description: How many days the restored copies stay readable (1 to 365).
    type: int
    default: 7
    version_added: 0.1.0
  wait:
    description:
      - Wait until every archived object the restore needs is restored (polling with backoff), then
        restore. Without it the task asks for them and returns at once, RV(pending), unchanged on
        disk; the same task run later finds them ready and restores.
    type: bool
    default: false
    version_added: 0.1.0
  wait_timeout:
    description: With O(wait=true), the seconds to wait at most (1 to 172800) before failing; a later run goes on.
    type: int
    default: 43200
    version_added: 0.1.0
  index:
    description:
      - With O(paths), read the file indexes to fetch only what holds the paths. V(false) applies
        the whole chain instead, the way around an index that is missing or damaged (which fails
        the task otherwise).
    type: bool
    default: true
    version_added: 0.1.0
  force:
    description: Replace the contents of a non-empty O(dest).
    type: bool
    default: false
    version_added: 0.1.0
  verify:
    description: Read, decrypt and check the whole chain without writing any file.
    type: bool
    default: false
    version_added: 0.1.0
requirements:
  - python-gnupg >= 0.4.9
  - GNU tar, gpg (GnuPG 2), and zstd or gzip as the objects need; svnadmin for Subversion sets;
    the MySQL/MariaDB or PostgreSQL client for databases
seealso:
  - module: s3napback.s3napback.s3napback
  - module: s3napback.s3napback.s3napback_info
"""

EXAMPLES = r"""
- name: Restore /etc of web1 as it was on the morning of 20 November, on a recovery host
  s3napback.s3napback.s3napback_restore:
    bucket: backups
    prefix: web1.example.com
    name: dir-etc
    at: "2026-11-20T06:00:00Z"
    dest: /srv/restore/web1-etc
    gpg_private_key: "{{ vault_backup_secret_key }}"
    gpg_passphrase: "{{ vault_backup_passphrase }}"

- name: Bring back one file from the newest backup
  s3napback.s3napback.s3napback_restore:
    bucket: backups
    prefix: web1.example.com
    name: dir-etc
    paths: [nginx/nginx.conf]
    dest: /tmp/nginx-conf
    gpg_home: /root/.gnupg-backups

- name: Restore drill, every night on the recovery host
  s3napback.s3napback.s3napback_restore:
    bucket: backups
    prefix: "{{ item }}"
    name: dir-etc
    verify: true
    gpg_home: /root/.gnupg-backups
  loop: "{{ groups['backed_up'] }}"

- name: See which objects a restore would use
  s3napback.s3napback.s3napback_restore:
    bucket: backups
    prefix: web1.example.com
    name: dir-etc
    at: "2026-11-20"
    dest: /srv/restore/web1-etc
    gpg_home: /root/.gnupg-backups
  check_mode: true
"""

RETURN = r"""
at:
  description: The time of the newest backup applied; the point in time actually restored.
  returned: success
  type: str
  sample: "2026-11-20T03:15:00Z"
objects:
  description:
    - The objects applied in order (in check mode, that would be), a full first. With O(paths) and
      the file indexes, only the objects that hold the paths (and the newest, for directories).
  returned: success
  type: list
  elements: dict
  contains:
    key:
      description: The object's key.
      type: str
      returned: success
    kind:
      description: V(full) or V(diff).
      type: str
      returned: success
    bytes:
      description: The object's size.
      type: int
      returned: success
    sha256:
      description: The SHA-256 recorded in its manifest and checked while streaming.
      type: str
      returned: success
bytes:
  description: The total size of the objects.
  returned: success
  type: int
  sample: 73400320
dest:
  description: Where the set was restored (a directory, or a Subversion repository); V(null) when verifying.
  returned: success
  type: str
  sample: /srv/restore/web1-etc
verified:
  description: Whether the chain was read and checked in full (O(verify=true)).
  returned: success
  type: bool
retrieval:
  description:
    - For a set with archived objects (O(retrieval_tier)), the retrieval this run asked for (in
      check mode, would ask for, so that its cost shows before it is paid).
  returned: when an object the restore needs is archived
  type: dict
  version_added: 0.1.0
  contains:
    requested:
      description: The keys this run asked S3 to restore.
      type: list
      elements: str
      returned: always
    in_progress:
      description: The keys whose restore was already under way.
      type: list
      elements: str
      returned: always
    ready:
      description: The keys whose restored copy can be read now.
      type: list
      elements: str
      returned: always
    objects:
      description: How many archived objects are not ready yet.
      type: int
      returned: always
    bytes:
      description: Their size, what the retrieval bills.
      type: int
      returned: always
    tier:
      description: The retrieval tier.
      type: str
      returned: always
    expected_ready:
      description: By storage class, AWS's typical time for this tier, as its user guide states it.
      type: dict
      returned: always
      sample: {DEEP_ARCHIVE: within 48 hours}
pending:
  description:
    - V(true) when archived objects are not ready yet and O(wait) is false. Nothing was restored;
      C(changed) says whether this run asked for something. Run the task again later.
  returned: success
  type: bool
  version_added: 0.1.0
method:
  description:
    - V(index) when the file indexes chose the objects that hold O(paths) and RV(objects) lists only
      those; V(chain) when every object of the chain was applied.
  returned: success
  type: str
  version_added: 0.1.0
  sample: index
note:
  description: Why a restore of O(paths) applied the whole chain, or V(null).
  returned: success
  type: str
  version_added: 0.1.0
  sample: >-
    web1.example.com/dir-etc/20261116T031502Z-full.tar.zst.gpg has no file index (made before
    s3napback kept them): the whole chain was applied
stage:
  description: On failure, the stage that failed, such as V(restore), V(gpg), V(tar), V(s3).
  returned: failure
  type: str
  sample: restore
"""

from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import RESTORE, restore_request
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import run_restore

OPTIONS = RESTORE
LIBRARIES = ("boto3", "python-gnupg")


def main() -> None:
    run_module(
        OPTIONS,
        lambda module: run_restore(restore_request(module.params), check_mode=module.check_mode).as_dict(),
        libraries=LIBRARIES,
    )


if __name__ == "__main__":
    main()
