# Sourced by the demos: a work directory, a local S3 server (moto, on 127.0.0.1) with a bucket
# "backups" at $endpoint, and the operator's key pair in $work/operator-gnupg whose public half is
# $work/backup-public.asc. Everything stops and goes when the demo exits; a demo may define
# before_cleanup for its own.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$(cd "$root" && realpath -m "${VENV:-.venv}")
export PATH="$venv/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/s3napback-demo.XXXXXX")
moto_pid=""
cleanup() {
  if declare -F before_cleanup >/dev/null; then before_cleanup; fi
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
  for home in "$work/operator-gnupg" "$work/state/gnupg"; do
    [ -d "$home" ] && gpgconf --homedir "$home" --kill all 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting a local S3 server (moto) on 127.0.0.1"
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
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
mkdir -m 700 "$work/operator-gnupg"
gpg --homedir "$work/operator-gnupg" --batch --quiet --passphrase '' \
  --quick-gen-key 'Demo Backups <backup@example.com>' ed25519 cert never 2>/dev/null
fpr=$(gpg --homedir "$work/operator-gnupg" --list-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}')
gpg --homedir "$work/operator-gnupg" --batch --quiet --passphrase '' --quick-add-key "$fpr" cv25519 encr never
gpg --homedir "$work/operator-gnupg" --armor --export "$fpr" >"$work/backup-public.asc"

list_bucket() {
  python -c "
import boto3, sys
for o in boto3.client('s3', endpoint_url=sys.argv[1]).list_objects_v2(Bucket='backups')['Contents']:
    print(f\"{o['Size']:>9}  {o['Key']}\")" "$endpoint"
}
