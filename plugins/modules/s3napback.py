#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: s3napback
short_description: Back up directories, databases and Subversion repositories to S3, streamed and encrypted
version_added: 0.1.0
description:
  - Makes one backup of a directory, a MySQL/MariaDB or PostgreSQL database, or a Subversion
    repository and stores it in an S3 bucket (or any S3-compatible store), then
    deletes the oldest backup chains beyond O(fulls). With several databases, V(all) of them, or
    O(svn_parent), it does so for each, each its own backup set.
  - The data never touches the local disk. C(tar) streams into C(zstd) (or C(gzip)), into
    C(gpg --encrypt) to the public key of O(gpg_recipient), into S3 as volumes of 8 MiB, each
    stored with one PutObject as the stream goes (C(KEY), then C(KEY~00002), C(KEY~00003) ...).
    Memory stays bounded whatever the size of the backup. A stream that fits in the first volume
    is sent only once every stage of the pipe has exited well.
  - Backups form chains. A chain starts with a C(full) backup. Up to O(diffs) C(diff) backups
    follow it, each holding the changes since the one before (GNU tar C(--listed-incremental), or
    C(svnadmin dump --incremental) from the revision after the last one stored).
    A new chain starts every O(diffs)+1 periods, or sooner when the chain is broken.
  - One backup per period of O(frequency) days (UTC) at most. A second run in the same period
    changes nothing unless O(force=true).
  - Any failing stage (tar, the compressor, gpg, the upload) fails the task. The volumes already
    stored are deleted and the local incremental state is left as it was, so the next run is correct.
  - Each backup gets a JSON manifest beside it (kind, parent, sizes, volumes, SHA-256). Keys are
    C(<prefix>/<name>/<UTC timestamp>-<full|diff>.tar[.zst|.gz][.gpg]).
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.s3_connection
  - s3napback.s3napback.database_login
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports whether a full or a diff would run, its key and the keys rotation would delete.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  directory:
    description:
      - Absolute path of the directory to back up. Its contents are archived relative to it.
      - Exactly one of O(directory), O(mysql_database), O(postgresql_database), O(svn_repository)
        and O(svn_parent) is required.
    type: path
    version_added: 0.1.0
  mysql_database:
    description:
      - MySQL or MariaDB databases to dump with C(mysqldump), each into its own backup set named
        C(mysql-<database>). V(all) means every database but the server's own schemas, also one
        set each, unless O(all_in_one=true).
      - Databases have no incrementals. Every backup is a full dump, and rotation keeps O(fulls)
        of them (O(diffs) does not apply).
      - A dump that fails half way (server gone, access denied, a lock timeout) fails the backup,
        judged by mysqldump's exit status and stderr.
    type: list
    elements: str
    version_added: 0.1.0
  all_in_one:
    description: With O(mysql_database=all), one C(--all-databases) dump in one set instead of a set per database.
    type: bool
    default: false
    version_added: 0.1.0
  mysqldump_options:
    description:
      - Replaces mysqldump's default options, C(--single-transaction --routines --triggers --events
        --hex-blob).
    type: list
    elements: str
    version_added: 0.1.0
  postgresql_database:
    description:
      - PostgreSQL databases to dump with C(pg_dump --format=custom) (restorable with
        C(pg_restore), selectively too), each into its own set named C(pgsql-<database>).
      - V(all) means every database that accepts connections but the templates, plus
        C(pg_dumpall --globals-only) (roles, tablespaces) in the set C(pgsql-globals).
      - Always full dumps; rotation keeps O(fulls) of them.
    type: list
    elements: str
    version_added: 0.1.0
  svn_repository:
    description:
      - Absolute path of a Subversion repository to back up with C(svnadmin dump). A full holds
        revisions 0 to the newest, a diff the revisions since the last backup. When there is no new
        revision, nothing is stored and the task reports no change.
    type: path
    version_added: 0.1.0
  svn_parent:
    description:
      - Absolute path of a directory that holds Subversion repositories. Each repository directly
        in it is backed up as its own set, named after its path; new repositories are picked up on
        the next run. Other directories are skipped with a note in RV(notes).
      - A repository that fails does not stop the others; the task then fails and says which.
    type: path
    version_added: 0.1.0
  exclude:
    description:
      - GNU tar C(--exclude) patterns, matched against member names such as C(./var/cache/big.bin).
      - Use a pattern without a leading C(./), such as C(*.log) or C(cache), to match at any depth.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  name:
    description:
      - The backup set's name, the last component of its key prefix.
      - Defaults to a readable name derived from the source that two sources never share, such as
        C(dir-etc) for C(/etc).
      - Letters, digits and C(. _ ~ + -) only; no C(/) or C(..).
    type: str
    version_added: 0.1.0
  bucket:
    description:
      - The bucket to store backups in. It must exist.
    type: str
    required: true
    version_added: 0.1.0
  prefix:
    description:
      - The key prefix of this host's backup sets. Defaults to the host's fully qualified domain name.
      - Use an empty string to store sets at the top of the bucket.
    type: str
    version_added: 0.1.0
  gpg_recipient:
    description:
      - The key IDs, fingerprints or e-mail addresses to encrypt to. Only the holders of the
        matching secret keys can read the backups, not the backed-up host.
      - Required unless O(encrypt=false).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  gpg_public_key:
    description:
      - ASCII-armored public key(s) to import into O(gpg_home) before the backup, so that the host
        needs no key installed beforehand. Secret keys are refused.
    type: str
    version_added: 0.1.0
  gpg_home:
    description:
      - The GnuPG home directory that holds the recipients' public keys. Defaults to
        C(<state_dir>/gnupg). A dedicated directory keeps cron and interactive runs on one keyring.
    type: path
    version_added: 0.1.0
  gpg_sign_key:
    description:
      - The key ID or fingerprint of a signing key whose secret part is in the O(gpg_home) keyring
        (a key of the host's own, never the one that decrypts the backups). Each manifest then
        carries a signature, which a restore given the public key as
        O(s3napback.s3napback.s3napback_restore#module:gpg_verify_key) checks before it uses anything.
    type: str
    version_added: 0.1.0
  encrypt:
    description:
      - Whether to encrypt. Set V(false) explicitly to store backups in clear, without
        O(gpg_recipient).
    type: bool
    default: true
    version_added: 0.1.0
  compression:
    description:
      - The compressor between tar and gpg. C(zstd) keeps up with tar and gpg; C(gzip) is about
        15 times slower. gpg's own compression is always off.
    type: str
    choices: [zstd, gzip, none]
    default: zstd
    version_added: 0.1.0
  compression_level:
    description:
      - The compression level, 1 to 19 for C(zstd) (default 3) and 1 to 9 for C(gzip) (default 6).
    type: int
    version_added: 0.1.0
  state_dir:
    description:
      - Where this host keeps each set's incremental state (tar snapshot files) and locks. Created
        mode 0700.
    type: path
    default: /var/lib/s3napback
    version_added: 0.1.0
  frequency:
    description:
      - The length of a period in days (1 to 366). At most one backup is made per period.
    type: int
    default: 1
    version_added: 0.1.0
  phase:
    description:
      - Days (0 to 366) by which periods are shifted, to spread sets with O(frequency) > 1 over
        different days.
    type: int
    default: 0
    version_added: 0.1.0
  diffs:
    description:
      - The number of diff backups after each full (0 to 1000). V(0) makes every backup a full.
    type: int
    default: 6
    version_added: 0.1.0
  fulls:
    description:
      - The number of chains (a full and its diffs) to keep (1 to 1000). Older chains are deleted
        whole after a successful backup, never a full that a kept diff depends on.
    type: int
    default: 4
    version_added: 0.1.0
  force:
    description:
      - Back up even when this period already has a backup.
    type: bool
    default: false
    version_added: 0.1.0
  force_full:
    description:
      - Make this backup a full, starting a new chain.
    type: bool
    default: false
    version_added: 0.1.0
  storage_class:
    description:
      - The S3 storage class of the data objects, set on each volume as it is stored. Manifests and file
        indexes stay in V(STANDARD), where small objects cost no minimum size and can be read at
        once, so listing, planning, rotation and browsing never touch archived data.
      - V(GLACIER) and V(DEEP_ARCHIVE) objects are restored to S3 by
        M(s3napback.s3napback.s3napback_restore) before they are read (its
        O(s3napback.s3napback.s3napback_restore#module:retrieval_tier)); V(GLACIER_IR) and
        V(STANDARD_IA) need no such step.
      - S3 bills these classes for a minimum time (30 days for V(STANDARD_IA), 90 for V(GLACIER_IR) and
        V(GLACIER), 180 for V(DEEP_ARCHIVE)) even when an object is deleted sooner. The task warns when
        rotation would delete backups sooner than that.
    type: str
    choices:
      [STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, DEEP_ARCHIVE, GLACIER_IR]
    version_added: 0.1.0
  storage_class_fulls:
    description:
      - The storage class of full backups, in place of O(storage_class) (database dumps are all fulls).
        Fulls live longest; keeping them cold and diffs warm (O(storage_class_diffs)) is usual.
    type: str
    choices:
      [STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, DEEP_ARCHIVE, GLACIER_IR]
    version_added: 0.1.0
  storage_class_diffs:
    description:
      - The storage class of diffs, in place of O(storage_class). Diffs are small and short-lived, and
        an archived object deleted before its minimum time is billed for the rest of it.
    type: str
    choices:
      [STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, DEEP_ARCHIVE, GLACIER_IR]
    version_added: 0.1.0
  sse:
    description:
      - Server-side encryption of the objects, on top of the GPG encryption (which S3 never sees
        through). V(aws:kms) uses O(sse_kms_key_id), or the account's default key.
    type: str
    choices: [AES256, "aws:kms", "aws:kms:dsse"]
    version_added: 0.1.0
  sse_kms_key_id:
    description: The KMS key (ID, ARN or alias) of O(sse=aws:kms).
    type: str
    version_added: 0.1.0
  object_lock_days:
    description:
      - Lock each object (data and manifest) for this many days with S3 Object Lock, so that
        nobody, not even ransomware holding this host's credentials, can delete or overwrite it
        before then. The bucket must have been created with Object Lock enabled.
      - Rotation then deletes a chain only when none of its objects is locked any more, by
        version (so that the storage is freed), and returns the others in RV(kept_locked).
      - Choose at least the age of the oldest chain rotation keeps, or rotation will keep more.
    type: int
    version_added: 0.1.0
  object_lock_mode:
    description:
      - V(COMPLIANCE) locks cannot be shortened by anyone; V(GOVERNANCE) locks can by a user with
        C(s3:BypassGovernanceRetention).
    type: str
    choices: [GOVERNANCE, COMPLIANCE]
    default: COMPLIANCE
    version_added: 0.1.0
  cycle:
    description:
      - How rotation chooses what to keep. V(simple) keeps the newest O(fulls) chains.
      - V(hanoi) is the original s3napback's Tower of Hanoi schedule over chains. Each chain (cycle
        of O(diffs)+1 periods) gets a disc, 0 every other cycle, 1 every fourth, 2 every eighth and
        so on, and rotation keeps the newest chain of each of O(discs) discs. O(discs) chains then
        reach back about 2^(O(discs)-1) cycles, with fewer chains the older they get.
      - With O(keep_daily), O(keep_weekly) or O(keep_monthly) set, those rules decide instead.
    type: str
    choices: [simple, hanoi]
    default: simple
    version_added: 0.1.0
  discs:
    description: The number of Tower of Hanoi discs of O(cycle=hanoi), 1 to 32.
    type: int
    version_added: 0.1.0
  keep_daily:
    description:
      - Grandfather-father-son retention. Keep the newest backup of each of the last this many
        days (UTC) that have a backup. With any C(keep_) rule set, O(fulls) is not used.
      - A kept diff keeps its full and the diffs between them, which it needs to restore; the
        newest backup is always kept. Check mode returns in RV(rotated) what would be deleted.
    type: int
    version_added: 0.1.0
  keep_weekly:
    description: Keep the newest backup of each of the last this many ISO weeks that have one (see O(keep_daily)).
    type: int
    version_added: 0.1.0
  keep_monthly:
    description: Keep the newest backup of each of the last this many months that have one (see O(keep_daily)).
    type: int
    version_added: 0.1.0
  bandwidth_limit:
    description:
      - Upload at most this many bytes per second, on average over the backup. The whole pipe
        slows down with it; nothing is buffered on disk.
    type: int
    version_added: 0.1.0
requirements:
  - python-gnupg >= 0.4.9
  - GNU tar, gpg (GnuPG 2), and zstd or gzip on the managed host
  - Subversion (svnadmin, svnlook) for O(svn_repository) and O(svn_parent)
  - the MySQL/MariaDB client (mysqldump) or the PostgreSQL client (pg_dump) for databases
notes:
  - Restore a set by hand with standard tools, see the collection's README. Take the newest C(full)
    at or before the wanted time and every later C(diff) of its chain in key order, and pipe each
    one through C(gpg --decrypt | zstd -d | tar --extract --listed-incremental=/dev/null).
seealso:
  - name: s3napback README
    description: Quick start, every option, and the manual restore procedure.
    link: https://github.com/s3napback/s3napback/blob/main/README.md
"""

EXAMPLES = r"""
- name: Back up /etc every night (run this task daily, e.g. from cron or AWX)
  s3napback.s3napback.s3napback:
    directory: /etc
    bucket: backups
    gpg_recipient: backup@example.com
    gpg_public_key: "{{ lookup('file', 'backup-public.asc') }}"

- name: Back up /srv/www to an S3-compatible store, weekly fulls, two months of chains
  s3napback.s3napback.s3napback:
    directory: /srv/www
    exclude: ["*.tmp", "cache"]
    bucket: backups
    endpoint_url: https://s3.example.net
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"
    gpg_recipient: 0123456789ABCDEF0123456789ABCDEF01234567
    diffs: 6
    fulls: 8

- name: Back up every MariaDB/MySQL database, one set per database (a daily full by default)
  s3napback.s3napback.s3napback:
    mysql_database: all
    login_unix_socket: /run/mysqld/mysqld.sock
    login_user: backup
    login_password: "{{ vault_mysql_backup_password }}"
    bucket: backups
    gpg_recipient: backup@example.com

- name: Back up two PostgreSQL databases over TCP
  s3napback.s3napback.s3napback:
    postgresql_database: [shop, wiki]
    login_host: 127.0.0.1
    login_user: backup
    login_password: "{{ vault_pg_backup_password }}"
    bucket: backups
    gpg_recipient: backup@example.com

- name: Back up one Subversion repository, incremental by revision
  s3napback.s3napback.s3napback:
    svn_repository: /srv/svn/main
    bucket: backups
    gpg_recipient: backup@example.com

- name: Back up every repository under /srv/svn, each its own set
  s3napback.s3napback.s3napback:
    svn_parent: /srv/svn
    bucket: backups
    gpg_recipient: backup@example.com

- name: See what tonight's run would do, changing nothing
  s3napback.s3napback.s3napback:
    directory: /etc
    bucket: backups
    gpg_recipient: backup@example.com
  check_mode: true
  register: plan

- name: Start a new chain now
  s3napback.s3napback.s3napback:
    directory: /etc
    bucket: backups
    gpg_recipient: backup@example.com
    force: true
    force_full: true
"""

RETURN = r"""
results:
  description:
    - When the task names several sets (O(svn_parent), several databases or V(all)), one entry per
      set, each with the keys below for its own set, plus C(failed), C(msg) and C(stage) for one
      that failed.
  returned: when the task names several sets
  type: list
  elements: dict
notes:
  description: With O(svn_parent), the directories skipped because they are not repositories.
  returned: when the task names several sets
  type: list
  elements: str
  sample: ["/srv/svn/lost+found is not a Subversion repository: skipped"]
reason:
  description: Why this run did what it did, for example why it is a full, or why there was nothing to do.
  returned: for one set
  type: str
  sample: >-
    this period (from 2026-11-26) already has backup
    web1.example.com/dir-etc/20261126T031500Z-full.tar.zst.gpg
backup_set:
  description: The backup set this task worked on.
  returned: for one set
  type: dict
  contains:
    bucket:
      description: The bucket.
      type: str
      returned: always
      sample: backups
    prefix:
      description: The host's key prefix.
      type: str
      returned: always
      sample: web1.example.com
    name:
      description: The set's name.
      type: str
      returned: always
      sample: dir-etc
backup:
  description:
    - The backup made, or in check mode the one that would be made (then only RV(backup.key),
      RV(backup.kind) and RV(backup.parent)).
    - V(null) when there was nothing to do.
  returned: for one set
  type: dict
  contains:
    key:
      description: The backup's key, that of its data's first volume.
      type: str
      returned: success
      sample: web1.example.com/dir-etc/20261126T031500Z-diff.tar.zst.gpg
    manifest_key:
      description: The key of its JSON manifest.
      type: str
      returned: success
      sample: web1.example.com/dir-etc/20261126T031500Z-diff.tar.zst.gpg.json
    kind:
      description: V(full) or V(diff).
      type: str
      returned: success
      sample: diff
    parent:
      description: The key of the backup this diff depends on; V(null) for a full.
      type: str
      returned: success
      sample: web1.example.com/dir-etc/20261125T031500Z-full.tar.zst.gpg
    bytes_in:
      description: The size of the uncompressed archive stream.
      type: int
      returned: success
      sample: 73400320
    bytes_out:
      description: The size of the stored object.
      type: int
      returned: success
      sample: 9437184
    sha256:
      description: The SHA-256 of the stored object, also in its manifest.
      type: str
      returned: success
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    duration_s:
      description: Seconds from the start of the stream to the completed upload.
      type: float
      returned: success
      sample: 4.2
    tar_warnings:
      description: What tar warned about without failing, such as files that changed while read.
      type: list
      elements: str
      returned: success
      sample: ["tar: ./var/log/syslog: file changed as we read it"]
    timings:
      description:
        - Where the backup's time went, to tell a slow source from a slow compressor or a slow store.
      type: dict
      returned: success
      version_added: 0.1.0
      contains:
        stages:
          description:
            - One entry per pipeline process in pipe order (C(tar), C(mysqldump), C(pg_dump) or
              C(svnadmin), then the compressor, then C(gpg)), each with C(stage), C(wall_s) (seconds from
              its start until it exited) and C(cpu_s) (its user plus system CPU seconds).
          type: list
          elements: dict
          returned: success
          sample: [{"stage": "tar", "wall_s": 3.9, "cpu_s": 0.4}, {"stage": "zstd", "wall_s": 3.9, "cpu_s": 2.1}]
        upload:
          description:
            - C(seconds) from the start of the stream to the completed upload; of those, C(pipe_wait_s)
              waiting for the pipe's output and C(upload_wait_s) the rest (hashing, and waiting for a part
              buffer while S3 still took the earlier parts).
          type: dict
          returned: success
          sample: {"seconds": 4.0, "pipe_wait_s": 3.5, "upload_wait_s": 0.5}
rotated:
  description: The keys deleted (or, in check mode, that would be deleted) by rotation, manifests included.
  returned: for one set
  type: list
  elements: str
  sample:
    - web1.example.com/dir-etc/20261001T031500Z-full.tar.zst.gpg.json
    - web1.example.com/dir-etc/20261001T031500Z-full.tar.zst.gpg
aborted_uploads:
  description:
    - Keys of unfinished multipart uploads (of a file index) left by an earlier, killed run of this
      set, now aborted (in check mode, those that would be).
    - Every run clears what killed runs left before anything else, whether or not a backup is due.
  returned: for one set
  type: list
  elements: str
  sample: []
removed_strays:
  description:
    - Keys removed (in check mode, that would be) because a killed run left them, in the order
      removed. A stray is data without its manifest (a run killed before its manifest was
      written), all its volumes with its file index; a lonely file index, or a volume without
      the first one, goes too.
    - Only those newer than the set's newest backup, which no finished run can have written. An
      older stray is left to rotation; M(s3napback.s3napback.s3napback_info) reports it.
  returned: for one set
  type: list
  elements: str
  version_added: 0.1.0
  sample:
    - web1.example.com/dir-etc/20261126T031500Z-full.tar.zst.gpg.index
    - web1.example.com/dir-etc/20261126T031500Z-full.tar.zst.gpg
locked_strays:
  description:
    - Leftovers of killed runs that an object lock still holds (see O(object_lock_days)), each with
      the date it holds them until. The set's state remembers them, and later runs remove them
      once they can.
  returned: for one set
  type: list
  elements: dict
  version_added: 0.1.0
  sample: [{"key": "web1/etc/20261126T031500Z-full.tar.zst.gpg", "locked_until": "2026-12-26T03:15:00Z"}]
kept_locked:
  description: Expired backups that rotation kept because an object lock still holds them (see O(object_lock_days)).
  returned: for one set
  type: list
  elements: dict
  sample: [{"key": "web1/etc/20261001T031500Z-diff.tar.zst.gpg", "locked_until": "2026-12-01T03:15:00Z"}]
stage:
  description: On failure, the stage that failed, such as V(tar), V(gpg), V(s3), V(config).
  returned: failure
  type: str
  sample: gpg
"""

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_job
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module
from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BACKUP, SOURCES

OPTIONS = BACKUP
LIBRARIES = ("boto3", "python-gnupg")


def main() -> None:
    run_module(
        OPTIONS,
        lambda module: run_job(module.params, check_mode=module.check_mode),
        libraries=LIBRARIES,
        mutually_exclusive=[SOURCES],
        required_one_of=[SOURCES],
    )


if __name__ == "__main__":
    main()
