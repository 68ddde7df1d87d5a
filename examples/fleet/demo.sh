#!/usr/bin/env bash
# The fleet quick start, for real, on this machine (as root) and against a local S3 server:
#  1. three hosts, each a Debian root filesystem of its own (debootstrapped once, then overlaid),
#     reached by Ansible through chroot;
#  2. examples/fleet/site.yml with the inventory beside it: the role installs s3napback and
#     schedules each host's jobs (cron on web1 and db1, systemd timers on web2);
#  3. each host runs its jobs exactly as its cron line or timer would, in cron's bare environment;
#  4. what the bucket holds, per host, and each host's own view (`s3napback list`).
# Run it through `make fleet-demo`, which prepares the virtualenv.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "fleet demo: run as root (it mounts the hosts' filesystems)" >&2; exit 1; }
# shellcheck source=examples/demo-setup.sh
. "$(dirname "$0")/../demo-setup.sh"
hosts=(web1 web2 db1)
export FLEET_ROOT=$work/hosts S3_ENDPOINT_URL=$endpoint BACKUP_PUBLIC_KEY=$keys/backup-public.asc
before_cleanup() {
  for host in "${hosts[@]}"; do
    mountpoint -q "$FLEET_ROOT/$host/proc" && { umount "$FLEET_ROOT/$host/proc" || umount --lazy "$FLEET_ROOT/$host/proc"; }
    mountpoint -q "$FLEET_ROOT/$host" && { umount "$FLEET_ROOT/$host" || umount --lazy "$FLEET_ROOT/$host"; }
  done
  return 0
}

say "Building the hosts: a minimal Debian (cached in ~/.cache/s3napback/fleet-rootfs), one overlay each"
base=$("$root/tests/scripts/fleet-rootfs.sh")
for host in "${hosts[@]}"; do
  mkdir -p "$work/layers/$host/upper" "$work/layers/$host/work" "$FLEET_ROOT/$host"
  mount -t overlay overlay \
    -o "lowerdir=$base,upperdir=$work/layers/$host/upper,workdir=$work/layers/$host/work" "$FLEET_ROOT/$host"
  cp /etc/resolv.conf "$FLEET_ROOT/$host/etc/resolv.conf"
  mount -t proc proc "$FLEET_ROOT/$host/proc" # as on a real host: tar's file index reads /dev/fd/N
done
for host in web1 web2; do mkdir -p "$FLEET_ROOT/$host/srv/www" && cp -a "$root/plugins" "$FLEET_ROOT/$host/srv/www/"; done
mkdir -p "$FLEET_ROOT/db1/srv/svn" && svnadmin create "$FLEET_ROOT/db1/srv/svn/project"

say "Installing the collection; ansible-playbook -i examples/fleet/inventory examples/fleet/site.yml"
# community.general (the chroot connection) comes with the virtualenv's ansible package.
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_NOCOLOR=1
ansible-galaxy collection install --force "$root" -p "$work/collections" >/dev/null
ansible-playbook -i "$root/examples/fleet/inventory" "$root/examples/fleet/site.yml" | sed -n '/PLAY RECAP/,$p'

say "The schedule each host got"
for host in "${hosts[@]}"; do
  grep -h -v '^#' "$FLEET_ROOT/$host/etc/cron.d/s3napback" 2>/dev/null | sed "s/^/$host cron: /" || true
  grep -h '^OnCalendar' "$FLEET_ROOT/$host"/etc/systemd/system/s3napback-*.timer 2>/dev/null | sed "s/^/$host timer: /" || true
done

say "Each host runs its jobs as cron or systemd would (HOME=/, PATH=/usr/bin:/bin)"
for host in "${hosts[@]}"; do
  commands=$(
    awk '!/^#/ && NF { $1=$2=$3=$4=$5=$6=""; print }' "$FLEET_ROOT/$host/etc/cron.d/s3napback" 2>/dev/null
    sed -n 's/^ExecStart=//p' "$FLEET_ROOT/$host"/etc/systemd/system/s3napback-*.service 2>/dev/null || true
  )
  while read -r command; do
    [ -n "$command" ] || continue
    echo "$host: $command"
    chroot "$FLEET_ROOT/$host" /usr/bin/env -i HOME=/ PATH=/usr/bin:/bin /bin/sh -c "$command" || true
  done <<<"$commands"
done

say "Each host's own view of its backups: s3napback list"
for host in "${hosts[@]}"; do
  # exit 4 says a job has no backup yet (one whose run above failed): shown, and the demo goes on
  chroot "$FLEET_ROOT/$host" /usr/bin/env -i HOME=/ PATH=/usr/bin:/bin /usr/local/sbin/s3napback list |
    sed "s/^/$host: /" || echo "$host: s3napback list exited $?"
done

say "What the bucket holds"
list_bucket
say "A second run of the role changes nothing"
ansible-playbook -i "$root/examples/fleet/inventory" "$root/examples/fleet/site.yml" | sed -n '/PLAY RECAP/,$p'
