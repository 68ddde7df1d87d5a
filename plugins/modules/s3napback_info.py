#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

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
    without its manifest, and an unfinished multipart upload.
  - Never changes the bucket. The output is shaped for M(ansible.builtin.assert) in monitoring
    playbooks.
  - With O(html_report), it also writes the listing as one self-contained HTML page for people.
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.s3_connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: This module only reads the bucket; in check mode the O(html_report) is not written.
  diff_mode:
    support: N/A
    details: This module only reads.
  platform:
    platforms: posix
options:
  bucket:
    description: The bucket to look in.
    type: str
    required: true
    version_added: 0.1.0
  prefix:
    description:
      - A host's key prefix, such as C(web1.example.com). Without it, every set in the bucket is
        listed.
    type: str
    version_added: 0.1.0
  html_report:
    description:
      - Also write the listing as one HTML page to this path on the host the module runs on (usually
        the controller, with C(delegate_to)). It holds a table per host (each set's newest backup,
        its kind, age, size, chains and problems), a chart of the bytes each host backed up per
        day and one of each host's stalest backup's age; sets older than 26 hours are marked.
      - The page needs no network and runs no script; every name from the bucket is escaped.
        It is written mode 0600, as it maps the fleet and what each host keeps.
    type: path
    version_added: 0.1.0
  probe:
    description:
      - Also test the store with a round trip under O(prefix) (the bucket's root without it). A
        small PutObject and a two-part multipart upload are written as backups are, checked with
        HEAD, read back and compared, then deleted. RV(probe.ok) says whether the store keeps what
        s3napback sends. Run it once before a new store's first backup.
      - Over HTTPS it also reports whether the store decodes the aws-chunked uploads that botocore
        1.36+ and aws-cli 2.23+ send by default. s3napback does not send them; other tools that
        upload into the same store do.
      - It writes about 5.4 MB and needs C(s3:PutObject), C(s3:GetObject) and C(s3:DeleteObject)
        under the prefix. The probe objects are deleted, so the bucket is left as it was. In check
        mode no probe runs.
    type: bool
    default: false
    version_added: 0.1.0
seealso:
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

- name: A fleet report for people, beside the playbook
  s3napback.s3napback.s3napback_info:
    bucket: backups
    html_report: "{{ playbook_dir }}/backups.html"
  delegate_to: localhost
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
probe:
  description: What the probe found, when O(probe=true) and not in check mode.
  returned: when O(probe=true)
  type: dict
  version_added: 0.1.0
  contains:
    ok:
      description: Whether the store kept and returned exactly what s3napback sent, with its checksums.
      type: bool
      returned: always
    checks:
      description:
        - Each step (V(put), V(multipart), and over HTTPS V(aws_chunked)) with V(ok) and a V(detail) sentence.
        - V(aws_chunked) failing does not fail the probe; it concerns other tools' uploads.
      type: list
      elements: dict
      returned: always
      sample:
        - {name: put, ok: true, detail: 65536 bytes stored and read back with their CRC32}
        - {name: multipart, ok: true, detail: "two parts, 5308416 bytes, stored and read back"}
html_report:
  description: The path of the HTML report, written unless in check mode.
  returned: when O(html_report) is set
  type: str
  version_added: 0.1.0
  sample: /srv/ansible/backups.html
"""

import datetime

from ansible_collections.s3napback.s3napback.plugins.module_utils.files import write_private
from ansible_collections.s3napback.s3napback.plugins.module_utils.fleet_report import render
from ansible_collections.s3napback.s3napback.plugins.module_utils.inventory import describe_bucket
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module
from ansible_collections.s3napback.s3napback.plugins.module_utils.options import CONNECTION, Option, connection_from
from ansible_collections.s3napback.s3napback.plugins.module_utils.probe import run_probe
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Bucket

OPTIONS = {
    "bucket": Option("str", required=True),
    "prefix": Option("str"),
    "html_report": Option("path"),
    "probe": Option("bool", False),
    **CONNECTION,
}
LIBRARIES = ("boto3",)  # it never decrypts


def describe(module) -> dict:
    connection = connection_from(module.params)
    bucket = Bucket(connection, module.params["bucket"])
    bucket.check()
    now = datetime.datetime.now(datetime.timezone.utc)
    described = describe_bucket(bucket, module.params["prefix"] or "", now=now)
    if module.params["probe"] and not module.check_mode:
        described["probe"] = run_probe(connection, bucket.bucket, module.params["prefix"] or "")
    path = module.params["html_report"]
    if not path:
        return {"changed": False, **described}
    if not module.check_mode:
        write_private(path, render(described, bucket.bucket, now).encode("utf-8"), "report")
    return {"changed": True, "html_report": path, **described}


def main() -> None:
    run_module(OPTIONS, describe, libraries=LIBRARIES)


if __name__ == "__main__":
    main()
