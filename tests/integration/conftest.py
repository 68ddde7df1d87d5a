import os
import subprocess
import sys

import pytest
from support import fixtures
from support.ansible_runner import BIN, ROOT

moto, s3, bucket, keys = fixtures.moto, fixtures.s3, fixtures.bucket, fixtures.keys  # shared fixtures
mariadb, postgresql = fixtures.mariadb, fixtures.postgresql
tls_files, moto_tls, s3rver_tls, tls_store = (
    fixtures.tls_files,
    fixtures.moto_tls,
    fixtures.s3rver_tls,
    fixtures.tls_store,
)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """The collection as users get it: installed by ansible-galaxy from this tree into an empty path.
    --force: ansible-galaxy skips a collection that `make demo` installed where ansible.cfg points."""
    path = tmp_path_factory.mktemp("collections")
    subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", ROOT, "-p", str(path)],
        check=True,
        capture_output=True,
    )
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
