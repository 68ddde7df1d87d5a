# Copyright: s3napback contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine as one file for the role to install: a zip of this collection's plugins/module_utils,
built on the controller when the role runs, so that a host gets the very code the modules run and
never a copy kept elsewhere."""

from __future__ import annotations

DOCUMENTATION = r"""
name: s3napback_engine
short_description: Build the s3napback engine as one zipapp on the controller and return its path
version_added: 0.1.0
description:
  - Used by the C(s3napback.s3napback.s3napback) role, which copies the file to each host in one task, so
    that the engine is replaced whole (the copy renames it into place) and a run killed half way leaves the
    previous engine in place, never half of each.
  - The zip holds this collection's C(plugins/module_utils) files (all but the Ansible-only
    C(module_support.py)) as the package C(s3napback), and a C(__main__.py) that runs the host command.
  - The same sources make the same bytes (fixed timestamps and order, stored uncompressed), so a run that
    changes no source changes no host. Built once per source content in Ansible's local temporary directory.
options: {}
"""

EXAMPLES = r"""
- name: Install the engine
  ansible.builtin.copy:
    src: "{{ lookup('s3napback.s3napback.s3napback_engine') }}"
    dest: /usr/local/lib/s3napback/engine.pyz
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: The path of the zipapp on the controller, named by the SHA-256 of its sources.
  type: list
  elements: path
"""

import hashlib
import os
import tempfile
import zipfile

from ansible import constants as C
from ansible.plugins.lookup import LookupBase

SOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
ANSIBLE_ONLY = ("module_support.py",)  # the modules' side: imports Ansible, which hosts need not have
PACKAGE = "s3napback"
MAIN = (
    "# Runs the s3napback host command from this zip: python3 engine.pyz --config FILE run JOB\n"
    "import sys\n\n"
    f"from {PACKAGE}.host_command import main\n\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the bytes depend on the sources alone


def engine_files() -> list[tuple[str, bytes]]:
    """(name in the zip, content) of every file of the engine, in a fixed order."""
    names = sorted(n for n in os.listdir(SOURCES) if n.endswith(".py") and n not in ANSIBLE_ONLY)
    files = []
    for name in names:
        with open(os.path.join(SOURCES, name), "rb") as handle:
            files.append((f"{PACKAGE}/{name}", handle.read()))
    return [*files, ("__main__.py", MAIN.encode())]


def build(directory: str) -> str:
    """The zipapp's path in ``directory``, written there first if no run has yet."""
    files = engine_files()
    digest = hashlib.sha256()
    for name, content in files:
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    path = os.path.join(directory, f"s3napback-engine-{digest.hexdigest()[:16]}.pyz")
    if os.path.exists(path):
        return path
    # Workers of one run may build at once: each writes its own file and renames it into place.
    handle, partial = tempfile.mkstemp(dir=directory, prefix=".s3napback-engine-")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
            for name, content in files:
                entry = zipfile.ZipInfo(name, date_time=EPOCH)
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, content)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise
    return path


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [build(C.DEFAULT_LOCAL_TMP)]
