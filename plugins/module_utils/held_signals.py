# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Holding signals over a step that must not be cut in two."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def signals_held(*signums: int) -> Iterator[None]:
    """Run the block with ``signums`` held: one that arrives meanwhile is handled, by the handler
    that was in place, as the block ends."""
    # Only the main thread runs signal handlers, and only it may set them.
    held = [s for s in signums if signal.getsignal(s) is not None]  # None: set outside Python
    if threading.current_thread() is not threading.main_thread() or not held:
        yield
        return
    arrived: list[int] = []
    previous = {s: signal.signal(s, lambda number, _frame: arrived.append(number)) for s in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if arrived:
            signal.raise_signal(arrived[0])
