"""A module stops as on SIGTERM once nobody reads its stdout, as after Ansible's task timeout."""

import os
import subprocess
import sys

from ansible_collections.s3napback.s3napback.plugins.module_utils import termination

# The directory that holds ansible_collections/, as this test imported it (a checkout's symlink
# farm, or ansible-test's tree).
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(termination.__file__), *[os.pardir] * 5))

# Waits for a stop, the way the module waits in its work; says on stderr how it ended.
WAITING = """
import sys, time
from ansible_collections.s3napback.s3napback.plugins.module_utils.errors import Terminated
from ansible_collections.s3napback.s3napback.plugins.module_utils.termination import stop_on_signals, stop_when_unheard
stop_on_signals()
try:
    sys.stderr.write(f"watching={stop_when_unheard()}\\n")
    sys.stderr.flush()
    time.sleep(30)
except Terminated as exc:
    sys.stderr.write(f"terminated: {exc}\\n")
"""


def start(stdout) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": COLLECTIONS}
    return subprocess.Popen([sys.executable, "-c", WAITING], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env)


def test_a_process_whose_stdout_nobody_reads_any_more_stops_as_on_sigterm():
    reading, writing = os.pipe()
    waiting = start(writing)
    os.close(writing)
    assert waiting.stderr.readline() == "watching=True\n"
    os.close(reading)  # the reader goes, as Ansible's worker does after the task's timeout
    _out, err = waiting.communicate(timeout=10)
    assert err == "terminated: Ansible stopped waiting for the result (the task's timeout?)\n"


def test_stdout_that_is_a_file_is_not_watched(tmp_path):
    with open(tmp_path / "out", "w") as handle:
        waiting = start(handle)
        assert waiting.stderr.readline() == "watching=False\n"
        waiting.terminate()
        _out, err = waiting.communicate(timeout=10)
    assert err == "terminated: stopped by SIGTERM\n"
