#!/usr/bin/env bash
# A real backup and restore on this machine, against an S3 server started just for the demo (moto,
# on 127.0.0.1): no AWS account needed. Run it through `make demo`, which prepares the virtualenv
# (with the s3napback command in it).
#  1. starts the S3 server and makes a bucket;
#  2. makes an operator key pair; the "host" gets only the public key;
#  3. installs the collection with ansible-galaxy into ./collections, where ansible.cfg points
#     Ansible run from the checkout, and backs up a directory with one ad-hoc call (a full),
#     changes the directory and backs up again (a diff);
#  4. restores the chain by hand with standard tools and compares it with the source;
#  5. leaves the server running, the keys, the data and a config file for the host command in
#     .demo/, and prints the next commands to type (make demo-stop stops the server).
set -euo pipefail
keep=$(cd "$(dirname "$0")/.." && pwd)/.demo
# shellcheck source=examples/demo-setup.sh
. "$(dirname "$0")/demo-setup.sh"
cd "$root" # where ansible.cfg is
export ANSIBLE_PYTHON_INTERPRETER=$venv/bin/python

say "Installing the collection: ansible-galaxy collection install . -p collections"
ansible-galaxy collection install --force "$root" -p "$root/collections" >/dev/null
echo "installed in collections/ (ansible.cfg: collections_path): $(ansible-doc --list s3napback.s3napback | wc -l) modules"

mkdir -p "$keep/data"
cp -a "$root/plugins" "$root/galaxy.yml" "$keep/data/"
# The host command's config file (0600: it holds the store's credentials); the ad-hoc calls below
# and examples/demo-playbook.yml take their options from it too.
python - "$keep/config.yml" "$endpoint" "$keys/backup-public.asc" "$keep" "$root" <<'PY'
import os, sys, yaml
path, endpoint, public_key, keep, root = sys.argv[1:]
document = {
    "defaults": {
        "bucket": "backups", "prefix": "demo-host", "endpoint_url": endpoint, "region": "us-east-1",
        "access_key": os.environ["AWS_ACCESS_KEY_ID"], "secret_key": os.environ["AWS_SECRET_ACCESS_KEY"],
        "gpg_recipient": "backup@example.com", "gpg_public_key": open(public_key).read(),
        "state_dir": os.path.join(keep, "state"),
    },
    "jobs": [
        {"name": "demo-data", "directory": os.path.join(keep, "data")},
        {"name": "examples", "directory": os.path.join(root, "examples")},  # examples/demo-playbook.yml's
    ],
}
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
    yaml.safe_dump(document, handle, sort_keys=False)
PY
backup() {
  ansible localhost -c local -m s3napback.s3napback.s3napback -a "$(python -c '
import json, sys, yaml
document = yaml.safe_load(open(sys.argv[1]))
print(json.dumps({**document["defaults"], **document["jobs"][0], **json.loads(sys.argv[2])}))' "$keep/config.yml" "${1:-{\}}")"
}
say "Backup 1: ansible localhost -m s3napback.s3napback.s3napback -a '{directory: ..., bucket: backups, ...}'"
backup
say "Changing the data: one file edited, one deleted, one added"
echo "# edited" >>"$keep/data/galaxy.yml"
rm "$keep/data/plugins/module_utils/version.py"
echo "new" >"$keep/data/NEW.txt"
say "Backup 2, the same day, with force: true (a diff: only the changes)"
backup '{"force": true}'

say "What the bucket holds"
list_bucket

say "Restoring by hand: each object of the chain in key order | gpg -d | zstd -d | tar -x"
mkdir "$work/restored"
keys_in_order=$(python -c "
import boto3, sys
keys = sorted(o['Key'] for o in boto3.client('s3', endpoint_url=sys.argv[1]).list_objects_v2(
    Bucket='backups', Prefix='demo-host/')['Contents'] if not o['Key'].endswith(('.json', '.index')))
print('\n'.join(keys))" "$endpoint")
for key in $keys_in_order; do
  echo "applying $key"
  python "$root/examples/s3cat.py" backups "$key" "$endpoint" |
    gpg --homedir "$keys/operator-gnupg" --batch --quiet --decrypt |
    zstd -d -q |
    tar --extract --listed-incremental=/dev/null --file=- --directory="$work/restored"
done

say "Comparing the restore with the source"
diff -r "$keep/data" "$work/restored"
echo "restored tree matches the source, deletion included: $(find "$work/restored" -type f | wc -l) files"

bin=$(realpath --relative-to="$root" "$venv/bin")
say "Next: from this directory"
cat <<NEXT
  $bin/ansible-doc s3napback.s3napback.s3napback               # the module's options and examples
  $bin/ansible-playbook examples/demo-playbook.yml             # a backup of examples/ by playbook, then the bucket's sets
  $bin/s3napback --config .demo/config.yml list                # the host command: each job's backups
The S3 server keeps running on $endpoint (objects in memory) for these; make demo-stop stops it.
NEXT
