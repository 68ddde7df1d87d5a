"""Calling the engine the way the tests do it most."""

from __future__ import annotations

import os

from ansible_collections.s3napback.s3napback.plugins.module_utils.request import RestoreRequest
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import run_restore


def restore_set(request, keys, check_mode: bool = False, **overrides):
    """Restore (or verify) the set ``request`` backs up, from prefix host1, with the test keys."""
    values = {
        "bucket": request.bucket,
        "name": request.set_name,
        "prefix": "host1",
        "connection": request.connection,
        "gpg_home": keys.secret_home,
    }
    return run_restore(RestoreRequest(**{**values, **overrides}), check_mode=check_mode)


def state_files(state_dir):
    """{name: bytes} of every file of the state directory except locks and the keyring."""
    found = {}
    for name in sorted(os.listdir(state_dir) if os.path.isdir(state_dir) else []):
        path = os.path.join(state_dir, name)
        if os.path.isfile(path) and not name.endswith(".lock"):
            with open(path, "rb") as handle:
                found[name] = handle.read()
    return found
