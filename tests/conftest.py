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
