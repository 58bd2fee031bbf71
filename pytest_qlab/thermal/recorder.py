"""Keeping samples in bounded memory, and summing them up exactly.

`SampleStore` holds at most `capacity` samples, whatever the run's length: when full, it merges
neighbours pairwise (keeping the hotter of each pair) and from then on stores one sample per
2, 4, 8, ... readings. A long run thus keeps its whole time span at a coarser resolution, and
peaks survive thinning. With the default 2048 samples at 5 s, thinning starts after 2.8 h (the
show pattern is 2.5 h); a sample takes about 0.2 kB, so the store stays under 0.5 MB.

`SummaryTotals` sees every reading, so min/max/last, time above the limits and counter
increases are exact even after the store has thinned.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from pytest_qlab.thermal.model import (
    PRESSURE_LEVELS,
    PressureLevel,
    ThermalSample,
    ThermalSummary,
)

DEFAULT_CAPACITY = 2048
DEFAULT_SERIES_POINTS = 300
"""Enough for a plot of a 2.5 h run at 30 s resolution; small in the JSON report."""


def hottest(samples: Iterable[ThermalSample]) -> ThermalSample:
    """The sample saying things are hottest; the earliest of equals."""
    return max(samples, key=ThermalSample.severity)


class SampleStore:
    """At most `capacity` samples (plus the group being filled); see the module docstring."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError(f"capacity must be an even number of at least 2, not {capacity}")
        self.capacity = capacity
        self.stride = 1
        """Readings per stored sample."""
        self._kept: list[ThermalSample] = []
        self._group: ThermalSample | None = None
        self._group_size = 0

    def add(self, sample: ThermalSample) -> None:
        self._group = sample if self._group is None else hottest((self._group, sample))
        self._group_size += 1
        if self._group_size < self.stride:
            return
        self._kept.append(self._group)
        self._group, self._group_size = None, 0
        if len(self._kept) >= self.capacity:
            pairs = zip(self._kept[0::2], self._kept[1::2], strict=True)
            self._kept = [hottest(pair) for pair in pairs]
            self.stride *= 2

    def samples(self) -> list[ThermalSample]:
        """Oldest first, including the hottest of a group not yet complete."""
        pending = [self._group] if self._group is not None else []
        return [*self._kept, *pending]

    def __len__(self) -> int:
        return len(self._kept) + (self._group is not None)


def downsample(samples: Sequence[ThermalSample], max_points: int) -> list[ThermalSample]:
    """At most `max_points` samples: the series cut into that many runs of neighbours, the
    hottest of each kept, so a plot still shows the peak."""
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, not {max_points}")
    count = len(samples)
    if count <= max_points:
        return list(samples)
    bounds = [index * count // max_points for index in range(max_points + 1)]
    return [hottest(samples[start:end]) for start, end in itertools.pairwise(bounds)]


class SummaryTotals:
    """Running figures over every reading; `summary` turns them into a `ThermalSummary`."""

    def __init__(self) -> None:
        self.samples = 0
        self.failed_reads = 0
        self.last_problem: str | None = None
        self._first: ThermalSample | None = None
        self._previous: ThermalSample | None = None
        self._temperature_min_c: float | None = None
        self._temperature_max_c: float | None = None
        self._temperature_last_c: float | None = None
        self._warning_c: float | None = None
        self._critical_c: float | None = None
        self._above_warning_s = 0.0
        self._above_critical_s = 0.0
        self._first_critical: ThermalSample | None = None
        self._pressure_max: int | None = None
        self._pressure_last: PressureLevel | None = None
        self._under_pressure_s = 0.0
        self._cpu_limit_min: int | None = None
        self._cpu_limit_last: int | None = None
        self._counters_first: dict[str, int] = {}
        self._counters_last: dict[str, int] = {}

    def failed(self, problem: str) -> None:
        self.failed_reads += 1
        self.last_problem = problem

    def add(self, sample: ThermalSample) -> None:
        previous = self._previous
        since_previous_s = sample.elapsed_s - previous.elapsed_s if previous else 0.0
        self.samples += 1
        if self._first is None:
            self._first = sample
        self._previous = sample
        if sample.temperature_warning_c is not None:
            self._warning_c = sample.temperature_warning_c
        if sample.temperature_critical_c is not None:
            self._critical_c = sample.temperature_critical_c
        temperature = sample.temperature_c
        if temperature is not None:
            if self._temperature_min_c is None or temperature < self._temperature_min_c:
                self._temperature_min_c = temperature
            if self._temperature_max_c is None or temperature > self._temperature_max_c:
                self._temperature_max_c = temperature
            self._temperature_last_c = temperature
        if sample.at_or_above_warning:
            self._above_warning_s += since_previous_s
        if sample.at_or_above_critical:
            self._above_critical_s += since_previous_s
            if self._first_critical is None:
                self._first_critical = sample
        if sample.pressure_level is not None:
            level = PRESSURE_LEVELS.index(sample.pressure_level)
            self._pressure_max = max(level, self._pressure_max or 0)
            self._pressure_last = sample.pressure_level
            if level > 0:
                self._under_pressure_s += since_previous_s
        if sample.cpu_speed_limit_pct is not None:
            limit = sample.cpu_speed_limit_pct
            if self._cpu_limit_min is None or limit < self._cpu_limit_min:
                self._cpu_limit_min = limit
            self._cpu_limit_last = limit
        for name, value in sample.counters().items():
            self._counters_first.setdefault(name, value)
            self._counters_last[name] = value

    def summary(
        self,
        *,
        backend: str | None,
        measures: str | None,
        interval_s: float,
        temperature_reason: str | None = None,
        unavailable_reason: str | None = None,
        exact: bool = True,
    ) -> ThermalSummary:
        if self._temperature_max_c is None and temperature_reason is None:
            temperature_reason = (
                f"{backend} gave no temperature during the run"
                + (f" ({self.last_problem})" if self.last_problem else "")
                if backend is not None
                else "no thermal source was watched"
            )
        if self._temperature_max_c is not None:
            temperature_reason = None
        duration_s = 0.0
        if self._first is not None and self._previous is not None:
            duration_s = self._previous.elapsed_s - self._first.elapsed_s
        critical = self._first_critical
        return ThermalSummary(
            backend=backend,
            measures=measures,
            unavailable_reason=unavailable_reason,
            temperature_reason=temperature_reason,
            interval_s=interval_s,
            exact=exact,
            duration_s=duration_s,
            samples=self.samples,
            failed_reads=self.failed_reads,
            last_problem=self.last_problem,
            temperature_min_c=self._temperature_min_c,
            temperature_max_c=self._temperature_max_c,
            temperature_last_c=self._temperature_last_c,
            temperature_warning_c=self._warning_c,
            temperature_critical_c=self._critical_c,
            time_at_or_above_warning_s=self._above_warning_s
            if self._warning_c is not None and self._temperature_max_c is not None
            else None,
            time_at_or_above_critical_s=self._above_critical_s
            if self._critical_c is not None and self._temperature_max_c is not None
            else None,
            first_critical_elapsed_s=critical.elapsed_s if critical else None,
            critical_temperature_c=critical.temperature_c if critical else None,
            pressure_level_max=PRESSURE_LEVELS[self._pressure_max]
            if self._pressure_max is not None
            else None,
            pressure_level_last=self._pressure_last,
            time_under_pressure_s=self._under_pressure_s
            if self._pressure_max is not None
            else None,
            cpu_speed_limit_min_pct=self._cpu_limit_min,
            cpu_speed_limit_last_pct=self._cpu_limit_last,
            counter_increases={
                name: last - self._counters_first[name]
                for name, last in self._counters_last.items()
                if last > self._counters_first[name]
            },
        )
