"""A directory tree that is hard on GNU tar, and the changes that make its diffs hard too.

Everything is deterministic except file content from ``os.urandom``. Paths are bytes, so that
names that are not UTF-8 are made and read back exactly. Compare trees with
``trees.picture``/``trees.differences``; ``hard_link_groups`` adds what a picture cannot show:
which names share an inode.
"""

from __future__ import annotations

import os
import shutil
import stat

SPARSE_SIZE = 50 * 1024 * 1024
LONG_NAME = b"L" * 220  # one component of 220 bytes (NAME_MAX is 255)
DEEP = [b"deep-%02d-" % i + b"d" * 50 for i in range(6)]  # 6 x 58 bytes: a path of more than 255 bytes
NOT_UTF8_FILE = b"latin1-\xe9t\xe9.txt"
NOT_UTF8_DIR = b"bad-\xff\xfe-dir"
SPACED = "name with spaces/file with  two  spaces.txt"  # as a restore request names it


def _path(root: str | bytes, *parts: str | bytes) -> bytes:
    return os.path.join(os.fsencode(root), *(os.fsencode(part) for part in parts))


def _write(root, *parts, data: bytes = b"", mode: int = 0o644) -> bytes:
    path = _path(root, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


def _modify(path: bytes, data: bytes, append: bool = True) -> None:
    """Change content in place (same inode) and move mtime 2 s ahead, so tar cannot miss it."""
    with open(path, "ab" if append else "r+b") as handle:
        handle.write(data)
    later = os.stat(path).st_mtime + 2
    os.utime(path, (later, later))


def _write_sparse(path: bytes) -> None:
    with open(path, "wb") as handle:
        for offset in (0, SPARSE_SIZE // 2, SPARSE_SIZE - 4096):
            handle.seek(offset)
            handle.write(os.urandom(4096))


def build_hard_tree(root: str) -> None:
    """Odd names, links of every kind, holes, odd modes, empty and deep directories."""
    os.makedirs(root, exist_ok=True)
    _write(root, "plain", "readme.txt", data=b"an ordinary file\n" * 100)
    _write(root, "plain", "data.bin", data=os.urandom(200_000))
    _write(root, "plain", "conf.ini", data=b"[main]\nvalue = 1\n")
    _write(root, SPACED, data=b"spaces inside\n")
    _write(root, " leading and trailing space ", data=b"blanks\n")
    _write(root, "with\nnewline.txt", data=b"newline in the name\n")
    _write(root, "-leading-dash", data=b"looks like an option\n")
    _write(root, "--looks-like=a-long-option", data=b"so does this\n")
    _write(root, "back\\slash and *?[glob]", data=b"tar quotes and matches these\n")
    _write(root, NOT_UTF8_FILE, data=b"latin-1 name\n")
    _write(root, NOT_UTF8_DIR, b"inner-\x80\x81.bin", data=os.urandom(1000))

    os.makedirs(_path(root, "links"))
    os.symlink(b"no/such/target", _path(root, "links", "dangling"))
    os.symlink(b"../plain", _path(root, "links", "to-dir"))
    os.symlink(b"../plain/readme.txt", _path(root, "links", "to-file"))
    os.symlink(b"/nonexistent/absolute \xff", _path(root, "links", "absolute"))

    one = _write(root, "hard", "one", data=b"one inode, three names\n")
    os.link(one, _path(root, "hard", "two"))
    os.makedirs(_path(root, "hard", "sub dir"))
    os.link(one, _path(root, "hard", "sub dir", "three"))

    os.makedirs(_path(root, "empty"))
    os.makedirs(_path(root, "empty-nested", "a", "b", "c"))
    _write_sparse(_path(root, "sparse.img"))
    _write(root, "zero")
    _write(root, "empty-nested", "a", "zero too")

    _write(root, "modes", "none", data=b"no permission bits\n", mode=0o000)
    _write(root, "modes", "all", data=b"setuid, setgid, sticky, rwx for all\n", mode=0o7777)
    _write(root, "modes", "locked", "inside", data=b"in a directory of mode 000\n")
    _write(root, "private", "secret", data=os.urandom(64), mode=0o600)
    _write(root, "read-only dir", "kept", data=b"in a directory of mode 555\n")
    os.chmod(_path(root, "private"), 0o700)
    os.chmod(_path(root, "read-only dir"), 0o555)
    os.chmod(_path(root, "modes", "locked"), 0o000)

    _write(root, *DEEP, b"bottom.txt", data=b"deep down\n")
    _write(root, LONG_NAME, data=b"a long name\n")
    _write(root, "long", LONG_NAME, LONG_NAME[:200] + b".txt", data=b"two long components\n")


def change_hard_tree(root: str, step: int) -> None:
    """Delete, rename, re-create, modify, add and chmod, differently at steps 1, 2 and 3."""
    if step == 1:
        os.unlink(_path(root, "plain", "conf.ini"))  # re-created at step 2
        os.rename(_path(root, "plain", "data.bin"), _path(root, "plain", "data renamed.bin"))
        os.rename(_path(root, "name with spaces"), _path(root, "renamed dir\nwith newline"))
        _modify(_path(root, "plain", "readme.txt"), b"step 1\n")
        _modify(_path(root, NOT_UTF8_FILE), b"step 1\n")
        _write(root, "new\ttab-1", data=b"added at step 1\n")
        _write(root, b"new-\xc3\x28-1", data=b"invalid UTF-8, added at step 1\n")
        os.chmod(_path(root, "private"), 0o750)
        os.chmod(_path(root, "modes", "none"), 0o4711)
        os.rmdir(_path(root, "empty-nested", "a", "b", "c"))
    elif step == 2:
        _write(root, "plain", "conf.ini", data=b"[main]\nvalue = 2, re-created\n")
        os.unlink(_path(root, "-leading-dash"))  # the same name, a new inode, new content
        _write(root, "-leading-dash", data=b"re-created at step 2\n" * 3)
        shutil.rmtree(_path(root, NOT_UTF8_DIR))
        os.rename(_path(root, "hard", "two"), _path(root, "hard", "two renamed"))
        with open(_path(root, "sparse.img"), "r+b") as handle:
            handle.seek(SPARSE_SIZE // 4)
            handle.write(b"written into a hole at step 2")
        later = os.stat(_path(root, "sparse.img")).st_mtime + 2
        os.utime(_path(root, "sparse.img"), (later, later))
        os.rename(_path(root, LONG_NAME), _path(root, LONG_NAME[:-1] + b"!"))
        os.rename(_path(root, *DEEP[:3]), _path(root, *DEEP[:2], b"renamed-" + DEEP[2]))
        _write(root, "private", "added", data=b"step 2\n", mode=0o640)
        os.makedirs(_path(root, "empty-nested", "x", "y"))
        os.chmod(_path(root, "modes", "all"), 0o2755)
    elif step == 3:
        _modify(_path(root, "hard", "one"), b"OVERWRITTEN", append=False)  # seen through every name
        os.link(_path(root, "hard", "one"), _path(root, "hard", "four"))
        os.unlink(_path(root, "links", "to-file"))
        os.symlink(b"../plain/conf.ini", _path(root, "links", "to-file"))
        os.rename(_path(root, "plain"), _path(root, "plain moved"))
        os.unlink(_path(root, "zero"))
        os.makedirs(_path(root, "zero"))  # a file became a directory
        _write(root, "zero", "now a dir", data=b"step 3\n")
        os.rmdir(_path(root, "empty"))
        _write(root, "empty", data=b"a directory became a file\n")
        _write(root, "-", data=b"just a dash\n", mode=0o1755)
        os.chmod(_path(root, "modes", "locked"), 0o711)


def hard_link_groups(root: str) -> set[frozenset[bytes]]:
    """The sets of relative paths (bytes) that name one regular file, for files with several names."""
    base = os.fsencode(root)
    inodes: dict[tuple[int, int], set[bytes]] = {}
    for directory, _dirnames, filenames in os.walk(base):
        for name in filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                inodes.setdefault((info.st_dev, info.st_ino), set()).add(os.path.relpath(path, base))
    return {frozenset(names) for names in inodes.values()}
