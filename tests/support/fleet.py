"""The fleet test's hosts: each a root filesystem of its own (an overlay on one debootstrapped
Debian tree), reached by Ansible through the chroot connection plugin, sharing loopback with the
test's S3 and database servers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time

from .ansible_runner import ROOT

ROOTFS_SCRIPT = os.path.join(ROOT, "tests", "scripts", "fleet-rootfs.sh")
TRUSTED = ("/etc/ssl/certs/ca-certificates.crt", "/etc/resolv.conf")
# What cron gives a job: no HOME of the user, a bare PATH.
CRON_ENV = ["HOME=/", "PATH=/usr/bin:/bin", "LOGNAME=root", "SHELL=/bin/sh", "LANG=C"]


def base_rootfs() -> str:
    """The debootstrapped tree, built once per machine (a few minutes, from Debian's mirror) and
    cached under ~/.cache by its package list (fleet-rootfs.sh)."""
    built = subprocess.run([ROOTFS_SCRIPT], check=True, capture_output=True, text=True)
    return built.stdout.strip()


class Host:
    def __init__(self, name: str, base: str, work: str):
        self.name, self.base = name, base
        self.layers = os.path.join(work, name)
        self.root = os.path.join(self.layers, "root")
        self.mounted = self.proc_mounted = False

    def start(self) -> Host:
        for part in ("upper", "work", "root"):
            os.makedirs(os.path.join(self.layers, part))
        options = f"lowerdir={self.base},upperdir={self.layers}/upper,workdir={self.layers}/work"
        overlay = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, self.root], check=False)
        if overlay.returncode == 0:
            self.mounted = True
        else:  # no overlayfs here: a copy costs a few seconds and half a gigabyte
            os.rmdir(self.root)
            shutil.copytree(self.base, self.root, symlinks=True)
        # /proc, as every real host has: tar's --index-file=/dev/fd/N (the file index) goes through it.
        proc = subprocess.run(["mount", "-t", "proc", "proc", self.path("/proc")], check=False)
        self.proc_mounted = proc.returncode == 0
        # The hosts trust what this machine trusts (a site's proxy CA, say) when they reach the
        # package registries: the role installs from Debian's mirror and from PyPI.
        for shared in TRUSTED:
            if os.path.exists(shared):
                os.makedirs(os.path.dirname(self.path(shared)), exist_ok=True)
                shutil.copyfile(shared, self.path(shared))
        return self

    def processes(self) -> list[int]:
        """What still runs inside this host (a gpg-agent, say)."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/root") == self.root:
                    found.append(int(pid))
            except OSError:
                pass  # gone, or not ours to see
        return found

    def stop(self) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:  # SIGKILL lands asynchronously
            time.sleep(0.1)
        if self.proc_mounted:
            if subprocess.run(["umount", self.path("/proc")], check=False).returncode != 0:
                subprocess.run(["umount", "--lazy", self.path("/proc")], check=False)
            self.proc_mounted = False
        if self.mounted:
            if subprocess.run(["umount", self.root], check=False).returncode != 0:
                subprocess.run(["umount", "--lazy", self.root], check=False)
            self.mounted = False
        shutil.rmtree(self.layers, ignore_errors=True)

    def path(self, inside: str) -> str:
        return os.path.join(self.root, inside.lstrip("/"))

    def read(self, inside: str) -> str:
        with open(self.path(inside), encoding="utf-8") as handle:
            return handle.read()

    def run(self, command: str, check: bool = False) -> subprocess.CompletedProcess:
        """``command`` by /bin/sh inside the host, in cron's environment."""
        argv = ["chroot", self.root, "/usr/bin/env", "-i", *CRON_ENV, "/bin/sh", "-c", command]
        return subprocess.run(argv, capture_output=True, text=True, check=check)


class Fleet:
    def __init__(self, names: list[str], work: str):
        base = base_rootfs()
        self.hosts = {name: Host(name, base, work) for name in names}

    def __enter__(self) -> Fleet:
        try:
            for host in self.hosts.values():
                host.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        for host in self.hosts.values():
            host.stop()

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def inventory(self, groups: dict[str, list[str]]) -> str:
        """An INI inventory of the hosts in ``groups``, each reached by chroot."""
        lines = []
        for group, members in groups.items():
            lines.append(f"[{group}]")
            lines += [f"{name} ansible_host={self.hosts[name].root}" for name in members]
        lines += [
            "[all:vars]",
            "ansible_connection=community.general.chroot",
            "ansible_python_interpreter=/usr/bin/python3",
        ]
        return "\n".join(lines) + "\n"
