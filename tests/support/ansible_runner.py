"""Running ansible's own commands from this virtualenv, the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys

from .fixtures import ACCESS_KEY, SECRET_KEY

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def ansible(tool: str, *args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run([os.path.join(BIN, tool), *args], env=env, capture_output=True, text=True, check=False)
    if check and run.returncode != 0:
        raise AssertionError(f"{tool} exited {run.returncode}\n{run.stdout}\n{run.stderr}")
    return run


def playbook_variables(tmp_path, moto, bucket: str, keys, source, **extra) -> dict:
    """The variables tests/integration/playbooks/ take: the S3 server, the bucket, the keys, the
    source directory and a state directory in ``tmp_path``."""
    return {
        "endpoint_url": moto.url,
        "bucket": bucket,
        "source": str(source),
        "state_dir": str(tmp_path / "state"),
        "public_key": keys.public_key,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        **extra,
    }
