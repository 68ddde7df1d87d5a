"""Every pipe of a pipeline gets 1 MiB of buffer, and one the system refuses to widen still works."""

import fcntl
import os
import threading

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils import pipeline
from ansible_collections.s3napback.s3napback.plugins.module_utils.pipeline import PIPE_BYTES, Pipeline, Stage

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
DATA = os.urandom(3 * PIPE_BYTES + 12345)


def _size(fd: int) -> int:
    return fcntl.fcntl(fd, F_GETPIPE_SZ)


def _through(pipe: Pipeline) -> bytes:
    """Feed DATA in from a thread (the pipes hold less than DATA) and read everything out."""

    def feed():
        pipe.stdin.write(DATA)
        pipe.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    out = pipe.stdout.read()
    writer.join()
    return out


def test_every_pipe_of_a_pipeline_holds_a_mebibyte():
    with Pipeline([Stage("first", ["cat"]), Stage("second", ["cat"])], feed=True) as pipe:
        second = pipe._running[1].process.pid
        between = os.open(f"/proc/{second}/fd/0", os.O_RDONLY | os.O_NONBLOCK)  # the pipe first -> second
        try:
            sizes = [_size(pipe.stdin.fileno()), _size(between), _size(pipe.stdout.fileno())]
        finally:
            os.close(between)
        assert _through(pipe) == DATA
        pipe.finish()
    assert sizes == [PIPE_BYTES] * 3


def test_a_pipe_the_system_will_not_widen_keeps_its_size_and_works(monkeypatch):
    real = fcntl.fcntl

    def refuse(fd, command, *args):
        if command == pipeline.F_SETPIPE_SZ:
            raise PermissionError(1, "Operation not permitted")  # a user past fs.pipe-user-pages-soft
        return real(fd, command, *args)

    monkeypatch.setattr(pipeline.fcntl, "fcntl", refuse)
    with Pipeline([Stage("first", ["cat"]), Stage("second", ["cat"])], feed=True) as pipe:
        size = _size(pipe.stdout.fileno())
        assert _through(pipe) == DATA
        pipe.finish()
    assert size < PIPE_BYTES


@pytest.mark.parametrize("collect", [True, False])
def test_a_pipeline_without_a_pipe_at_an_end_starts(collect):
    with Pipeline([Stage("true", ["true"])], collect=collect) as pipe:
        assert (pipe.stdout is not None) == collect
        pipe.finish()
