from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from pytest_qlab.safety.signals import (
    TerminatedError,
    install_terminate_handlers,
    interruption_name,
)


def _signal_self(signum: signal.Signals) -> None:
    os.kill(os.getpid(), signum)
    # The Python-level handler runs at the next bytecode boundary; sleeping gives it one.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.01)


def test_sigterm_raises_terminated_error_and_restore_puts_back_the_handler() -> None:
    before = signal.getsignal(signal.SIGTERM)
    restore = install_terminate_handlers()
    try:
        assert signal.getsignal(signal.SIGTERM) is not before
        with pytest.raises(TerminatedError) as caught:
            _signal_self(signal.SIGTERM)
    finally:
        restore()

    assert isinstance(caught.value, KeyboardInterrupt)
    assert caught.value.signal_name == "SIGTERM"
    assert str(caught.value) == "stopped by SIGTERM"
    assert interruption_name(caught.value) == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_is_handled_too() -> None:
    before = signal.getsignal(signal.SIGHUP)
    restore = install_terminate_handlers()
    try:
        with pytest.raises(TerminatedError) as caught:
            _signal_self(signal.SIGHUP)
    finally:
        restore()

    assert caught.value.signal_name == "SIGHUP"
    assert signal.getsignal(signal.SIGHUP) == before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    before = signal.getsignal(signal.SIGTERM)
    restores = []
    worker = threading.Thread(target=lambda: restores.append(install_terminate_handlers()))
    worker.start()
    worker.join()

    assert signal.getsignal(signal.SIGTERM) == before
    restores[0]()
    assert signal.getsignal(signal.SIGTERM) == before


def test_interruption_name_of_ctrl_c() -> None:
    assert interruption_name(KeyboardInterrupt()) == "SIGINT (Ctrl-C)"
