# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stopping cleanly when told to: SIGTERM or SIGINT become ``Terminated``, raised in the main
thread, which unwinds like Ctrl-C so that every ``with`` on the way kills the pipeline, aborts the
upload, removes the work directory and leaves the state as it was.

A module has one more way to be told. Ansible's task ``timeout`` does not signal it: the worker
that waited for it gives up and exits (ansible-core 2.19 over the local connection), and the
module would run on, unheard, holding the set's lock, until its backup ended. Its stdout is the
pipe Ansible reads its result from; when nobody reads it any more, the kernel reports an error on
our end of it, and a thread that waits for that sends SIGTERM to its own process.
"""

from __future__ import annotations

import os
import select
import signal
import stat
import threading

from .errors import Terminated

UNHEARD = "Ansible stopped waiting for the result (the task's timeout?)"
_unheard = threading.Event()
_handled: list[int] = []


def _terminate(signum, _frame) -> None:
    # Once only: a second signal (systemd signals the whole control group, a parallel run's parent
    # and Ansible's worker forward it too) must not interrupt the unwinding that aborts the upload.
    for handled in _handled:
        signal.signal(handled, signal.SIG_IGN)
    raise Terminated(UNHEARD if _unheard.is_set() else f"stopped by {signal.Signals(signum).name}")


def stop_on_signals(*signums: int) -> None:
    """Raise ``Terminated`` in the main thread on the first of ``signums`` (SIGTERM by default),
    and ignore them all from then on."""
    for signum in signums or (signal.SIGTERM,):
        signal.signal(signum, _terminate)
        _handled.append(signum)


def stop_when_unheard(fd: int = 1) -> bool:
    """Stop this process as on SIGTERM once the pipe ``fd`` has no reader left. Only a pipe can
    tell; False (and nothing watched) for a file or a terminal."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
    except OSError:
        return False
    threading.Thread(target=_watch, args=(fd,), name="s3napback-unheard", daemon=True).start()
    return True


def _watch(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, 0)  # no event asked for: POLLERR comes anyway, once the pipe has no reader
    while True:
        for _fd, events in poller.poll():
            if events & select.POLLNVAL:  # the descriptor was closed here: nothing left to watch
                return
            if events & select.POLLERR:
                _unheard.set()
                os.kill(os.getpid(), signal.SIGTERM)
                return
