#!/usr/bin/env bash
# A real backup and restore on this machine, against an S3 server started just for the demo (moto,
# on 127.0.0.1): no AWS account needed. Run it through `make demo`, which prepares the virtualenv.
#  1. starts the S3 server and makes a bucket;
#  2. makes an operator key pair; the "host" gets only the public key;
#  3. installs the collection with ansible-galaxy and backs up a directory with one ad-hoc call
#     (a full), changes the directory and backs up again (a diff);
#  4. restores the chain by hand with standard tools and compares it with the source.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$(cd "$root" && realpath -m "${VENV:-.venv}")
export PATH="$venv/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/s3napback-demo.XXXXXX")
moto_pid=""
cleanup() {
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

say "Installing the collection with ansible-galaxy"
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_LOCALHOST_WARNING=false
ansible-galaxy collection install "$root" -p "$work/collections" >/dev/null
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false ANSIBLE_PYTHON_INTERPRETER=$venv/bin/python

mkdir -p "$work/data"
cp -a "$root/plugins" "$root/galaxy.yml" "$work/data/"
backup() {
  ansible localhost -c local -m s3napback.s3napback.s3napback -a "$(python -c '
import json, sys
args = {"directory": sys.argv[1], "name": "demo-data", "bucket": "backups", "prefix": "demo-host",
        "endpoint_url": sys.argv[2],
        "gpg_recipient": "backup@example.com", "gpg_public_key": open(sys.argv[3]).read(),
        "state_dir": sys.argv[4]}
args.update(json.loads(sys.argv[5]))
print(json.dumps(args))' "$work/data" "$endpoint" "$work/backup-public.asc" "$work/state" "${1:-{\}}")"
}
say "Backup 1: ansible localhost -m s3napback.s3napback.s3napback -a '{directory: ..., bucket: backups, ...}'"
backup
say "Changing the data: one file edited, one deleted, one added"
echo "# edited" >>"$work/data/galaxy.yml"
rm "$work/data/plugins/module_utils/version.py"
echo "new" >"$work/data/NEW.txt"
say "Backup 2, the same day, with force: true (a diff: only the changes)"
backup '{"force": true}'

say "What the bucket holds"
python -c "
import boto3, sys
for o in boto3.client('s3', endpoint_url=sys.argv[1]).list_objects_v2(Bucket='backups')['Contents']:
    print(f\"{o['Size']:>9}  {o['Key']}\")" "$endpoint"

say "Restoring by hand: each object of the chain in key order | gpg -d | zstd -d | tar -x"
mkdir "$work/restored"
keys=$(python -c "
import boto3, sys
keys = sorted(o['Key'] for o in boto3.client('s3', endpoint_url=sys.argv[1]).list_objects_v2(
    Bucket='backups', Prefix='demo-host/')['Contents'] if not o['Key'].endswith('.json'))
print('\n'.join(keys))" "$endpoint")
for key in $keys; do
  echo "applying $key"
  python "$root/examples/s3cat.py" backups "$key" "$endpoint" |
    gpg --homedir "$work/operator-gnupg" --batch --quiet --decrypt |
    zstd -d -q |
    tar --extract --listed-incremental=/dev/null --file=- --directory="$work/restored"
done

say "Comparing the restore with the source"
diff -r "$work/data" "$work/restored"
echo "restored tree matches the source, deletion included: $(find "$work/restored" -type f | wc -l) files"
