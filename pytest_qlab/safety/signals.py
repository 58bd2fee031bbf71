"""Turn SIGTERM and SIGHUP into an interruption, so every exit path runs the same cleanup."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


class TerminatedError(KeyboardInterrupt):
    """The process was asked to stop by a signal other than Ctrl-C."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"stopped by {signal_name}")
        self.signal_name = signal_name


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    raise TerminatedError(signal.Signals(signum).name)


def install_terminate_handlers() -> Callable[[], None]:
    """Make SIGTERM/SIGHUP raise TerminatedError; returns the function that restores the old
    handlers. Does nothing outside the main thread, where Python cannot set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in wanted}

    def restore() -> None:
        for signum, handler in previous.items():
            # None: the old handler was installed outside Python; the default is the closest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    return restore


def interruption_name(exc: BaseException) -> str:
    """The signal that caused an interruption, for messages and reports."""
    return getattr(exc, "signal_name", "SIGINT (Ctrl-C)")
