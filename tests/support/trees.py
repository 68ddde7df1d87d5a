"""Pictures of a directory tree that two trees can be compared by: every entry's type, mode,
owner, content (files), target (symlinks) and whole-second mtime (files)."""

from __future__ import annotations

import hashlib
import os
import stat


def _digest(path: bytes) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def picture(root: str) -> dict[bytes, tuple]:
    """{relative path (bytes): (type, mode, uid, gid, detail)} for everything below ``root``."""
    base = os.fsencode(root)
    found: dict[bytes, tuple] = {}
    for directory, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, base)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                entry = ("link", 0, info.st_uid, info.st_gid, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entry = ("dir", mode, info.st_uid, info.st_gid, None)
            elif stat.S_ISREG(info.st_mode):
                entry = ("file", mode, info.st_uid, info.st_gid, (_digest(path), int(info.st_mtime)))
            else:
                entry = ("other", mode, info.st_uid, info.st_gid, stat.S_IFMT(info.st_mode))
            found[relative] = entry
    return found


def differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences between two pictures (empty when they match)."""
    lines = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            lines.append(f"missing: {path!r}")
        elif path not in expected:
            lines.append(f"unexpected: {path!r}")
        elif expected[path] != actual[path]:
            lines.append(f"differs: {path!r}: {expected[path]} != {actual[path]}")
    return lines


def write(path: str, data: bytes, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def build_tree(root: str) -> None:
    """A small tree with what tar must get right: nesting, odd names, links, modes, empty dirs."""
    write(os.path.join(root, "etc", "app.conf"), b"setting = 1\n" * 200)
    write(os.path.join(root, "etc", "secret.key"), os.urandom(4096), 0o600)
    write(os.path.join(root, "bin", "tool"), b"#!/bin/sh\necho hi\n", 0o755)
    write(os.path.join(root, "data", "name with spaces.txt"), b"spaces\n")
    write(os.path.join(root, "data", "-leading-dash"), b"dash\n")
    write(os.path.join(root, "data", "empty"), b"")
    write(os.path.join(root, "data", "deep", "er", "est", "file.bin"), os.urandom(100_000))
    os.makedirs(os.path.join(root, "empty-dir"))
    os.symlink("etc/app.conf", os.path.join(root, "link-to-conf"))
    os.symlink("nowhere", os.path.join(root, "dangling"))
    os.link(os.path.join(root, "bin", "tool"), os.path.join(root, "bin", "hardlink-to-tool"))


def change_tree(root: str, round_number: int) -> None:
    """Add, modify, delete and rename files and directories, differently each round."""
    write(os.path.join(root, f"new-{round_number}.txt"), f"round {round_number}\n".encode())
    with open(os.path.join(root, "etc", "app.conf"), "ab") as handle:
        handle.write(f"round = {round_number}\n".encode())
    later = os.stat(os.path.join(root, "etc", "app.conf")).st_mtime + 2
    os.utime(os.path.join(root, "etc", "app.conf"), (later, later))  # a change within the same second counts
    if round_number == 1:
        os.unlink(os.path.join(root, "data", "empty"))
        os.rename(os.path.join(root, "data", "deep"), os.path.join(root, "data", "moved"))
        os.chmod(os.path.join(root, "bin", "tool"), 0o700)
    if round_number == 2:
        os.rmdir(os.path.join(root, "empty-dir"))
        os.unlink(os.path.join(root, "new-1.txt"))
        os.makedirs(os.path.join(root, "fresh", "dir"))
