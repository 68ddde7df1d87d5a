#!/usr/bin/env bash
# The engine's unit and functional tests under CPython 3.9, the oldest Python the README claims for
# managed hosts, in a virtualenv of their own (tests/output/py39-venv, pinned by
# tests/constraints-py39.txt). The S3 server is the one the main run uses, moto of the main
# virtualenv ($VENV, .venv): it is not under test. Left out: what is not the engine (the
# benchmark's tests, the ansible-test bootstrap's, the role's filter), what imports ansible-core
# (test_options.py checks the module's spec; ansible-core 2.19 needs 3.11), the fuzz tests
# (hypothesis needs 3.10) and the `alone` ones (make pytest runs them).
# No registry this project reaches ships CPython 3.9 (Debian 12 has 3.11 only; uv downloads its
# Pythons from GitHub), so this takes the machine's: python3.9 on PATH, pyenv's, or $PYTHON39. It
# fails when there is none: CI runs it, and the README's claim stands on it.
# Usage: tests/scripts/oldest-python.sh [pytest options...]
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON39:-}
candidates=("$python" "$(command -v python3.9 || true)")
if command -v pyenv >/dev/null; then
  candidates+=("$(pyenv root)"/versions/3.9*/bin/python3.9)
fi
python=""
for candidate in "${candidates[@]}"; do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 9))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[ -n "$python" ] || { echo "oldest Python: no CPython 3.9 here (python3.9 on PATH, pyenv, or PYTHON39=...)" >&2; exit 1; }
venv=tests/output/py39-venv
if [ ! -e "$venv/.installed" ] || [ tests/constraints-py39.txt -nt "$venv/.installed" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # setuptools (61 or newer, as pyproject.toml says) and wheel: a test builds the host command's wheel
  # with --no-build-isolation
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c tests/constraints-py39.txt \
    pytest pytest-xdist boto3 python-gnupg PyYAML cryptography 'setuptools>=61' wheel
  touch "$venv/.installed"
fi
"$venv/bin/python" --version
server_python=$(realpath -m "${VENV:-.venv}")/bin/python
"$server_python" -c 'import moto.server' || { echo "oldest Python: $server_python has no moto: make demo first" >&2; exit 1; }
export S3NAPBACK_TEST_SERVER_PYTHON=$server_python
# boto3 warns on 3.9 that it drops 3.9 after 1.42: known, and said in tests/constraints-py39.txt
exec "$venv/bin/python" -m pytest -p no:cacheprovider -W "ignore::boto3.exceptions.PythonDeprecationWarning" \
  --numprocesses "${PYTEST_WORKERS:-4}" --dist loadfile -m "not alone" \
  tests/unit/plugins/module_utils tests/functional \
  --ignore tests/functional/test_ansible_test_pip_bootstrap.py \
  --ignore tests/unit/plugins/module_utils/test_fuzz.py \
  --ignore tests/unit/plugins/module_utils/test_options.py "$@"
