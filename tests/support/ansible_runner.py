"""Running ansible's own commands from this virtualenv, the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def ansible(tool: str, *args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([os.path.join(BIN, tool), *args], env=env, capture_output=True, text=True, check=False)
    if check and run.returncode != 0:
        raise AssertionError(f"{tool} exited {run.returncode}\n{run.stdout}\n{run.stderr}")
    return run
