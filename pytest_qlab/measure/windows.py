"""Throughput windows from fio's cumulative status documents, for any run watched with a status
interval: the sustained runs, the show-pattern phases, the sequential read and write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.fio.results import FioResult
from pytest_qlab.measure.throttle import ThroughputWindow

Direction = Literal["read", "write"]


TAIL_WINDOW_FRACTION = 0.5
"""A last window shorter than half a window (fio's final report) is too short to judge."""


def progress_point(status: FioResult, direction: Direction) -> tuple[float, int]:
    """(seconds into the job, bytes moved) of one status document, all its jobs summed.

    fio's per-direction runtime is sampled with the byte count, so it is the right clock for
    deltas; the document's wall-clock timestamp is not.
    """
    stats = [getattr(job, direction) for job in status.jobs]
    elapsed_ms = max((direction_stats.runtime_ms for direction_stats in stats), default=0)
    return elapsed_ms / 1000, sum(direction_stats.io_bytes for direction_stats in stats)


@dataclass(frozen=True)
class SustainedProgress:
    """What a live progress line shows, after each status document."""

    direction: Direction
    elapsed_s: float
    planned_s: float
    io_bytes: int
    mb_s_now: float
    """Throughput since the previous status document."""
    window: ThroughputWindow | None
    """The window this document closed, if it closed one."""
    windows: int

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.planned_s - self.elapsed_s)


class WindowBuilder:
    """Turns cumulative status documents into contiguous throughput windows.

    A window closes at the first document at least a window (less half a status interval, for
    timer jitter) after it opened, so each window is a whole number of status intervals.
    Holds only the windows (720 for two hours of 10 s windows), not the documents.
    """

    def __init__(self, direction: Direction, window_s: float, status_interval_s: float) -> None:
        self.direction: Direction = direction
        self.window_s = window_s
        self._close_after_s = max(window_s - status_interval_s / 2, window_s / 2)
        self._opened: tuple[float, int] = (0.0, 0)
        self._last: tuple[float, int] = (0.0, 0)
        self._mb_s_now = 0.0
        self.windows: list[ThroughputWindow] = []

    @property
    def elapsed_s(self) -> float:
        return self._last[0]

    @property
    def io_bytes(self) -> int:
        return self._last[1]

    def add(self, status: FioResult) -> ThroughputWindow | None:
        """Take one document; returns the window it closed, if any."""
        elapsed_s, io_bytes = progress_point(status, self.direction)
        last_s, last_bytes = self._last
        if elapsed_s <= last_s or io_bytes < last_bytes:
            return None  # nothing new (or fio's final report repeating the last status)
        self._mb_s_now = (io_bytes - last_bytes) / (elapsed_s - last_s) / BYTES_PER_MB
        self._last = (elapsed_s, io_bytes)
        opened_s, opened_bytes = self._opened
        if elapsed_s - opened_s < self._close_after_s:
            return None
        window = ThroughputWindow.between(opened_s, elapsed_s, io_bytes - opened_bytes)
        self.windows.append(window)
        self._opened = self._last
        return window

    def finish(self) -> ThroughputWindow | None:
        """Close the last, partial window if it is long enough to mean something."""
        opened_s, opened_bytes = self._opened
        last_s, last_bytes = self._last
        if last_s - opened_s < TAIL_WINDOW_FRACTION * self.window_s:
            return None
        window = ThroughputWindow.between(opened_s, last_s, last_bytes - opened_bytes)
        self.windows.append(window)
        self._opened = self._last
        return window

    def progress(self, planned_s: float, window: ThroughputWindow | None) -> SustainedProgress:
        return SustainedProgress(
            direction=self.direction,
            elapsed_s=self.elapsed_s,
            planned_s=planned_s,
            io_bytes=self.io_bytes,
            mb_s_now=self._mb_s_now,
            window=window,
            windows=len(self.windows),
        )
