#!/usr/bin/env bash
# Make sure the programs s3napback (and, with --tests, its tests) run are installed: on
# Debian/Ubuntu as root, install what is missing with apt-get; elsewhere, name it and fail.
# Usage: tests/scripts/system-packages.sh [--tests] [extra Debian packages...]
set -euo pipefail
declare -A package_of=(
  [gpg]=gnupg [gpgconf]=gnupg [tar]=tar [zstd]=zstd [gzip]=gzip [git]=git [make]=make
)
tests=false
if [ "${1:-}" = --tests ]; then
  tests=true
  shift
  # The tests run real database servers and Subversion, and watch processes.
  package_of+=(
    [svnadmin]=subversion [svn]=subversion [pgrep]=procps [runuser]=util-linux
    [mariadbd]=mariadb-server [mariadb-install-db]=mariadb-server [mysqldump]=mariadb-client [mysql]=mariadb-client
    [pg_dump]=postgresql-client [psql]=postgresql-client
    [debootstrap]=debootstrap [chroot]=coreutils [mount]=mount
    [chromium]=chromium [dpkg-deb]=dpkg
    # s3rver, the S3 server that kept botocore's aws-chunked uploads as data, for the TLS tests
    [node]=nodejs [npm]=npm
    # a FUSE file system that refuses renameat2(RENAME_EXCHANGE), for the restore's fallback
    [bindfs]=bindfs
  )
fi
missing=("$@")
for command in "${!package_of[@]}"; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# A test runs the host command under the OS's Python with the libraries the role installs on hosts.
if $tests; then
  for library in boto3:python3-boto3 gnupg:python3-gnupg yaml:python3-yaml; do
    /usr/bin/python3 -c "import ${library%%:*}" 2>/dev/null || missing+=("${library#*:}")
  done
fi
# The tests start their own PostgreSQL server, which is not on PATH.
if $tests && ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then missing+=(postgresql); fi
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages (Debian names): ${missing[*]}" >&2
  exit 1
fi
