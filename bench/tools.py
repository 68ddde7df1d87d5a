"""The tools compared, each as the commands a user would type: a backup (full, then diffs) and a
restore into a new directory. Credentials and passwords reach every tool through its environment,
never its command line."""

from __future__ import annotations

import json
import os
import sys

import yaml
from support.keys import RECIPIENT

from .servers import BUCKET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "tests", "output", "collections")  # the symlink farm tests/conftest.py makes
BIN = os.path.dirname(sys.executable)
HOST_COMMAND = "ansible_collections.s3napback.s3napback.plugins.module_utils.host_command"
AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else "aws"  # Debian's awscli before any other on PATH
GPG_ENCRYPT = 'gpg --batch --trust-model always --encrypt --compress-algo none -r "$RECIPIENT"'
TAR = 'tar -C "$SRC" -cf - .'
ZSTD = "zstd -q -T0"
# over HTTPS, awscli verifies the server against the CA in $CA_BUNDLE (set only then)
CA = '${CA_BUNDLE:+--ca-bundle "$CA_BUNDLE"}'
UPLOAD = f'"$AWS" s3 cp - "s3://$BUCKET/manual/$KEY" --endpoint-url "$URL" {CA}'
MANUAL_BACKUP = f'set -euo pipefail; {TAR} --listed-incremental="$SNAPSHOT" | {ZSTD} | {GPG_ENCRYPT} | {UPLOAD}'
MANUAL_RESTORE = f"""set -euo pipefail
for key in $("$AWS" s3 ls "s3://$BUCKET/manual/" --endpoint-url "$URL" {CA} | awk '{{print $4}}'); do
  "$AWS" s3 cp "s3://$BUCKET/manual/$key" - --endpoint-url "$URL" {CA} | gpg --batch --quiet --decrypt |
    zstd -q -d | tar --extract --listed-incremental=/dev/null --file=- --directory="$DEST"
done"""
CEILING = f"set -euo pipefail; {TAR} | {ZSTD} | {GPG_ENCRYPT} > /dev/null"


class Context:
    """One tool's run: its source, its scratch directory (HOME, TMPDIR) and its S3 server.

    ``ca_bundle``: the CA file a server over HTTPS is verified against (None over plain HTTP). Each
    tool is handed it its own way, and none turns verification off."""

    # bench/ansible_overhead.py, memory_flat.py and temp_disk.py build it with these positions too
    def __init__(  # noqa: PLR0917
        self,
        scratch: str,
        src: str,
        url: str,
        fingerprint: str,
        public_home: str,
        secret_home: str,
        ca_bundle: str | None = None,
    ):
        self.scratch, self.src, self.url, self.fingerprint = scratch, src, url, fingerprint
        self.public_home, self.secret_home = public_home, secret_home
        self.ca_bundle = ca_bundle
        self.home = os.path.join(scratch, "home")
        self.tmp = os.path.join(scratch, "tmp")
        self.state = os.path.join(self.home, "state")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": self.home,
            "TMPDIR": self.tmp,
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "AWS_ACCESS_KEY_ID": "S3RVER",
            "AWS_SECRET_ACCESS_KEY": "S3RVER",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for directory in (self.home, self.tmp, self.state):
            os.makedirs(directory, exist_ok=True)
        os.makedirs(os.path.join(self.home, ".aws"), exist_ok=True)
        with open(os.path.join(self.home, ".aws", "config"), "w") as handle:
            handle.write("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")

    @property
    def watch(self) -> list[str]:
        return [self.home, self.tmp]


class Tool:
    name = ""
    key = ""  # what ``--tools`` calls it
    chain = False  # whether it takes part in the chain restore (a full and 6 diffs)
    restores = True  # whether it restores at all
    marker = ""  # a word of the command line of its processes on the host, when a controller runs them

    def setup(self, ctx: Context) -> list[str] | None:
        return None

    def backup(self, ctx: Context, index: int) -> tuple[list[str], dict]:
        raise NotImplementedError

    def restore(self, ctx: Context, dest: str) -> tuple[list[str], dict]:
        raise NotImplementedError

    def restored_root(self, ctx: Context, dest: str) -> str:
        return dest


class S3napbackModule(Tool):
    name = "s3napback (module)"  # the chain restore runs through the host command: the same engine, less overhead
    key = "module"
    marker = "AnsiballZ_"  # the module's own processes on the host, apart from the controller's

    def _ansible(self, ctx: Context, module: str, args: dict) -> tuple[list[str], dict]:
        args = {"bucket": BUCKET, "prefix": "bench", "name": "data", "endpoint_url": ctx.url, **args}
        if ctx.ca_bundle:
            args["aws_ca_bundle"] = ctx.ca_bundle
        argv = [os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local"]
        argv += ["-m", f"s3napback.s3napback.{module}", "-a", json.dumps(args)]
        env = {
            **ctx.env,
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCAL_TEMP": os.path.join(ctx.tmp, "ansible"),
            "ANSIBLE_HOME": os.path.join(ctx.home, ".ansible"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        }
        return argv, env

    def backup(self, ctx, index, force_full: bool = False):
        args = {"directory": ctx.src, "gpg_recipient": RECIPIENT, "gpg_home": ctx.public_home}
        args.update(state_dir=ctx.state, force=True, force_full=force_full)
        return self._ansible(ctx, "s3napback", args)

    def restore(self, ctx, dest):
        return self._ansible(ctx, "s3napback_restore", {"dest": dest, "gpg_home": ctx.secret_home})

    def nothing_due(self, ctx):
        """A call right after the incremental, not forced: nothing is due (issue 23's incremental bar
        for the module takes this fixed cost off its incremental)."""
        args = {"directory": ctx.src, "gpg_recipient": RECIPIENT, "gpg_home": ctx.public_home, "state_dir": ctx.state}
        return self._ansible(ctx, "s3napback", args)


class S3napbackHost(Tool):
    name = "s3napback (host command)"
    key = "host"
    chain = True

    def __init__(self, compression_level: int | None = None):
        """``compression_level``: set in the configuration, and named in the tool's name."""
        self.compression_level = compression_level
        if compression_level is not None:
            self.name = f"{S3napbackHost.name}, zstd -{compression_level}"

    def _command(self, ctx: Context, *args: str) -> tuple[list[str], dict]:
        config = os.path.join(ctx.home, "config.yml")
        if not os.path.exists(config):
            defaults = {"bucket": BUCKET, "prefix": "bench", "endpoint_url": ctx.url, "region": "us-east-1"}
            if ctx.ca_bundle:
                defaults["aws_ca_bundle"] = ctx.ca_bundle
            defaults.update(gpg_recipient=RECIPIENT, gpg_home=ctx.public_home, state_dir=ctx.state)
            if self.compression_level is not None:
                defaults["compression_level"] = self.compression_level
            with open(config, "w") as handle:
                yaml.safe_dump({"defaults": defaults, "jobs": [{"name": "data", "directory": ctx.src}]}, handle)
        return [sys.executable, "-m", HOST_COMMAND, "--config", config, *args], {**ctx.env, "PYTHONPATH": COLLECTIONS}

    def backup(self, ctx, index):
        return self._command(ctx, "run", "--force", "data")

    def restore(self, ctx, dest):
        return self._command(ctx, "restore", "data", "--dest", dest, "--gpg-home", ctx.secret_home)


class Manual(Tool):
    name = "tar|zstd|gpg|aws"
    key = "manual"
    chain = True

    def _env(self, ctx: Context, **more: str) -> dict:
        env = {**ctx.env, "AWS": AWS, "BUCKET": BUCKET, "URL": ctx.url, "RECIPIENT": RECIPIENT, **more}
        return {**env, "CA_BUNDLE": ctx.ca_bundle} if ctx.ca_bundle else env

    def backup(self, ctx, index):
        key = f"{index:02d}-{'diff' if index else 'full'}.tar.zst.gpg"
        env = self._env(ctx, SRC=ctx.src, KEY=key, SNAPSHOT=os.path.join(ctx.state, "snapshot"))
        return ["bash", "-c", MANUAL_BACKUP], {**env, "GNUPGHOME": ctx.public_home}

    def restore(self, ctx, dest):
        os.makedirs(dest)
        return ["bash", "-c", MANUAL_RESTORE], {**self._env(ctx, DEST=dest), "GNUPGHOME": ctx.secret_home}


class ManualUnderAnsible(Manual):
    """The same hand-rolled pipe, run by Ansible's shell module on localhost: what the module's full
    is judged against, since both then pay Ansible's start (issue 23). It backs up only."""

    name = "tar|zstd|gpg|aws under ansible -m shell"
    key = "manual-ansible"
    chain = False
    restores = False

    def backup(self, ctx, index):
        argv, env = super().backup(ctx, index)
        shell = {"cmd": argv[-1], "executable": "/bin/bash"}  # the pipe's own set -o pipefail needs bash
        module_argv, module_env = S3napbackModule()._ansible(ctx, "s3napback", {})
        module_argv = module_argv[: module_argv.index("-m")]
        return [*module_argv, "-m", "ansible.builtin.shell", "-a", json.dumps(shell)], {**module_env, **env}


class Duplicity(Tool):
    name = "duplicity"
    key = "duplicity"
    TARGET = f"boto3+s3://{BUCKET}/duplicity"

    @staticmethod
    def _env(ctx: Context) -> dict:
        # duplicity has no option for a CA; its boto3 backend leaves verify unset, so botocore
        # verifies against AWS_CA_BUNDLE
        return {**ctx.env, "AWS_CA_BUNDLE": ctx.ca_bundle} if ctx.ca_bundle else ctx.env

    def backup(self, ctx, index):
        argv = ["duplicity", "incremental" if index else "full", "--encrypt-key", ctx.fingerprint]
        argv.append("--gpg-options=--trust-model=always")  # the backing-up keyring does not certify the key
        argv += ["--s3-endpoint-url", ctx.url, ctx.src, self.TARGET]
        return argv, {**self._env(ctx), "GNUPGHOME": ctx.public_home}

    def restore(self, ctx, dest):
        argv = ["duplicity", "restore", "--s3-endpoint-url", ctx.url, self.TARGET, dest]
        return argv, {**self._env(ctx), "GNUPGHOME": ctx.secret_home, "PASSPHRASE": ""}  # the key has none


class Restic(Tool):
    name = "restic"
    key = "restic"

    def _env(self, ctx: Context) -> dict:
        # restic encrypts with a password of its own, not a public key; this one protects nothing
        return {**ctx.env, "RESTIC_REPOSITORY": f"s3:{ctx.url}/{BUCKET}/restic", "RESTIC_PASSWORD": "bench"}

    @staticmethod
    def _restic(ctx: Context, *args: str) -> list[str]:
        return ["restic", *(["--cacert", ctx.ca_bundle] if ctx.ca_bundle else []), *args]

    def setup(self, ctx):
        return self._restic(ctx, "init"), self._env(ctx)

    def backup(self, ctx, index):
        return self._restic(ctx, "backup", "--quiet", "--host", "bench", ctx.src), self._env(ctx)

    def restore(self, ctx, dest):
        return self._restic(ctx, "restore", "latest", "--target", dest), self._env(ctx)

    def restored_root(self, ctx, dest):
        return os.path.join(dest, ctx.src.lstrip("/"))  # restic keeps the absolute path


class Ceiling(Tool):
    """The pipeline without S3: no tool can back up faster than its own stages run."""

    name = "ceiling: tar|zstd|gpg >/dev/null"
    key = "ceiling"

    def backup(self, ctx, index):
        return ["bash", "-c", CEILING], {
            **ctx.env,
            "SRC": ctx.src,
            "RECIPIENT": RECIPIENT,
            "GNUPGHOME": ctx.public_home,
        }


class UploadOnly(Tool):
    """S3 alone: awscli uploads a file the size of s3napback's full backup (``size`` set by the run)."""

    name = "ceiling: aws s3 cp (upload only)"
    key = "upload-only"
    size = 0

    def backup(self, ctx, index):
        path = os.path.join(ctx.scratch, "upload.bin")
        with open(path, "wb") as handle:
            for _block in range(self.size >> 20):
                handle.write(os.urandom(1 << 20))
            handle.write(os.urandom(self.size & ((1 << 20) - 1)))
        argv = [AWS, "s3", "cp", path, f"s3://{BUCKET}/upload-only", "--endpoint-url", ctx.url]
        return argv + (["--ca-bundle", ctx.ca_bundle] if ctx.ca_bundle else []), ctx.env


BACKUP_TOOLS = (S3napbackModule(), S3napbackHost(), Manual(), ManualUnderAnsible(), Duplicity(), Restic())
CEILINGS = (Ceiling(), UploadOnly())
