"""Each module loads only the engine files it uses and requires only the libraries those need: a
module that lists the bucket does not load the backup's sources, and runs without python-gnupg."""

from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys

import pytest
import yaml
from support.collection import MODULES

COLLECTION = "ansible_collections.s3napback.s3napback.plugins."
ENGINE = COLLECTION + "module_utils."
# What only making or restoring backups needs: the sources, the host's state, rotation, gpg.
BACKUP_SIDE = {"svn", "databases", "sources", "rotation", "state", "gpg", "pipeline", "request", "backup", "restore"}


def _python(code: str, stdin: str = "") -> str:
    """What ``code`` prints, run by a fresh interpreter that finds the collection as this one does."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


@functools.cache
def engine_files_of(module: str) -> set[str]:
    """The engine files importing ``module`` loads."""
    printed = _python(
        f"import sys, {COLLECTION}modules.{module}\n"
        f"print(' '.join(m[{len(ENGINE)}:] for m in sys.modules if m.startswith('{ENGINE}')))"
    )
    return set(printed.split())


def test_the_info_module_loads_none_of_the_backup_side():
    assert engine_files_of("s3napback_info") & BACKUP_SIDE == set()
    assert len(engine_files_of("s3napback_info")) <= 18, sorted(engine_files_of("s3napback_info"))


def test_the_file_info_module_loads_neither_sources_nor_rotation():
    assert (
        engine_files_of("s3napback_file_info") & {"svn", "databases", "sources", "rotation", "state", "request"}
        == set()
    )


@pytest.mark.parametrize("name", MODULES)
def test_a_module_requires_python_gnupg_exactly_when_it_loads_gpg(name):
    module = importlib.import_module(f"{COLLECTION}modules.{name}")
    assert "boto3" in module.LIBRARIES
    assert ("python-gnupg" in module.LIBRARIES) == ("gpg" in engine_files_of(name))
    documentation = yaml.safe_load(module.DOCUMENTATION)
    requirements = " ".join(documentation.get("requirements", []))
    assert ("python-gnupg" in requirements) == ("python-gnupg" in module.LIBRARIES)


RUN_WITHOUT_GNUPG = """
import os, sys
sys.modules["gnupg"] = None  # python-gnupg is not installed
from ansible_collections.s3napback.s3napback.plugins.modules import {module}
{module}.main()
"""


def _run_without_gnupg(module: str, arguments: dict) -> dict:
    # boto3 is checked first; ansible-test units' own virtualenv has none, the project's has it
    pytest.importorskip("botocore", reason="the modules check boto3 before python-gnupg")
    printed = _python(RUN_WITHOUT_GNUPG.format(module=module), json.dumps({"ANSIBLE_MODULE_ARGS": arguments}))
    return json.loads(printed)


def test_the_info_module_runs_without_python_gnupg(tmp_path):
    missing = str(tmp_path / "no-such-ca.pem")
    result = _run_without_gnupg("s3napback_info", {"bucket": "backups", "aws_ca_bundle": missing})
    assert result["msg"] == f"config: aws_ca_bundle {missing}: no such file"  # past the library check, at the engine's


def test_the_restore_module_says_python_gnupg_is_missing():
    result = _run_without_gnupg("s3napback_restore", {"bucket": "backups", "name": "dir-etc", "verify": True})
    assert "Failed to import the required Python library (python-gnupg)" in result["msg"]
