"""The one exception type every fio failure becomes."""

from __future__ import annotations

import errno as errno_module
import os
from typing import TYPE_CHECKING

from pytest_qlab.core.errors import QlabError

if TYPE_CHECKING:
    from pytest_qlab.fio.results import FioResult, FioRun


class FioError(QlabError):
    """fio could not run or a job failed; carries what a user needs to act on it."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        errno: int | None = None,
        diagnostics: tuple[str, ...] = (),
        result: FioResult | None = None,
    ) -> None:
        super().__init__(message)
        self.result = result
        """What fio measured before the failure, when it wrote a report."""
        self.message = message
        self.exit_code = exit_code
        self.errno = errno
        self.diagnostics = diagnostics

    def __str__(self) -> str:
        parts = [self.message]
        if self.errno:
            name = errno_module.errorcode.get(self.errno, "?")
            parts.append(f"errno {self.errno} {name}: {os.strerror(self.errno)}")
        if self.exit_code is not None:
            parts.append(f"fio exit code {self.exit_code}")
        text = "; ".join(parts)
        if self.diagnostics:
            text += "\n" + "\n".join(f"  {line}" for line in self.diagnostics[-10:])
        return text


class FioNotFoundError(FioError):
    """No usable fio binary; the message says how to install one."""


class FioHangError(FioError):
    """fio moved no data for longer than the watchdog allows and was killed."""

    def __init__(
        self,
        message: str,
        *,
        bound_s: float,
        stalled_since_s: float,
        exit_code: int | None = None,
        diagnostics: tuple[str, ...] = (),
        result: FioResult | None = None,
    ) -> None:
        super().__init__(message, exit_code=exit_code, diagnostics=diagnostics, result=result)
        self.bound_s = bound_s
        self.stalled_since_s = stalled_since_s
        """Seconds into the run when data last moved (0 when it never did)."""


class FioKilledError(FioError):
    """fio was ended by a signal nobody in pytest-qlab sent (a crash, the OOM killer, a user)."""

    def __init__(
        self,
        message: str,
        *,
        signal_name: str,
        exit_code: int | None = None,
        diagnostics: tuple[str, ...] = (),
        result: FioResult | None = None,
    ) -> None:
        super().__init__(message, exit_code=exit_code, diagnostics=diagnostics, result=result)
        self.signal_name = signal_name


class FioInterruptedError(KeyboardInterrupt):
    """The run was stopped by Ctrl-C or SIGTERM; `partial` holds what fio measured until then.

    A KeyboardInterrupt subclass so that pytest treats it as the user's interruption.
    """

    def __init__(self, partial: FioRun | None, signal_name: str) -> None:
        super().__init__(f"fio stopped by {signal_name}")
        self.partial = partial
        self.signal_name = signal_name
