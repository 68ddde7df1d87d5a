# Copyright: s3napback contributors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Python's cyclic garbage collector, set for a process that lives for one run.

Loading the engine (botocore, urllib3; Ansible's module_utils under a module) makes about 60,000
objects the collector tracks, and the S3 client 35,000 more; all of them live until the process
ends. The collector can free none of them, yet walks them: in the collections that run while they
are made, and once more at exit, when Python collects everything before it hands the memory back
to the system anyway. That was 0.14 s of the 0.67 s a host-command run with nothing due took, and
0.17 s of an incremental of the 1 GB benchmark (docs/BENCHMARKS.md, "The engine's start and exit:
the garbage collector").

``gc.freeze`` moves the objects that exist to a generation no collection walks. What the run makes
afterwards is collected as before, so memory stays bounded however long the backup runs.
"""

from __future__ import annotations

import gc


def pause() -> None:
    """No collections while the engine loads: what loading makes is kept to the end anyway."""
    gc.disable()


def keep_loaded() -> None:
    """Keep what exists now out of every later collection, and collect again from here on."""
    gc.freeze()
    gc.enable()


def skip_exit_collection() -> None:
    """Spare the exit its walk over every object the process still holds.

    Only for the last step of a process whose files are closed and results written: cyclic
    garbage that exists now is never finalized.
    """
    gc.freeze()
