#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: s3napback_info
short_description: List s3napback backup sets, their chains, ages and problems
version_added: 0.1.0
description:
  - Lists the backup sets under a bucket and prefix, one host's or, without O(prefix), every
    host's. For each set it gives the source, the chains (a full and its diffs), the newest backup
    with its age, the stored bytes, and any problem found.
  - The problems it reports are a diff without its full, a manifest without its object, an object
    without its manifest, a volume without the first of its object, and an unfinished multipart
    upload.
  - Only reads; it changes neither the bucket nor any file. The output is shaped for
    M(ansible.builtin.assert) in monitoring playbooks.
  - M(s3napback.s3napback.s3napback_report) writes the same listing as an HTML page for people, and
    M(s3napback.s3napback.s3napback_probe) tests a store with a round trip; they replace this
    module's former options C(html_report) and C(probe).
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.bucket_listing
  - s3napback.s3napback.s3_connection
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
seealso:
  - module: s3napback.s3napback.s3napback_report
  - module: s3napback.s3napback.s3napback_probe
  - module: s3napback.s3napback.s3napback
  - module: s3napback.s3napback.s3napback_restore
"""

EXAMPLES = r"""
- name: Look at every host's backups
  s3napback.s3napback.s3napback_info:
    bucket: backups
  register: backups
  delegate_to: localhost
  run_once: true

- name: Every set has a backup younger than 26 hours, and no problem
  ansible.builtin.assert:
    that:
      - backups.stalest_age_s < 26 * 3600
      - backups.problems | length == 0
    fail_msg: "{{ backups.problems }}"
  run_once: true

- name: This host's sets
  s3napback.s3napback.s3napback_info:
    bucket: backups
    prefix: "{{ ansible_facts['fqdn'] }}"
  register: mine
"""

RETURN = r"""
sets:
  description: One entry per backup set, sorted by key prefix.
  returned: success
  type: list
  elements: dict
  contains:
    bucket:
      description: The bucket.
      type: str
      returned: success
    prefix:
      description: The host's key prefix.
      type: str
      returned: success
      sample: web1.example.com
    name:
      description: The set's name.
      type: str
      returned: success
      sample: dir-etc
    source:
      description: The source as the newest manifest records it (type, path, exclude).
      type: dict
      returned: success
    backups:
      description: The number of complete backups.
      type: int
      returned: success
    bytes:
      description: The bytes stored for the set, manifests and debris included.
      type: int
      returned: success
    chains:
      description: The chains, oldest first, each with its full, its diffs, the full's time and the chain's bytes.
      type: list
      elements: dict
      returned: success
    newest:
      description: The newest backup (key, kind, time, age_s), or V(null) when the set has none.
      type: dict
      returned: success
    history:
      description:
        - Every complete backup, oldest first, with its time, kind, bytes and storage class.
        - An archived one (V(GLACIER), V(DEEP_ARCHIVE)) also has C(retrieval) with its C(state),
          V(archived) (no restored copy), V(in_progress) or V(ready), and when a ready copy C(expires).
      type: list
      elements: dict
      returned: success
      version_added: 0.1.0
      sample:
        - {time: "2026-11-26T03:15:00Z", kind: full, bytes: 52428800, storage_class: DEEP_ARCHIVE,
           retrieval: {state: ready, expires: "Thu, 03 Dec 2026 00:00:00 GMT"}}
        - {time: "2026-11-27T03:15:00Z", kind: diff, bytes: 524288, storage_class: STANDARD}
    bytes_by_storage_class:
      description: The set's bytes (manifests and indexes too) by the storage class S3 lists them in.
      type: dict
      returned: success
      version_added: 0.1.0
      sample: {DEEP_ARCHIVE: 52428800, STANDARD: 542000}
    problems:
      description: What is wrong with the set, one sentence each.
      type: list
      elements: str
      returned: success
bytes_by_storage_class:
  description: The bytes stored across the sets, by storage class.
  returned: success
  type: dict
  version_added: 0.1.0
problems:
  description: Every set's problems, each prefixed with the set's prefix and name.
  returned: success
  type: list
  elements: str
  sample:
    - >-
      web1.example.com/dir-etc: object without its manifest (a failed run?):
      web1.example.com/dir-etc/20261126T031500Z-diff.tar.zst.gpg
stalest_age_s:
  description: The age in seconds of the oldest "newest backup" across the sets; V(null) when there is no backup.
  returned: success
  type: int
  sample: 7260
bytes:
  description: The bytes stored across the sets.
  returned: success
  type: int
"""

from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import summarize
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module
from ansible_collections.s3napback.s3napback.plugins.module_utils.options import BUCKET_LISTING, bucket_request

OPTIONS = BUCKET_LISTING
LIBRARIES = ("boto3",)  # it never decrypts


def describe(module) -> dict:
    return {"changed": False, **summarize(bucket_request(module.params))}


def main() -> None:
    run_module(OPTIONS, describe, libraries=LIBRARIES)


if __name__ == "__main__":
    main()
