#!/usr/bin/env bash
# ansible-lint's production profile on the role and the example playbook (the README's), with
# this tree as the installed collection and no network.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$(realpath -m "${VENV:-.venv}")
PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$(tests/scripts/collection-tree.sh)" \
  "$venv/bin/ansible-lint" --offline --profile production roles/s3napback examples/fleet/site.yml
