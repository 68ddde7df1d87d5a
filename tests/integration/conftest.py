import os
import subprocess
import sys

import pytest
from support.fixtures import bucket, keys, moto, s3  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """The collection as users get it: installed by ansible-galaxy from this tree into an empty path."""
    path = tmp_path_factory.mktemp("collections")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", ROOT, "-p", str(path)],
                   check=True, capture_output=True)
    assert (path / "ansible_collections" / "s3napback" / "s3napback" / "plugins" / "modules" / "s3napback.py").exists()
    return str(path)


@pytest.fixture
def ansible_env(collections_path, tmp_path):
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
    }


def ansible(tool: str, *args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([os.path.join(BIN, tool), *args], env=env, capture_output=True, text=True, check=False)
    if check and run.returncode != 0:
        raise AssertionError(f"{tool} exited {run.returncode}\n{run.stdout}\n{run.stderr}")
    return run
