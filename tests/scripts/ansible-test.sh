#!/usr/bin/env bash
# Run ansible-test (sanity, units, ...) on a copy of this collection's tracked files, placed where
# ansible-test insists on finding it: a real path ending in ansible_collections/s3napback/s3napback.
# Usage: tests/scripts/ansible-test.sh sanity [ansible-test options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$(cd "$root" && realpath -m "${VENV:-.venv}")
work=$(mktemp -d "${TMPDIR:-/tmp}/s3napback-ansible-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/ansible_collections/s3napback/s3napback
mkdir -p "$tree"
# Tracked files plus new ones not yet committed (but never ignored ones), as they are on disk.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$tree")
# ansible-test asks git which files belong to the collection.
(cd "$tree" && git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm copy)
# ansible-test bootstraps pip in its virtualenvs with a script from its own server, which only the
# package index stands in for here: write that script first (see the file for how).
"$venv/bin/python" "$root/tests/scripts/ansible_test_pip_bootstrap.py" >/dev/null
cd "$tree"
PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" "$@"
