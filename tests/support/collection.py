"""What the collection holds, read from its tree so that a new module is tested without a list to update."""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = tuple(
    sorted(name[: -len(".py")] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))
)
