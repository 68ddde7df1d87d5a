import signal
import threading

import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.held_signals import signals_held


class Stop(Exception):
    pass


@pytest.fixture
def heard():
    """SIGUSR1's handler for the test: it notes the signal, then raises Stop."""
    noted = []

    def handler(number, _frame):
        noted.append(number)
        raise Stop

    previous = signal.signal(signal.SIGUSR1, handler)
    yield noted, handler
    signal.signal(signal.SIGUSR1, previous)


def test_a_signal_arriving_in_the_block_is_handled_as_it_ends(heard):
    noted, handler = heard
    finished = []
    with pytest.raises(Stop), signals_held(signal.SIGUSR1):
        signal.raise_signal(signal.SIGUSR1)
        finished.append("block")
    assert finished == ["block"] and noted == [signal.SIGUSR1]
    assert signal.getsignal(signal.SIGUSR1) is handler


def test_without_a_signal_the_block_runs_and_the_handler_stays(heard):
    noted, handler = heard
    with signals_held(signal.SIGUSR1):
        pass
    assert noted == [] and signal.getsignal(signal.SIGUSR1) is handler


def test_outside_the_main_thread_nothing_is_held(heard):
    _noted, handler = heard
    seen = []

    def other():
        with signals_held(signal.SIGUSR1):
            seen.append(signal.getsignal(signal.SIGUSR1))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [handler]
