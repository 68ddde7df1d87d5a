# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing a directory backup's file index while tar archives (file_index.py says what it holds).

tar writes its listing straight into the index's own compressor through an inherited pipe (its
``--index-file``), the compressor feeds gpg, and a thread keeps gpg's output: in memory while it is
small, in a file of the state directory beyond ``SPOOL_BYTES``, already encrypted. When tar has
finished, the header and the snapshot it wrote are added, and the index is uploaded beside the
data object. Python never reads the listing, so the index costs tar's formatting and a small
compressor, not a pass over every name.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading

from . import file_index
from .errors import BackupError
from .pipeline import Pipeline, Stage

SPOOL_BYTES = 1024 * 1024


class IndexStream:
    """``stream = IndexStream(stages, spool_dir)``; ``with stream:`` around tar's pipeline, tar
    given ``stream.tar_options()`` and ``stream.tar_fds``; then ``stream.finish(snapshot)`` and
    ``stream.body`` (a file positioned at 0) to upload."""

    def __init__(self, stages: list[Stage], spool_dir: str):
        # named apart from the data's own zstd and gpg, in errors and in the list of stages
        self.stages = [Stage(f"index {s.name}", s.argv, s.warning_codes, s.env, s.pass_fds) for s in stages] or [
            Stage("index cat", ["cat"])
        ]
        self.body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=spool_dir)  # noqa: SIM115
        self._pipe: Pipeline | None = None
        self._drain: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def tar_fds(self) -> tuple[int, ...]:
        return (self._stdin().fileno(),)

    def tar_options(self) -> list[str]:
        return [f"--index-file=/dev/fd/{self._stdin().fileno()}", *file_index.LISTING_OPTIONS]

    def _stdin(self):
        if self._pipe is None or self._pipe.stdin is None:
            raise AssertionError("the index's pipeline starts before tar")
        return self._pipe.stdin

    def __enter__(self) -> IndexStream:
        self._pipe = Pipeline(self.stages, feed=True).__enter__()
        self._drain = threading.Thread(target=self._keep, daemon=True)
        self._drain.start()
        self._stdin().write(file_index.HEADER)
        self._stdin().flush()
        return self

    def _keep(self) -> None:
        try:
            stdout = self._pipe.stdout if self._pipe else None
            for chunk in iter(lambda: stdout.read(256 * 1024), b""):  # type: ignore[union-attr]
                self.body.write(chunk)
        except BaseException as exc:  # finish() raises it in the caller's thread
            self._failure = exc

    def finish(self, snapshot: str) -> None:
        """Add the snapshot tar wrote, end the stream and check every stage's exit status."""
        stdin = self._stdin()
        try:
            stdin.write(file_index.SNAPSHOT_MARKER)
            with open(snapshot, "rb") as handle:
                for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                    stdin.write(chunk)
            stdin.close()
        except BrokenPipeError:
            pass  # a stage died: its exit status says how, below
        if self._drain is not None:
            self._drain.join()
        if self._pipe is not None:
            self._pipe.finish()
        if self._failure is not None:
            raise self._failure
        self.body.seek(0)

    def failure(self) -> BackupError | None:
        """When the data's pipe failed: the index's own failure, if it is the cause (tar dies of a
        broken pipe when the index's compressor or gpg dies under it), else None."""
        if self._pipe is None:
            return None
        with contextlib.suppress(OSError):
            self._stdin().close()
        try:
            self._pipe.finish()
        except BackupError as exc:
            return exc
        return None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self._pipe is not None:
            self._pipe.kill()
            if self._drain is not None:
                self._drain.join()
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.body.close()
