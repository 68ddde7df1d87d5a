#!/usr/bin/env bash
# Stop the S3 server that `make demo` left running for the commands it printed (`make demo-stop`),
# by the PID it wrote, and only if that PID is still that server: a PID can be reused.
# Usage: examples/demo-stop.sh [DIR]   (DIR: the demo's directory, .demo in the checkout)
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/.." && pwd)/.demo}
pidfile=$dir/moto.pid
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-m moto.server -H 127.0.0.1"; then
  kill "$pid"
  for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  echo "stopped the demo's S3 server (PID $pid)"
fi
rm -f "$pidfile"
