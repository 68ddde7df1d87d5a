#!/usr/bin/env bash
# ansible-lint's production profile on the role and the example playbooks (the README's), with
# this tree as the installed collection and no network.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$(realpath -m "${VENV:-.venv}")
# -q: violations are still printed, but not ansible-lint's "WARNING Directory expansion discovered
# 22 file(s)" about the role's directory, which is what we mean: a healthy run prints no warning.
PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$(tests/scripts/collection-tree.sh)" \
  "$venv/bin/ansible-lint" --offline --profile production -q roles/s3napback examples/fleet/site.yml \
  examples/demo-playbook.yml
echo "ansible-lint: the role and the example playbooks pass the production profile"
