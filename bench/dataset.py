"""The benchmark's data set, made from a seed so that every machine backs up the same bytes.

A mix like a server's: log and source text (compresses well), already-compressed media (random
bytes), many small files in deep trees, and a few large random files (disk images). Nothing is
downloaded. ``change`` then alters about 1% of it, the same way for every tool.
"""

from __future__ import annotations

import os

import numpy as np

# the share of the size each kind takes
TEXT, MEDIA, SMALL = 0.40, 0.25, 0.10  # the rest: LARGE_FILES random disk images
LARGE_FILES = 3
CHANGED = 0.01
MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed, so that pictures of two trees compare
WORDS = (
    b"request user session cache index worker queue timeout retry upload commit backup config "
    b"handler value result error warning debug client server token buffer stream parser record"
).split()
LEVELS = (b"INFO", b"INFO", b"INFO", b"DEBUG", b"WARN", b"ERROR")
SOURCE_LINES = (
    b"def %s_%s(self, %s):",
    b"    return self.%s.get(%s, %s)",
    b"    if %s is None:  # %s %s",
    b"import %s.%s as %s",
    b"        for %s in self.%s_%s:",
    b"class %s%s(%s):",
)


def _line_pool(rng: np.random.Generator, count: int = 40_000) -> list[bytes]:
    """Distinct log and source lines; files are drawn from them, so text compresses as real text does."""
    pool = []
    for i in range(count):
        words = [WORDS[j] for j in rng.integers(0, len(WORDS), 3)]
        if i % 3:
            stamp = b"2026-01-%02d %02d:%02d:%02d.%03d" % tuple(int(v) for v in rng.integers(1, 28, 5))
            address = b"10.%d.%d.%d" % tuple(int(v) for v in rng.integers(0, 255, 3))
            level = LEVELS[int(rng.integers(0, len(LEVELS)))]
            pool.append(
                b"%s %s %s %s: %s %s took %d ms\n" % (stamp, level, address, *words, int(rng.integers(0, 5000)))
            )
        else:
            pool.append(SOURCE_LINES[i % len(SOURCE_LINES)] % tuple(words) + b"\n")
    return pool


def _text(rng: np.random.Generator, pool: list[bytes], size: int) -> bytes:
    chunks, length = [], 0
    while length < size:
        lines = b"".join(pool[i] for i in rng.integers(0, len(pool), 4096))
        chunks.append(lines)
        length += len(lines)
    return b"".join(chunks)[:size]


def _write(path: str, data: bytes, mtime: int = MTIME) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.utime(path, (mtime, mtime))


def _sizes(rng: np.random.Generator, total: int, low: int, high: int) -> list[int]:
    sizes, left = [], total
    while left > 0:
        size = min(left, int(rng.integers(low, high)))
        sizes.append(size)
        left -= size
    return sizes


def generate(root: str, size: int, seed: int = 1) -> None:
    """Write about ``size`` bytes of files below ``root`` (which must not exist)."""
    rng = np.random.default_rng(seed)
    pool = _line_pool(rng)
    for i, length in enumerate(_sizes(rng, int(size * TEXT), 16 << 10, 4 << 20)):
        name = ("var/log/app-%04d.log" if i % 2 else "src/module_%04d.py") % i
        _write(os.path.join(root, name), _text(rng, pool, length))
    for i, length in enumerate(_sizes(rng, int(size * MEDIA), 64 << 10, 3 << 20)):
        _write(
            os.path.join(root, "media", f"{i % 16:02d}", f"img-{i:05d}.{('jpg', 'gz', 'mp4')[i % 3]}"),
            rng.bytes(length),
        )
    for i, length in enumerate(_sizes(rng, int(size * SMALL), 200, 8 << 10)):
        depth = 3 + i % 5
        branch = [f"d{(i >> (2 * level)) % 4}" for level in range(depth)]
        data = _text(rng, pool, length) if i % 2 else rng.bytes(length)
        _write(os.path.join(root, "tree", *branch, f"f{i:06d}.dat"), data)
    large = size - int(size * TEXT) - int(size * MEDIA) - int(size * SMALL)
    for i in range(LARGE_FILES):
        _write(os.path.join(root, "images", f"disk-{i}.img"), rng.bytes(large // LARGE_FILES))


def _files(root: str, below: str) -> list[str]:
    found = []
    for directory, _dirs, names in os.walk(os.path.join(root, below)):
        found.extend(os.path.join(directory, name) for name in names)
    return sorted(found)


def change(root: str, size: int, round_number: int, seed: int = 1) -> None:
    """Change about 1% of ``size``: append to three logs, add one file, delete one small file.

    The new mtimes are fixed too (an hour per round after the data set's), so every tool sees the
    same tree; ctime still moves, which is what tar's incremental mode looks at.
    """
    rng = np.random.default_rng([seed, round_number])
    mtime = MTIME + 3600 * round_number
    appended = int(size * CHANGED * 0.8) // 3
    logs = _files(root, "var/log")
    pool = _line_pool(rng, 2_000)
    for index in rng.choice(len(logs), min(3, len(logs)), replace=False):
        with open(logs[index], "ab") as handle:
            handle.write(_text(rng, pool, appended))
        os.utime(logs[index], (mtime, mtime))
    _write(
        os.path.join(root, "media", "new", f"upload-{round_number}.jpg"), rng.bytes(int(size * CHANGED * 0.2)), mtime
    )
    small = _files(root, "tree")
    os.unlink(small[int(rng.integers(0, len(small)))])
