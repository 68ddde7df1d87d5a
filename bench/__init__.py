"""The benchmark (issue 7): ``make bench``. Run its modules with ``python -m bench.<module>`` from
the checkout; they reuse the tests' helpers, so tests/ goes on the import path here."""

import importlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
importlib.import_module("conftest")  # tests/conftest.py makes the collection's symlink farm as it loads
