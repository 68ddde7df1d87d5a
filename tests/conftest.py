"""Make the working tree importable as ansible_collections.s3napback.s3napback for plain pytest.

ansible-test already runs from such a tree; plain pytest from a checkout gets a symlink farm under
tests/output (git-ignored) instead.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ensure_collection_importable() -> None:
    try:
        import ansible_collections.s3napback.s3napback.plugins.module_utils.errors  # noqa: F401

        return
    except ImportError:
        pass
    farm = os.path.join(_ROOT, "tests", "output", "collections")
    link = os.path.join(farm, "ansible_collections", "s3napback", "s3napback")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.islink(link):
        os.symlink(_ROOT, link)
    sys.path.insert(0, farm)
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[name]


_ensure_collection_importable()
sys.path.insert(0, os.path.join(_ROOT, "tests"))  # the tests' own helpers: import support.*

# make pytest runs each file whole on one worker (--dist loadfile) and hands the files out in the
# order collected: the longest start first, so that none is left running alone at the end.
# Measured one after the other on 2 cores: the fleet 3.5 min, test_kills 2 min, the rest under 1.
LONGEST_FIRST = (
    "tests/integration/test_role_fleet.py",
    "tests/functional/test_kills.py",
    "tests/functional/test_memory.py",
    "tests/functional/test_parallel_jobs.py",
    "tests/functional/test_restore_memory.py",
    "tests/functional/test_host_command.py",
)


def pytest_collection_modifyitems(items):
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: files keep their order
