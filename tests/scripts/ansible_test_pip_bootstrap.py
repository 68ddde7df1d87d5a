"""Write the pip bootstrap script that ansible-test would download for its --venv virtualenvs.

ansible-test installs pip into each virtualenv it makes with a get-pip script that it downloads
once from its own file server into ~/.ansible/test/cache/get_pip_<version>.py. That server is not a
package registry, so a machine that reaches only the registries stops there ("Download failed",
then "does not have pip available"). The stand-in written here bootstraps pip from the Python's
own ensurepip, then installs the very pip version ansible-test asked for from the package index.

Run it with the Python that has ansible-core (tests/scripts/ansible-test.sh does, before each
ansible-test call): ``python tests/scripts/ansible_test_pip_bootstrap.py`` prints the path written.
"""

from __future__ import annotations

import os
import sys

# What ansible-test's quiet_pip.py runs in the new virtualenv, with argv = pip's options and the
# packages to install (pip==VERSION, --no-setuptools, --no-wheel). ensurepip sets PIP_CONFIG_FILE
# to /dev/null while it runs; dropping it lets the pip install below see the machine's pip config
# (an index mirror, a proxy) as ansible-test's other pip calls do. pip has no --no-setuptools or
# --no-wheel: those are get-pip's own, and ensurepip installs neither anyway.
STAND_IN = """\
# Written by s3napback's tests/scripts/ansible_test_pip_bootstrap.py in place of get-pip.py.
import ensurepip, os, runpy, sys

ensurepip.bootstrap(upgrade=True)
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def pip_version(python_version: str) -> str:
    """The pip version ansible-test installs into a virtualenv of ``python_version`` (X.Y)."""
    from ansible_test._internal.host_configs import NativePythonConfig
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(NativePythonConfig(version=python_version, path=sys.executable))["pip"]


def cache_path(version: str, home: str) -> str:
    """Where ansible-test looks for the bootstrap script of pip ``version`` (its requirements.py)."""
    return os.path.join(home, ".ansible", "test", "cache", f"get_pip_{version.replace('.', '_')}.py")


def write(python_version: str, home: str) -> str:
    path = cache_path(pip_version(python_version), home)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".new", "w", encoding="utf-8") as handle:
        handle.write(STAND_IN)
    os.replace(path + ".new", path)  # never a half-written script where ansible-test looks
    return path


def main() -> int:
    try:
        print(write(f"{sys.version_info[0]}.{sys.version_info[1]}", os.path.expanduser("~")))
    except ImportError as exc:
        sys.stderr.write(f"ansible-test pip bootstrap: {sys.executable} has no ansible-test: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
