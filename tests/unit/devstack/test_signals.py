"""``devstack up`` stops everything even when Ctrl-C is pressed again while it stops."""

from __future__ import annotations

import os
import signal

from devstack._process import signals_ignored


def test_a_signal_sent_inside_the_block_is_ignored_and_the_handler_comes_back_after() -> None:
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGUSR1, note)
    try:
        with signals_ignored(signal.SIGUSR1):
            os.kill(os.getpid(), signal.SIGUSR1)  # delivered at once to this thread: ignored
        assert received == []
        os.kill(os.getpid(), signal.SIGUSR1)
        assert received == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_ctrl_c_inside_the_block_raises_no_keyboard_interrupt() -> None:
    before = signal.getsignal(signal.SIGINT)
    with signals_ignored(signal.SIGINT):
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) == before
