#!/usr/bin/env bash
# Prints the path of a collections tree that holds this checkout as s3napback.s3napback (a symlink
# under tests/output), for tools that find plugins only in an installed collection.
set -euo pipefail
cd "$(dirname "$0")/../.."
collections=tests/output/lint-collections
mkdir -p "$collections/ansible_collections/s3napback"
ln -sfn "$PWD" "$collections/ansible_collections/s3napback/s3napback"
echo "$PWD/$collections"
