# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compressors: the process in the pipe, its level range and the extension it adds to keys."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BackupError
from .pipeline import Stage


@dataclass(frozen=True)
class Compressor:
    name: str
    extension: str
    default_level: int
    levels: tuple[int, int]
    argv: tuple[str, ...]  # without the level option
    decompress_argv: tuple[str, ...] = ()
    parallel: tuple[str, ...] = ()  # options that spread the work over the cores
    single: tuple[str, ...] = ()  # options that keep it to one thread, for a side stream

    def stage(self, level: int | None, parallel: bool = True) -> Stage | None:
        """The compressing process; ``parallel=False`` for a small side stream (the file index)
        that should take neither a core nor a worker's memory from the backup's own."""
        if not self.argv:
            return None
        options = self.parallel if parallel else self.single
        return Stage(self.name, [*self.argv, *options, f"-{self.default_level if level is None else level}"])

    def level_problem(self, level: int | None) -> str | None:
        if level is None:
            return None
        if not self.argv:
            return "compression_level needs a compression other than none"
        low, high = self.levels
        if not low <= level <= high:
            return f"compression_level for {self.name} must be from {low} to {high}, not {level}"
        return None


COMPRESSORS = {
    # -T0: one worker per core; zstd is what keeps up with tar and gpg (docs/BENCHMARKS.md, the
    # 'ceiling: tar|zstd|gpg' row).
    # -B2M: 2 MiB jobs hold zstd at about 23 MB instead of 72 MB on two cores, at the same speed and
    # 1% more bytes (docs/BENCHMARKS.md); the backup's whole process tree stays under 150 MB.
    "zstd": Compressor(
        "zstd",
        ".zst",
        3,
        (1, 19),
        ("zstd", "--quiet", "--stdout"),
        ("zstd", "--decompress", "--quiet", "--stdout"),
        ("-T0", "-B2M"),
        # zstd 1.5 compresses with a worker thread and its job buffers even without -T: 38 MB for
        # the index of a million files, against 6 MB with --single-thread (2026-12-05)
        ("--single-thread",),
    ),
    "gzip": Compressor("gzip", ".gz", 6, (1, 9), ("gzip", "--stdout"), ("gzip", "--decompress", "--stdout")),
    "none": Compressor("none", "", 0, (0, 0), ()),
}


def compressor(name: str) -> Compressor:
    try:
        return COMPRESSORS[name]
    except KeyError:
        raise BackupError("config", f"compression must be one of {', '.join(COMPRESSORS)}, not {name!r}") from None


def decompressor_stage(extension: str) -> Stage | None:
    """The stage that undoes the compression named by a key's extension (``.zst``, ``.gz``), if any."""
    for found in COMPRESSORS.values():
        if found.extension and extension == found.extension:
            return Stage(found.name, list(found.decompress_argv))
    return None
