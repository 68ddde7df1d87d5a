#!/usr/bin/python
# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: s3napback_report
short_description: Write a fleet report of s3napback backups as one HTML page
version_added: 0.1.0
description:
  - Reads the backup sets under a bucket and prefix, as M(s3napback.s3napback.s3napback_info)
    does, and writes them as one HTML page for people, on the host the module runs on (usually the
    controller, with C(delegate_to)).
  - The page holds a table per host (each set's newest backup, its kind, age, size, chains and
    problems), a chart of the bytes each host backed up per day and one of each host's stalest
    backup's age; sets older than 26 hours are marked.
  - The page needs no network and runs no script; every name from the bucket is escaped.
  - The page is replaced atomically, and only when its content changed. It says the minute it was
    made, so a run in a later minute changes it.
  - Never changes the bucket.
author:
  - s3napback developers (@s3napback)
extends_documentation_fragment:
  - s3napback.s3napback.bucket_listing
  - s3napback.s3napback.s3_connection
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
  - action_common_attributes.files
attributes:
  check_mode:
    support: full
    details: In check mode the bucket is read and the page is compared, but not written.
  diff_mode:
    support: none
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
options:
  path:
    description: Where to write the page.
    type: path
    required: true
    version_added: 0.1.0
  mode:
    description:
      - The page's permissions, as for M(ansible.builtin.file).
      - Without it, the page is written V(0600), as it maps the fleet and what each host keeps, and an
        existing page keeps its mode.
    version_added: 0.1.0
seealso:
  - module: s3napback.s3napback.s3napback_info
  - module: s3napback.s3napback.s3napback_probe
"""

EXAMPLES = r"""
- name: A fleet report for people, beside the playbook
  s3napback.s3napback.s3napback_report:
    bucket: backups
    path: "{{ playbook_dir }}/backups.html"
  delegate_to: localhost
  run_once: true

- name: One host's page, readable by the web server's group
  s3napback.s3napback.s3napback_report:
    bucket: backups
    prefix: web1.example.com
    path: /srv/www/reports/web1.html
    group: www-data
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The page's path.
  returned: success
  type: str
  sample: /srv/ansible/backups.html
"""

import datetime
import os
import tempfile

from ansible_collections.s3napback.s3napback.plugins.module_utils.bucket_summary import summarize
from ansible_collections.s3napback.s3napback.plugins.module_utils.fleet_report import render
from ansible_collections.s3napback.s3napback.plugins.module_utils.module_support import run_module
from ansible_collections.s3napback.s3napback.plugins.module_utils.options import BUCKET_LISTING, Option, bucket_request

OPTIONS = {**BUCKET_LISTING, "path": Option("path", required=True)}
LIBRARIES = ("boto3",)  # it never decrypts


def _unchanged(path: str, page: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() == page
    except FileNotFoundError:
        return False


def _replace(module, path: str, page: bytes) -> None:
    """Write ``page`` beside ``path`` (mode 0600, from the module's umask), then move it over ``path``."""
    fd, temporary = tempfile.mkstemp(prefix=".s3napback-report.", dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "wb") as handle:
        handle.write(page)
    module.atomic_move(temporary, path)


def report(module) -> dict:
    params = module.params
    request = bucket_request(params)
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    page = render(summarize(request, now=now), request.bucket, now).encode("utf-8")
    path = params["path"]
    changed = not _unchanged(path, page)
    if changed and not module.check_mode:
        _replace(module, path, page)
    file_args = module.load_file_common_arguments(params)
    changed = module.set_fs_attributes_if_different(file_args, changed)
    return {"changed": changed, "path": path}


def main() -> None:
    run_module(OPTIONS, report, libraries=LIBRARIES, add_file_common_args=True)


if __name__ == "__main__":
    main()
