"""Live progress for long tests: one line per update on a terminal (rewritten in place), one
line per interval in a log, so a two-hour run shows it is alive without flooding CI output.

The formatting and cadence are plain Python with an injectable clock; `TerminalSink` adapts
pytest's terminal reporter, writing past output capture so the line shows during the test.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

FULL_SCALE_INTERVAL_S = 60.0
"""One line a minute keeps a two-hour CI log readable."""
MINIMUM_INTERVAL_S = 1.0
"""fio writes one status document a second; more lines would repeat the same figures."""
TTY_REFRESH_S = 0.5
"""An in-place line costs nothing to rewrite, but twice a second is as fast as anyone reads."""


def default_interval_s(time_scale: float) -> float:
    """A minute at full scale, compressed like every other duration, never below a second."""
    return max(MINIMUM_INTERVAL_S, FULL_SCALE_INTERVAL_S * time_scale)


def format_duration(seconds: float) -> str:
    """`h:mm:ss` or `m:ss`: what a person reads at a glance on a progress line."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class ProgressStatus:
    """What one progress line says; None means not known at this moment."""

    what: str
    """The phase or test, e.g. "sustained read [Show]"."""
    elapsed_s: float
    planned_s: float
    mb_s_now: float | None = None
    dropped_frames: int | None = None
    temperature: str | None = None
    """The thermal monitor's latest reading in a few words ("41 °C")."""

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.planned_s - self.elapsed_s)

    def line(self) -> str:
        parts = [
            f"qlab {self.what}: {format_duration(self.elapsed_s)} of "
            f"{format_duration(self.planned_s)}, {format_duration(self.remaining_s)} left"
        ]
        if self.mb_s_now is not None:
            parts.append(f"{self.mb_s_now:.1f} MB/s now")
        if self.dropped_frames is not None:
            parts.append(f"{self.dropped_frames} dropped frames")
        if self.temperature is not None:
            parts.append(self.temperature)
        return ", ".join(parts)


class ProgressSink(Protocol):
    """Where lines go: `rewrite` replaces the current line (a terminal), `line` appends one."""

    @property
    def tty(self) -> bool: ...

    def rewrite(self, text: str) -> None: ...

    def end_line(self) -> None: ...

    def line(self, text: str) -> None: ...


class LiveProgress:
    """Cadence: on a terminal every update (at most every `TTY_REFRESH_S`) rewrites one line;
    otherwise the first update and then one per `interval_s` get a line each. `finish` always
    writes the final state, so a log ends with what the test reached."""

    def __init__(
        self,
        sink: ProgressSink,
        *,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (interval_s > 0 and math.isfinite(interval_s)):
            raise ValueError(f"the progress interval must be a positive number, not {interval_s}")
        self.sink = sink
        self.interval_s = interval_s
        self._clock = clock
        self._last_written_s: float | None = None
        self._latest: ProgressStatus | None = None
        self._written: ProgressStatus | None = None
        self._on_screen = False
        self._finished = False

    def update(self, status: ProgressStatus) -> None:
        if self._finished:
            return
        self._latest = status
        now_s = self._clock()
        every_s = TTY_REFRESH_S if self.sink.tty else self.interval_s
        if self._last_written_s is not None and now_s - self._last_written_s < every_s:
            return
        self._write(status)
        self._last_written_s = now_s

    def finish(self, status: ProgressStatus | None = None) -> None:
        """The last line: `status` if given, else the latest update unless it is on show."""
        if self._finished:
            return
        self._finished = True
        final = status or self._latest
        if final is not None and final is not self._written:
            self._write(final)
        if self._on_screen:
            self.sink.end_line()
            self._on_screen = False

    def _write(self, status: ProgressStatus) -> None:
        self._written = status
        if self.sink.tty:
            self.sink.rewrite(status.line())
            self._on_screen = True
        else:
            self.sink.line(status.line())


class _TerminalReporter(Protocol):
    def isatty(self) -> bool: ...

    def ensure_newline(self) -> None: ...

    def write(self, content: str, *, flush: bool = False, **markup: bool) -> None: ...

    def write_line(self, line: str, **markup: bool) -> None: ...

    def rewrite(self, line: str, **markup: bool) -> None: ...


class TerminalSink:
    """pytest's terminal reporter, with capture suspended around each write: the test's own
    output stays captured, the progress line reaches the terminal or the CI log."""

    def __init__(self, reporter: _TerminalReporter, capture_manager: Any | None = None) -> None:
        self.reporter = reporter
        self.capture_manager = capture_manager
        self._started = False

    @property
    def tty(self) -> bool:
        return bool(self.reporter.isatty())

    @contextlib.contextmanager
    def _uncaptured(self) -> Iterator[None]:
        manager = self.capture_manager
        if manager is None or not hasattr(manager, "global_and_fixture_disabled"):
            yield
            return
        with manager.global_and_fixture_disabled():
            yield

    def rewrite(self, text: str) -> None:
        with self._uncaptured():
            if not self._started:  # leave the test's name line alone
                self.reporter.ensure_newline()
                self._started = True
            self.reporter.rewrite(text, erase=True)
            self.reporter.write("", flush=True)

    def end_line(self) -> None:
        with self._uncaptured():
            self.reporter.write("\n", flush=True)

    def line(self, text: str) -> None:
        with self._uncaptured():
            self.reporter.write_line(text)
            self.reporter.write("", flush=True)


ProgressFactory = Callable[[str, float], LiveProgress]
"""(what, planned_s) -> a LiveProgress for one test or phase."""


class _SilentSink:
    tty = False

    def rewrite(self, text: str) -> None:
        del text

    def end_line(self) -> None:
        pass

    def line(self, text: str) -> None:
        del text


def silent_progress(what: str, planned_s: float) -> LiveProgress:
    """For runs without a terminal reporter (`-p no:terminal`) and for the core's own callers."""
    del what, planned_s
    return LiveProgress(_SilentSink(), interval_s=FULL_SCALE_INTERVAL_S)
