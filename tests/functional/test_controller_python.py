"""The controller's Python (README, Requirements): ansible-core 2.19 needs 3.11 or newer, so the
Makefile refuses an older one in one line before pip would stop at "No matching distribution found
for ansible-core==2.19.14", and makes no virtualenv."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def python_3_10() -> str | None:
    """A CPython 3.10 of the machine's, if it has one (no registry here ships one)."""
    candidates = [shutil.which("python3.10")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        pyenv_root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.10*", "bin", "python3.10")))
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 10))"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def test_make_refuses_a_controller_python_older_than_3_11_in_one_line(tmp_path):
    python = python_3_10()
    if python is None:
        pytest.skip("no CPython 3.10 on this machine")
    venv = tmp_path / "venv"
    run = subprocess.run(
        ["make", "-C", ROOT, f"PYTHON={python}", f"VENV={venv}", f"{venv}/.runtime"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    first = run.stderr.splitlines()[0]
    assert first == (
        f"make: the controller needs Python 3.11 or newer (ansible-core 2.19); {python} is 3.10:"
        " make PYTHON=python3.11 ..."
    ), run.stderr
    assert not venv.exists()
