#!/usr/bin/env bash
# A real backup and restore on this machine, against an S3 server started just for the demo (moto,
# on 127.0.0.1): no AWS account needed. Run it through `make demo`, which prepares the virtualenv.
#  1. starts the S3 server and makes a bucket;
#  2. makes an operator key pair; the "host" gets only the public key;
#  3. installs the collection with ansible-galaxy and backs up a directory with one ad-hoc call
#     (a full), changes the directory and backs up again (a diff);
#  4. restores the chain by hand with standard tools and compares it with the source.
set -euo pipefail
# shellcheck source=examples/demo-setup.sh
. "$(dirname "$0")/demo-setup.sh"

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
list_bucket

say "Restoring by hand: each object of the chain in key order | gpg -d | zstd -d | tar -x"
mkdir "$work/restored"
keys=$(python -c "
import boto3, sys
keys = sorted(o['Key'] for o in boto3.client('s3', endpoint_url=sys.argv[1]).list_objects_v2(
    Bucket='backups', Prefix='demo-host/')['Contents'] if not o['Key'].endswith(('.json', '.index')))
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
