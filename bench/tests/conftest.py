"""The benchmark's own tests: the repository's root importable, for ``bench``, and the collection
importable as tests/conftest.py makes it for plain pytest."""

import os
import runpy
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, _ROOT)
runpy.run_path(os.path.join(_ROOT, "tests", "conftest.py"))
