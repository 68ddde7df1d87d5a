#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: s3napback_probe
short_description: Test that an S3 store keeps what s3napback sends, before the first backup
version_added: 0.1.0
description:
  - Tests the store with a round trip under O(prefix) (the bucket's root without it). A small
    PutObject and a two-part multipart upload are written as backups are, checked with HEAD, read
    back and compared, then deleted. RV(ok) says whether the store keeps what s3napback sends. Run
    it once before a new store's first backup.
  - Over HTTPS it also reports whether the store decodes the aws-chunked uploads that botocore 1.36+
    and aws-cli 2.23+ send by default. s3napback does not send them; other tools that upload into
    the same store do.
  - It writes about 5.4 MB and needs C(s3:PutObject), C(s3:GetObject) and C(s3:DeleteObject) under
    the prefix. The probe objects are deleted, so the bucket is left as it was and the task is not
    changed.
  - A store that fails the probe does not fail the task; assert on RV(ok).
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.s3_connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written and no probe runs; RV(ok) and RV(checks) are not returned.
  diff_mode:
    support: N/A
    details: The probe leaves the bucket as it was.
  platform:
    platforms: posix
options:
  bucket:
    description: The bucket to test.
    type: str
    required: true
    version_added: 0.1.0
  prefix:
    description: The key prefix to write the probe objects under, such as C(web1.example.com).
    type: str
    version_added: 0.1.0
seealso:
  - module: s3napback.s3napback.s3napback_info
  - module: s3napback.s3napback.s3napback
"""

EXAMPLES = r"""
- name: Does the new store keep what s3napback sends?
  s3napback.s3napback.s3napback_probe:
    bucket: backups
    prefix: "{{ inventory_hostname }}"
    endpoint_url: https://s3.example.com
  register: probe
  check_mode: false

- name: It does
  ansible.builtin.assert:
    that: probe.ok
    fail_msg: "{{ probe.checks | rejectattr('ok') | map(attribute='detail') }}"
"""

RETURN = r"""
ok:
  description: Whether the store kept and returned exactly what s3napback sent, with its checksums.
  returned: success, not in check mode
  type: bool
checks:
  description:
    - Each step (V(put), V(multipart), and over HTTPS V(aws_chunked)) with V(ok) and a V(detail) sentence.
    - V(aws_chunked) failing does not make RV(ok) false; it concerns other tools' uploads.
  returned: success, not in check mode
  type: list
  elements: dict
  sample:
    - {name: put, ok: true, detail: 65536 bytes stored and read back with their CRC32}
    - {name: multipart, ok: true, detail: "two parts, 5308416 bytes, stored and read back"}
"""

from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module
from ansible_collections.s3napback.s3napback.plugins.module_utils.options import BUCKET_LISTING, bucket_request
from ansible_collections.s3napback.s3napback.plugins.module_utils.probe import run_probe

OPTIONS = BUCKET_LISTING
LIBRARIES = ("boto3",)  # it never decrypts


def probe(module) -> dict:
    if module.check_mode:
        return {"changed": False, "msg": "in check mode the store is not probed"}
    request = bucket_request(module.params)
    return {"changed": False, **run_probe(request.connection, request.bucket, request.prefix)}


def main() -> None:
    run_module(OPTIONS, probe, libraries=LIBRARIES)


if __name__ == "__main__":
    main()
