"""What the thermal monitor records: one `ThermalSample` per reading (a slotted dataclass, since
thousands are kept), and the pydantic models that go into the reports.

A backend fills only what it reads: a drive sensor gives `temperature_c` and the drive's own
limits, macOS's thermal pressure gives `pressure_level`, `pmset -g therm` gives
`cpu_speed_limit_pct`. Everything else stays None, meaning "not read", never "fine".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PressureLevel = Literal["nominal", "moderate", "heavy", "trapping", "sleeping"]
PRESSURE_LEVELS: tuple[PressureLevel, ...] = (
    "nominal",
    "moderate",
    "heavy",
    "trapping",
    "sleeping",
)
"""macOS thermal pressure, mildest first; the index is the level OSThermalNotification.h gives."""
COUNTER_NAMES = (
    "warning_temp_time_min",
    "critical_comp_time_min",
    "thermal_transitions",
    "thermal_throttle_time_s",
)
"""NVMe lifetime thermal counters: any increase during a run means the drive ran hot or
throttled itself, even between two samples."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ThermalSample:
    """One reading. Backends leave `elapsed_s` at 0; the monitor stamps the seconds since it
    started."""

    elapsed_s: float = 0.0
    temperature_c: float | None = None
    temperature_warning_c: float | None = None
    """The drive's own warning limit (NVMe WCTEMP, hwmon tempN_max), where known."""
    temperature_critical_c: float | None = None
    """The drive's own critical limit (NVMe CCTEMP, hwmon tempN_crit), where known."""
    pressure_level: PressureLevel | None = None
    cpu_speed_limit_pct: int | None = None
    """macOS CPU_Speed_Limit: 100 = not throttled."""
    warning_temp_time_min: int | None = None
    critical_comp_time_min: int | None = None
    thermal_transitions: int | None = None
    thermal_throttle_time_s: int | None = None

    @property
    def at_or_above_warning(self) -> bool:
        return _at_or_above(self.temperature_c, self.temperature_warning_c)

    @property
    def at_or_above_critical(self) -> bool:
        """The drive at or above its own critical limit: it will throttle hard or shut down.
        False when either figure is unknown."""
        return _at_or_above(self.temperature_c, self.temperature_critical_c)

    def severity(self) -> tuple[float, float, float]:
        """Orders samples by how hot they say things are, so down-sampling keeps the peaks:
        temperature first, then pressure level, then a lower CPU speed limit."""
        return (
            self.temperature_c if self.temperature_c is not None else -math.inf,
            PRESSURE_LEVELS.index(self.pressure_level) if self.pressure_level else -1.0,
            -self.cpu_speed_limit_pct if self.cpu_speed_limit_pct is not None else -math.inf,
        )

    def counters(self) -> dict[str, int]:
        found = {name: getattr(self, name) for name in COUNTER_NAMES}
        return {name: value for name, value in found.items() if value is not None}

    def label(self) -> str:
        """A few words for a progress line: "41 °C", "thermal pressure moderate"."""
        parts = []
        if self.temperature_c is not None:
            parts.append(f"{self.temperature_c:.0f} °C")
        if self.pressure_level is not None:
            parts.append(f"thermal pressure {self.pressure_level}")
        if self.cpu_speed_limit_pct is not None:
            parts.append(f"CPU speed limit {self.cpu_speed_limit_pct} %")
        return ", ".join(parts) or "no reading"


def _at_or_above(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value >= limit


class ThermalPoint(BaseModel):
    """One point of the down-sampled series, for plots and the JSON report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    elapsed_s: float = Field(ge=0)
    temperature_c: float | None = None
    pressure_level: PressureLevel | None = None
    cpu_speed_limit_pct: int | None = None

    @classmethod
    def of(cls, sample: ThermalSample) -> ThermalPoint:
        return cls(
            elapsed_s=round(sample.elapsed_s, 3),
            temperature_c=sample.temperature_c,
            pressure_level=sample.pressure_level,
            cpu_speed_limit_pct=sample.cpu_speed_limit_pct,
        )


class ThermalSummary(BaseModel):
    """What a test asserts on and the report shows. Every "unknown" (None) figure has a reason:
    `temperature_reason` is set whenever `temperature_max_c` is None."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str | None
    """What was polled: "hwmon:/sys/.../temp1_input", "smartctl:/dev/disk0",
    "notifyutil:com.apple.system.thermalpressurelevel", ..."""
    measures: str | None
    """"drive temperature", "thermal pressure" or "CPU speed limit"."""
    unavailable_reason: str | None = None
    """Set when nothing at all could be read: why, in one sentence."""
    temperature_reason: str | None = None
    """Why there is no drive temperature, for temperature-based assertions to skip with."""
    interval_s: float = Field(gt=0)
    exact: bool = True
    """False for a window of a run long enough that the stored series was thinned."""
    duration_s: float = Field(default=0.0, ge=0)
    """From the first to the last sample."""
    samples: int = Field(default=0, ge=0)
    failed_reads: int = Field(default=0, ge=0)
    last_problem: str | None = None
    """Why the latest failed read failed."""
    temperature_min_c: float | None = None
    temperature_max_c: float | None = None
    temperature_last_c: float | None = None
    temperature_warning_c: float | None = None
    temperature_critical_c: float | None = None
    time_at_or_above_warning_s: float | None = None
    """None when no warning limit is known. Each sample at or above it counts the time since
    the sample before it, so the figure is within one interval of the truth."""
    time_at_or_above_critical_s: float | None = None
    first_critical_elapsed_s: float | None = None
    critical_temperature_c: float | None = None
    """The temperature of the first sample at or above the critical limit."""
    pressure_level_max: PressureLevel | None = None
    pressure_level_last: PressureLevel | None = None
    time_under_pressure_s: float | None = None
    """Time above "nominal" thermal pressure; None unless pressure is what is read."""
    cpu_speed_limit_min_pct: int | None = None
    cpu_speed_limit_last_pct: int | None = None
    counter_increases: dict[str, int] = Field(default_factory=dict)
    """NVMe thermal counters that rose between the first and the last reading."""

    @property
    def at_or_above_critical(self) -> bool:
        return self.first_critical_elapsed_s is not None

    def critical_failure(self) -> str | None:
        """The failure message when the drive reached its critical limit, else None."""
        if self.first_critical_elapsed_s is None or self.critical_temperature_c is None:
            return None
        limit = self.temperature_critical_c
        limit_text = f" of {limit:.0f} °C" if limit is not None else ""
        peak_c = self.temperature_max_c or self.critical_temperature_c
        above_s = self.time_at_or_above_critical_s or 0.0
        return (
            f"the drive reached {self.critical_temperature_c:.0f} °C at"
            f" {self.first_critical_elapsed_s:.0f} s, at or above its critical limit{limit_text}"
            f" (peak {peak_c:.0f} °C, {above_s:.0f} s at or above it): a drive that hot"
            " throttles hard or shuts down; give it airflow or use a drive that stays cooler"
        )

    def describe(self) -> str:
        """One line for the terminal and the report: the figures read, or why none were."""
        if self.unavailable_reason is not None:
            return f"no thermal readings: {self.unavailable_reason}"
        parts = []
        if self.temperature_max_c is not None:
            limits = ", ".join(
                f"{label} {value:.0f} °C"
                for label, value in (
                    ("warning", self.temperature_warning_c),
                    ("critical", self.temperature_critical_c),
                )
                if value is not None
            )
            parts.append(
                f"drive {self.temperature_min_c:.0f}-{self.temperature_max_c:.0f} °C,"
                f" last {self.temperature_last_c:.0f} °C" + (f" ({limits})" if limits else "")
            )
            if self.time_at_or_above_warning_s:
                parts.append(f"{self.time_at_or_above_warning_s:.0f} s at or above warning")
        elif self.temperature_reason is not None:
            parts.append(f"no drive temperature ({self.temperature_reason})")
        if self.pressure_level_max is not None:
            parts.append(f"thermal pressure up to {self.pressure_level_max}")
        if self.cpu_speed_limit_min_pct is not None:
            parts.append(f"CPU speed limit down to {self.cpu_speed_limit_min_pct} %")
        for name, increase in self.counter_increases.items():
            parts.append(f"{name} +{increase}")
        if self.failed_reads:
            parts.append(f"{self.failed_reads} failed reads (last: {self.last_problem})")
        return "; ".join(parts)


class ThermalReport(BaseModel):
    """The monitor's contribution to the JSON report: summary plus a series for plots."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: ThermalSummary
    series: list[ThermalPoint] = Field(default_factory=list)
    """At most the requested number of points; each the hottest of the samples it stands for."""
