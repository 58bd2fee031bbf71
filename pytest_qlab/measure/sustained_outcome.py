"""A sustained run with what the thermal monitor and the drive's NVMe thermal counters said
about the same minutes: the evidence of the max-sustained mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import JsonValue

from pytest_qlab.core.rows import ReportRow
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.measure.probe import (
    ProbeResult,
)
from pytest_qlab.measure.sustained import (
    SustainedResult,
)
from pytest_qlab.measure.throttle import (
    thin_windows,
)
from pytest_qlab.thermal import ThermalReport, ThermalSample
from pytest_qlab.thermal.model import COUNTER_NAMES

MAX_POINTS = 300
"""Windows and thermal samples kept per test in the reports: enough for a plot of two hours."""


DriveProbe = Callable[[], DriveInfo | None]


def drive_counters(drive: DriveInfo | None) -> dict[str, int]:
    """The NVMe lifetime thermal counters the drive reports; empty when it reports none."""
    if drive is None:
        return {}
    found = {name: getattr(drive, name, None) for name in COUNTER_NAMES}
    return {name: value for name, value in found.items() if isinstance(value, int)}


def counter_increases(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        name: after[name] - before[name]
        for name in before
        if name in after and after[name] > before[name]
    }


def temperature_near(samples: list[ThermalSample], elapsed_s: float) -> float | None:
    """The drive temperature of the sample closest to `elapsed_s` (monitor seconds)."""
    readings = [sample for sample in samples if sample.temperature_c is not None]
    if not readings:
        return None
    nearest = min(readings, key=lambda sample: abs(sample.elapsed_s - elapsed_s))
    return nearest.temperature_c


@dataclass(frozen=True)
class SustainedOutcome:
    """A sustained run with what the thermal monitor and the drive's counters said about it."""

    result: SustainedResult
    thermal: ThermalReport
    temperature_reason: str | None
    """Why there is no drive temperature (temperature assertions skip with it), else None."""
    counters_before: dict[str, int] = field(default_factory=dict)
    counters_after: dict[str, int] = field(default_factory=dict)
    episode_start_temperatures_c: tuple[float | None, ...] = ()
    """The drive temperature when each throttle episode began, where a sensor exists."""
    probe: ProbeResult | None = None
    """How the read's block size and queue depth were chosen; None for the write."""

    @property
    def counter_increases(self) -> dict[str, int]:
        """From re-probing the drive, else from the monitor's own readings."""
        found = counter_increases(self.counters_before, self.counters_after)
        return found or dict(self.thermal.summary.counter_increases)

    def critical_failure(self) -> str | None:
        return self.thermal.summary.critical_failure()

    def counters_sentence(self) -> str | None:
        increases = self.counter_increases
        if not increases:
            return None
        rose = ", ".join(f"{name} +{value}" for name, value in increases.items())
        return f"the drive's NVMe thermal counters rose during the run: {rose}"

    def throttle_message(self) -> str:
        """The throttle sentence, with the temperature at each episode's start and counters."""
        parts = [f"sustained {self.result.direction}: {self.result.throttle.sentence()}"]
        temperatures = [
            f"{episode.start_s:.0f} s: {temperature:.0f} °C"
            for episode, temperature in zip(
                self.result.throttle.episodes, self.episode_start_temperatures_c, strict=False
            )
            if temperature is not None
        ]
        if temperatures:
            parts.append("drive temperature when throttling began: " + ", ".join(temperatures))
        elif self.result.throttle.throttled and self.temperature_reason:
            parts.append(f"no drive temperature to correlate ({self.temperature_reason})")
        counters = self.counters_sentence()
        if counters:
            parts.append(counters)
        return "; ".join(parts)

    def report_row(self) -> ReportRow:
        return self.result.report_row()

    def metadata(self) -> dict[str, JsonValue]:
        data = self.result.metadata()
        data["windows"] = [
            window.metadata() for window in thin_windows(self.result.windows, MAX_POINTS)
        ]
        data["windows_total"] = len(self.result.windows)
        data["thermal"] = self.thermal.model_dump(mode="json")
        data["thermal_summary"] = self.thermal.summary.describe()
        data["nvme_counters_before"] = dict(self.counters_before)
        data["nvme_counters_after"] = dict(self.counters_after)
        data["nvme_counter_increases"] = dict(self.counter_increases)
        data["throttle_episode_start_temperatures_c"] = list(self.episode_start_temperatures_c)
        if self.probe is not None:
            data.update(self.probe.metadata())
            data["probe_summary"] = self.probe.sentence()
        return data
