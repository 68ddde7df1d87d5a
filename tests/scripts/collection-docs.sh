#!/usr/bin/env bash
# The collection's docs with antsibull-docs. Without an argument: lint them (module, doc fragment,
# filter and role docs: markup, references, schema). With `html`: render the docs site into
# tests/output/docs/build/html. Both read plugins through ansible-doc, from an installed collection.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$(realpath -m "${VENV:-.venv}")
collections=$(tests/scripts/collection-tree.sh)
export PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$collections"
if [ "${1:-lint}" = lint ]; then
  exec antsibull-docs lint-collection-docs --plugin-docs "$collections/ansible_collections/s3napback/s3napback"
fi
site=tests/output/docs
rm -rf "$site"
mkdir -m 0755 "$site" # antsibull-docs refuses a directory others may write to
antsibull-docs sphinx-init --use-current --dest-dir "$site" s3napback.s3napback
# build.sh treats warnings as errors; offline, Sphinx cannot fetch docs.ansible.com's link
# inventory, so links into Ansible's own docs stay plain text and only that is warned about.
sed -i 's/ -W --keep-going$//' "$site/build.sh"
"$site/build.sh"
echo "Collection docs: $site/build/html/index.html"
