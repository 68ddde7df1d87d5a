#!/usr/bin/env bash
# Build the root filesystem the fleet test's hosts are made of: a minimal Debian with what every
# host needs already there, so the test needs the mirror once for most of it. The role installs
# the rest (database clients, Subversion, a virtualenv) where a job needs it, as on a real host.
# The result is cached under the name of its suite and package list, outside the checkout so that
# every clone and worktree on the machine builds it once; each host gets an overlay of it.
# Usage (root): tests/scripts/fleet-rootfs.sh [DIR]   -> prints the built tree's path
# DIR: the cache, by default ~/.cache/s3napback/fleet-rootfs (or under $XDG_CACHE_HOME)
set -euo pipefail
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/s3napback/fleet-rootfs}
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
mirror=${S3NAPBACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-apt,python3-boto3,python3-gnupg,python3-yaml,gnupg,tar,zstd,cron,logrotate,systemd,ca-certificates
tree="$cache/$suite-$(printf '%s' "$packages" | sha256sum | cut -c1-12)"
if [ ! -e "$tree/.complete" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  rm -rf "$tree" && mkdir -p "$cache"
  debootstrap --variant=minbase --include="$packages" "$suite" "$tree" "$mirror" >"$tree.log" 2>&1 \
    || { tail -20 "$tree.log" >&2; exit 1; }
  rm -rf "$tree"/var/cache/apt/archives/*.deb
  touch "$tree/.complete"
fi
echo "$tree"
