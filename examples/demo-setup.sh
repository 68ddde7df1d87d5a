# Sourced by the demos: a work directory, a local S3 server (moto, on 127.0.0.1) with a bucket
# "backups" at $endpoint, and the operator's key pair in $keys/operator-gnupg whose public half is
# $keys/backup-public.asc. Everything in $work goes when the demo exits; a demo may define
# before_cleanup for its own. A demo that sets keep=DIR before sourcing this keeps the server
# running for the commands a user types next (its PID in DIR/moto.pid: examples/demo-stop.sh), and
# the keys in DIR; a server an earlier run kept is stopped first.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(cd "$root" && realpath -m "${VENV:-.venv}")
export PATH="$venv/bin:$PATH"
keep=${keep:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/s3napback-demo.XXXXXX")
keys=${keep:-$work}
moto_pid=""
cleanup() {
  if declare -F before_cleanup >/dev/null; then before_cleanup; fi
  [ -z "$keep" ] && [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
  for home in "$keys/operator-gnupg" "$work/state/gnupg" "$keys/state/gnupg"; do
    [ -d "$home" ] && gpgconf --homedir "$home" --kill all 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -n "$keep" ]; then
  "$root/examples/demo-stop.sh" "$keep"
  rm -rf "$keep" && mkdir -m 700 "$keep"
fi

say "Starting a local S3 server (moto) on 127.0.0.1"
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ -n "$keep" ]; then  # in a session of its own, so that it outlives this script and make
  nohup setsid python -m moto.server -H 127.0.0.1 -p "$port" >"$keep/moto.log" 2>&1 </dev/null &
  echo $! >"$keep/moto.pid"
else
  python -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
fi
moto_pid=$!
endpoint=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret-key AWS_REGION=us-east-1
python -c '
import socket, sys, time
for _ in range(300):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the S3 server did not start")' "$port"
python -c "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket='backups')" "$endpoint"
echo "bucket 'backups' at $endpoint"

say "Making the operator's key pair; the backed-up host will only get the public key"
mkdir -m 700 "$keys/operator-gnupg"
gpg --homedir "$keys/operator-gnupg" --batch --quiet --passphrase '' \
  --quick-gen-key 'Demo Backups <backup@example.com>' ed25519 cert never 2>/dev/null
fpr=$(gpg --homedir "$keys/operator-gnupg" --batch --quiet --list-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}')
gpg --homedir "$keys/operator-gnupg" --batch --quiet --passphrase '' --quick-add-key "$fpr" cv25519 encr never
gpg --homedir "$keys/operator-gnupg" --armor --export "$fpr" >"$keys/backup-public.asc"

list_bucket() {
  python -c "
import boto3, sys
for o in boto3.client('s3', endpoint_url=sys.argv[1]).list_objects_v2(Bucket='backups')['Contents']:
    print(f\"{o['Size']:>9}  {o['Key']}\")" "$endpoint"
}
