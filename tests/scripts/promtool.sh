#!/usr/bin/env bash
# Print the path of a promtool binary, unpacked from Debian's prometheus package into
# tests/output/promtool. Installing that package would also start a Prometheus server listening
# on every interface; the tests only need its rule checker.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=tests/output/promtool
if [ ! -x "$root/usr/bin/promtool" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && { apt-get -o APT::Sandbox::User=root download -q prometheus || { apt-get update -q && apt-get -o APT::Sandbox::User=root download -q prometheus; }; } >/dev/null)
  mkdir -p "$root"
  dpkg-deb -x "$work"/prometheus_*.deb "$root"
fi
echo "$PWD/$root/usr/bin/promtool"
