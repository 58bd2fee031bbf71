"""The thermal monitor: a daemon thread that reads one backend every `interval_s` while a long
test runs, in bounded memory, and answers with a summary and a plot-sized series.

Cost: one read per interval (a file read for hwmon, one short process for smartctl/notifyutil)
and an `Event.wait` in between, so the thread sleeps rather than polls; `cpu_time_s` says what
the thread itself used. `stop` returns within `stop_timeout_s` even when a read hangs; a read
that finishes after that is dropped, so a summary taken after `stop` never changes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import Runner
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.thermal.backend import ThermalBackend
from pytest_qlab.thermal.model import ThermalPoint, ThermalReport, ThermalSample, ThermalSummary
from pytest_qlab.thermal.recorder import (
    DEFAULT_CAPACITY,
    DEFAULT_SERIES_POINTS,
    SampleStore,
    SummaryTotals,
    downsample,
)
from pytest_qlab.thermal.selection import select_backend

DEFAULT_INTERVAL_S = 5.0
"""Drive temperatures move over tens of seconds; 5 s catches a rise well before it matters."""
STOP_TIMEOUT_S = 2.0


class ThermalMonitor:
    """Watch one backend: `with ThermalMonitor.for_drive(drive) as monitor: ...`.
    Without a backend (nothing readable) it starts no thread and reports `unavailable_reason`."""

    def __init__(
        self,
        backend: ThermalBackend | None,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        capacity: int = DEFAULT_CAPACITY,
        temperature_reason: str | None = None,
        unavailable_reason: str | None = None,
        stop_timeout_s: float = STOP_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (interval_s > 0 and math.isfinite(interval_s)):
            raise ValueError(f"interval_s must be a positive number of seconds, not {interval_s}")
        if backend is None and unavailable_reason is None:
            raise ValueError("a monitor without a backend needs the reason nothing is readable")
        self.backend = backend
        self.interval_s = interval_s
        self.stop_timeout_s = stop_timeout_s
        self._temperature_reason = temperature_reason
        self._unavailable_reason = unavailable_reason if backend is None else None
        self._clock = clock
        self._store = SampleStore(capacity)
        self._totals = SummaryTotals()
        self._latest: ThermalSample | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._started_s: float | None = None
        self._stopped_s: float | None = None
        self._cpu_time_s = 0.0

    @classmethod
    def for_drive(
        cls,
        drive: DriveInfo,
        *,
        platform: str | None = None,
        run: Runner = commands.run,
        is_root: bool | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        capacity: int = DEFAULT_CAPACITY,
    ) -> ThermalMonitor:
        """Pick the backend for `drive` now (runs each candidate once; see selection.py)."""
        selection = select_backend(drive, platform=platform, run=run, is_root=is_root)
        return cls(
            selection.backend,
            interval_s=interval_s,
            capacity=capacity,
            temperature_reason=selection.temperature_reason,
            unavailable_reason=selection.unavailable_reason,
        )

    # --- what the caller asks before, during and after -----------------------------------

    @property
    def unavailable_reason(self) -> str | None:
        """Why nothing can be read; None when a backend is watched."""
        return self._unavailable_reason

    @property
    def temperature_reason(self) -> str | None:
        """Why there is no drive temperature (for `pytest.skip`); None when one is read."""
        if self.backend is not None and self.backend.measures == "drive temperature":
            return None
        return self._temperature_reason or self._unavailable_reason

    @property
    def backend_name(self) -> str | None:
        return self.backend.name if self.backend is not None else None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._closed

    @property
    def cpu_time_s(self) -> float:
        """CPU time the sampling thread has used (programs it runs are not included)."""
        return self._cpu_time_s

    def elapsed_s(self) -> float:
        """Seconds since `start` (frozen at `stop`): the time base of the samples."""
        if self._started_s is None:
            return 0.0
        end = self._stopped_s if self._stopped_s is not None else self._clock()
        return end - self._started_s

    def latest(self) -> ThermalSample | None:
        with self._lock:
            return self._latest

    def samples(self) -> list[ThermalSample]:
        """The stored samples, oldest first (thinned on long runs: see recorder.py)."""
        with self._lock:
            return self._store.samples()

    def summary(self, since_s: float | None = None, until_s: float | None = None) -> ThermalSummary:
        """Exact figures over the whole run; with `since_s`/`until_s` (monitor seconds, e.g.
        one phase) figures over that window of the stored samples (`exact` False if thinned)."""
        with self._lock:
            if since_s is None and until_s is None:
                return self._summary_of(self._totals, exact=True)
            window = SummaryTotals()
            low = -math.inf if since_s is None else since_s
            high = math.inf if until_s is None else until_s
            for sample in self._store.samples():
                if low <= sample.elapsed_s <= high:
                    window.add(sample)
            return self._summary_of(window, exact=self._store.stride == 1)

    def _summary_of(self, totals: SummaryTotals, *, exact: bool) -> ThermalSummary:
        backend = self.backend
        return totals.summary(
            backend=backend.name if backend is not None else None,
            measures=backend.measures if backend is not None else None,
            interval_s=self.interval_s,
            temperature_reason=self.temperature_reason,
            unavailable_reason=self._unavailable_reason,
            exact=exact,
        )

    def series(self, max_points: int = DEFAULT_SERIES_POINTS) -> list[ThermalPoint]:
        return [ThermalPoint.of(sample) for sample in downsample(self.samples(), max_points)]

    def report(self, max_points: int = DEFAULT_SERIES_POINTS) -> ThermalReport:
        return ThermalReport(summary=self.summary(), series=self.series(max_points))

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._started_s is not None:
            raise RuntimeError("a thermal monitor is started once; make a new one per run")
        self._started_s = self._clock()
        if self.backend is None:
            return
        self._thread = threading.Thread(target=self._run, name="qlab-thermal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling; returns within `stop_timeout_s` even if a read hangs."""
        if self._started_s is None or self._stopped_s is not None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.stop_timeout_s)
        with self._lock:
            self._closed = True
        self._stopped_s = self._clock()

    def __enter__(self) -> ThermalMonitor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        cpu_start_s = time.thread_time()
        assert self._started_s is not None
        due_s = self._started_s
        while not self._stop.is_set():
            self._sample_once()
            self._cpu_time_s = time.thread_time() - cpu_start_s
            due_s += self.interval_s
            now_s = self._clock()
            if due_s < now_s:  # a slow read: skip the missed slots instead of catching up
                due_s += math.ceil((now_s - due_s) / self.interval_s) * self.interval_s
            if self._stop.wait(due_s - now_s):
                break

    def _sample_once(self) -> None:
        assert self.backend is not None
        assert self._started_s is not None
        elapsed_s = self._clock() - self._started_s
        problem = None
        try:
            reading = self.backend.read()
        except Exception as exc:  # a broken source must never end the qualification run
            reading, problem = None, f"{self.backend.name} raised {type(exc).__name__}: {exc}"
        with self._lock:
            if self._closed:
                return
            if reading is None:
                self._totals.failed(problem or self.backend.problem or "no reading")
                return
            sample = replace(reading, elapsed_s=elapsed_s)
            self._latest = sample
            self._store.add(sample)
            self._totals.add(sample)
