"""Stand-ins for what the modes take besides fio: a progress sink that keeps its lines, and a
drive sensor that always reads the same temperature, so the modes' progress and thermal
correlation are asserted in-process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pytest_qlab.core.progress import LiveProgress, ProgressFactory
from pytest_qlab.thermal import Measure, ThermalMonitor, ThermalSample


@dataclass
class LineSink:
    """A log-like progress sink: every line written, in order."""

    lines: list[str] = field(default_factory=list)
    tty: bool = False

    def rewrite(self, text: str) -> None:
        self.lines.append(text)

    def end_line(self) -> None:
        """Nothing to end: every line is kept whole."""

    def line(self, text: str) -> None:
        self.lines.append(text)


def progress_into(sink: LineSink) -> ProgressFactory:
    """Every update becomes a line (an interval far below any clock step)."""

    def start(what: str, planned_s: float) -> LiveProgress:
        del what, planned_s
        return LiveProgress(sink, interval_s=1e-9)

    return start


@dataclass
class FixedDriveSensor:
    """A drive sensor reading `temperature_c` every time."""

    temperature_c: float
    name: str = "test:fixed"
    measures: Measure = "drive temperature"
    problem: str | None = None

    def read(self) -> ThermalSample:
        return ThermalSample(temperature_c=self.temperature_c)


FIRST_SAMPLE_WAIT_S = 5.0


def started_monitor(temperature_c: float) -> ThermalMonitor:
    """A started monitor holding exactly one sample at 0 s: its thread samples at once, then
    sleeps an hour; the frozen clock keeps every later `elapsed_s` at 0 as well."""
    monitor = ThermalMonitor(
        FixedDriveSensor(temperature_c), interval_s=3600.0, clock=lambda: 100.0
    )
    monitor.start()
    deadline = time.monotonic() + FIRST_SAMPLE_WAIT_S
    while monitor.latest() is None:
        if time.monotonic() > deadline:
            monitor.stop()
            raise AssertionError("the thermal monitor took no first sample")
        time.sleep(0.005)
    return monitor


def no_sensor() -> ThermalMonitor:
    """A monitor with nothing to read, as on a virtual disk."""
    return ThermalMonitor(None, unavailable_reason="no sensor in a unit test")
