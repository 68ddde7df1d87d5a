#!/usr/bin/env bash
# The first hour of a new user, checked: a clone of this repository in an otherwise empty directory
# runs the README's `make demo`, then each command the demo prints, exactly as printed, then the
# make targets given (CI: test bench-smoke). Nothing beside the clone is used, and nothing is
# reached but the package registries. The demo's virtualenv must stay within 250 MB, and nothing
# the demo itself prints may look like a warning.
# Usage: tests/scripts/clean-clone.sh [MAKE TARGET...]   (as root on Debian, like make demo)
set -euo pipefail
source_repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/s3napback-clean-clone.XXXXXX")
clone=$dir/s3napback
trap '[ -x "$clone/examples/demo-stop.sh" ] && "$clone/examples/demo-stop.sh"; rm -rf "$dir"' EXIT
fail() {
  echo "clean clone: $*" >&2
  exit 1
}
step() { printf '\n\033[1m## clean clone: %s\033[0m\n' "$*"; }

git clone --quiet --no-hardlinks "$source_repo" "$clone"
cd "$clone"
step "make demo in $clone"
started=$(date +%s)
make demo 2>&1 | tee "$dir/demo.log"
echo "make demo took $(($(date +%s) - started)) s"

size=$(du -sm .venv | cut -f1)
packages=$(.venv/bin/python -m pip list --format freeze 2>/dev/null | wc -l)
echo "the demo's virtualenv: $size MB, $packages packages"
[ "$size" -le 250 ] || fail "the demo's virtualenv is $size MB, more than 250 MB"
# pip's own lines come before the demo's first (the machine's pip configuration is not ours); the
# module's result has a tar_warnings list, empty on a healthy run
if sed -n '/== Starting a local S3 server/,$p' "$dir/demo.log" | grep -v '"tar_warnings": \[\],' |
  grep -iE 'warn|trustdb|deprecat'; then
  fail "the demo printed the lines above, which look like warnings"
fi

step "the commands the demo printed, as printed"
mapfile -t next < <(sed -n '/== Next/,$p' "$dir/demo.log" | sed -n 's/^  \([^ #].*[^ ]\) *# .*$/\1/p')
[ ${#next[@]} -eq 3 ] || fail "the demo printed ${#next[@]} next commands, not 3: ${next[*]}"
expect() { # COMMAND TEXT...: COMMAND exits 0 and prints every TEXT
  local command=$1 output
  shift
  echo "\$ $command"
  output=$(bash -c "$command" 2>&1) || fail "'$command' failed: $output"
  for text in "$@"; do
    grep -qF -- "$text" <<<"$output" || fail "'$command' did not print '$text': $output"
  done
  echo "  ok: ${*/#/ }"
}
[[ ${next[0]} == *ansible-doc* && ${next[1]} == *ansible-playbook* && ${next[2]} == *" list" ]] ||
  fail "the next commands are not the docs, a playbook and a listing: ${next[*]}"
expect "${next[0]}" "$clone/collections/ansible_collections/s3napback/s3napback/plugins/modules/s3napback.py" \
  "directory" "gpg_recipient"
expect "${next[1]}" "demo-host/examples: 1 backups" "demo-host/demo-data: 2 backups" "failed=0"
expect "${next[2]}" " demo-data backups=2 " " examples backups=1 "

for target in "$@"; do
  step "make $target"
  started=$(date +%s)
  make "$target"
  echo "make $target took $(($(date +%s) - started)) s"
done
