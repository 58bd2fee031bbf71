"""The monitor itself: bounded memory, exact summaries, down-sampled series, the thread's
lifecycle (cadence, prompt stop, a hung or broken source), its CPU cost, and the reason it gives
when nothing is readable. Sources are fakes, a fake hwmon file, or a fake program on PATH.
"""

from __future__ import annotations

import itertools
import math
import os
import resource
import stat
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_qlab.thermal import (
    ThermalMonitor,
    ThermalReport,
    ThermalSample,
)
from pytest_qlab.thermal.backend import Measure
from pytest_qlab.thermal.drive_sensors import HwmonBackend
from pytest_qlab.thermal.macos import ThermalPressureBackend
from pytest_qlab.thermal.recorder import (
    DEFAULT_CAPACITY,
    SampleStore,
    SummaryTotals,
    downsample,
)

DEFAULT_INTERVAL_S = 5.0


class FakeBackend:
    """Temperatures from a function of the read count; counts its reads."""

    def __init__(
        self,
        temperature_c: Callable[[int], float | None] = lambda _: 40.0,
        measures: Measure = "drive temperature",
    ) -> None:
        self.measures: Measure = measures
        self.name = "fake:sensor"
        self.problem: str | None = None
        self.reads = 0
        self._temperature_c = temperature_c

    def read(self) -> ThermalSample | None:
        self.reads += 1
        value = self._temperature_c(self.reads - 1)
        if value is None:
            self.problem = "the fake sensor is unplugged"
            return None
        self.problem = None
        return ThermalSample(
            temperature_c=value, temperature_warning_c=70.0, temperature_critical_c=80.0
        )


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _series(temperatures: list[float | None], interval_s: float = 5.0) -> list[ThermalSample]:
    return [
        ThermalSample(
            elapsed_s=index * interval_s,
            temperature_c=value,
            temperature_warning_c=70.0,
            temperature_critical_c=80.0,
        )
        for index, value in enumerate(temperatures)
    ]


# --- samples -----------------------------------------------------------------------------------


def test_sample_limits_and_label() -> None:
    hot, warm, cool = _series([80.0, 70.0, 69.9])

    assert (hot.at_or_above_critical, hot.at_or_above_warning) == (True, True)
    assert (warm.at_or_above_critical, warm.at_or_above_warning) == (False, True)
    assert (cool.at_or_above_critical, cool.at_or_above_warning) == (False, False)
    assert not ThermalSample(temperature_c=120.0).at_or_above_critical  # no limit known
    assert hot.label() == "80 °C"
    assert ThermalSample(pressure_level="heavy").label() == "thermal pressure heavy"
    assert ThermalSample().label() == "no reading"


# --- bounded memory ----------------------------------------------------------------------------


def test_store_stays_bounded_and_keeps_the_whole_span_and_the_peak() -> None:
    store = SampleStore(capacity=64)
    count = 100_000
    for index in range(count):
        temperature = 99.0 if index == 54_321 else 40.0 + (index % 7)
        store.add(ThermalSample(elapsed_s=float(index), temperature_c=temperature))

    kept = store.samples()

    assert len(kept) == len(store) <= 64 + 1
    assert store.stride >= count // 64
    assert kept[0].elapsed_s < store.stride  # the beginning is still there ...
    assert kept[-1].elapsed_s > count - 2 * store.stride  # ... and the end
    assert [s.elapsed_s for s in kept] == sorted(s.elapsed_s for s in kept)
    assert max(s.temperature_c or 0 for s in kept) == 99.0  # the spike survives thinning


def test_store_memory_stays_under_the_documented_bound() -> None:
    """recorder.py promises under 0.5 MB at the default capacity, however long the run."""
    full_bytes = 0
    tracemalloc.start()
    try:
        store = SampleStore()
        for index in range(10 * DEFAULT_CAPACITY):
            store.add(
                ThermalSample(
                    elapsed_s=index * 5.0 + 0.123,
                    temperature_c=40.5 + index % 10,
                    temperature_warning_c=70.0,
                    temperature_critical_c=80.0,
                    warning_temp_time_min=index,
                )
            )
            if index == DEFAULT_CAPACITY - 1:
                full_bytes, _ = tracemalloc.get_traced_memory()
        after_bytes, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert after_bytes < 512 * 1024
    assert after_bytes - full_bytes < 64 * 1024  # ten times the readings, no more memory


def test_store_capacity_must_be_even() -> None:
    with pytest.raises(ValueError, match="even number"):
        SampleStore(capacity=7)


def test_downsample_keeps_at_most_n_points_and_the_peak() -> None:
    temperatures: list[float | None] = [40.0 + (index % 5) for index in range(1000)]
    temperatures[777] = 88.0
    samples = _series(temperatures)

    points = downsample(samples, 50)

    assert len(points) == 50
    assert max(p.temperature_c or 0 for p in points) == 88.0
    assert points[0].elapsed_s < points[-1].elapsed_s
    assert downsample(samples[:10], 50) == samples[:10]


# --- summaries ----------------------------------------------------------------------------------


def test_summary_figures_limits_and_critical_message() -> None:
    totals = SummaryTotals()
    for sample in _series([40.0, 50.0, 72.0, 75.0, 81.0, 60.0]):
        totals.add(sample)

    summary = totals.summary(backend="fake:sensor", measures="drive temperature", interval_s=5.0)

    assert (summary.temperature_min_c, summary.temperature_max_c) == (40.0, 81.0)
    assert summary.temperature_last_c == 60.0
    assert (summary.temperature_warning_c, summary.temperature_critical_c) == (70.0, 80.0)
    assert summary.time_at_or_above_warning_s == 15.0  # 72, 75 and 81 each count 5 s
    assert summary.time_at_or_above_critical_s == 5.0
    assert summary.at_or_above_critical
    assert (summary.first_critical_elapsed_s, summary.critical_temperature_c) == (20.0, 81.0)
    assert (summary.samples, summary.duration_s) == (6, 25.0)
    assert summary.temperature_reason is None
    assert summary.critical_failure() == (
        "the drive reached 81 °C at 20 s, at or above its critical limit of 80 °C"
        " (peak 81 °C, 5 s at or above it): a drive that hot throttles hard or shuts down;"
        " give it airflow or use a drive that stays cooler"
    )
    assert summary.describe() == (
        "drive 40-81 °C, last 60 °C (warning 70 °C, critical 80 °C); 15 s at or above warning"
    )


def test_summary_without_critical_and_with_counter_increases() -> None:
    totals = SummaryTotals()
    for elapsed_s, warning_minutes in ((0.0, 10), (5.0, 10), (10.0, 12)):
        totals.add(
            ThermalSample(
                elapsed_s=elapsed_s,
                temperature_c=50.0,
                warning_temp_time_min=warning_minutes,
                thermal_transitions=3,
            )
        )
    totals.failed("smartctl timed out")

    summary = totals.summary(
        backend="smartctl:/dev/nvme0", measures="drive temperature", interval_s=5
    )

    assert summary.critical_failure() is None
    assert not summary.at_or_above_critical
    assert summary.counter_increases == {"warning_temp_time_min": 2}
    assert summary.time_at_or_above_warning_s is None  # no warning limit known
    assert (summary.failed_reads, summary.last_problem) == (1, "smartctl timed out")


def test_pressure_summary() -> None:
    totals = SummaryTotals()
    for elapsed_s, level in (
        (0.0, "nominal"),
        (5.0, "moderate"),
        (10.0, "heavy"),
        (15.0, "nominal"),
    ):
        totals.add(ThermalSample(elapsed_s=elapsed_s, pressure_level=level))  # type: ignore[arg-type]

    summary = totals.summary(
        backend="notifyutil:x",
        measures="thermal pressure",
        interval_s=5.0,
        temperature_reason="smartctl cannot open /dev/disk4",
    )

    assert (summary.pressure_level_max, summary.pressure_level_last) == ("heavy", "nominal")
    assert summary.time_under_pressure_s == 10.0
    assert summary.temperature_max_c is None
    assert summary.temperature_reason == "smartctl cannot open /dev/disk4"
    assert summary.describe() == (
        "no drive temperature (smartctl cannot open /dev/disk4); thermal pressure up to heavy"
    )


def test_no_temperature_always_comes_with_a_reason() -> None:
    totals = SummaryTotals()
    totals.failed("the fake sensor is unplugged")

    summary = totals.summary(backend="fake:sensor", measures="drive temperature", interval_s=5.0)

    assert summary.temperature_max_c is None
    assert summary.temperature_reason == (
        "fake:sensor gave no temperature during the run (the fake sensor is unplugged)"
    )


# --- the thread ---------------------------------------------------------------------------------


def test_samples_at_the_interval_and_stops_with_the_block() -> None:
    backend = FakeBackend(lambda count: 40.0 + count)
    monitor = ThermalMonitor(backend, interval_s=0.1)

    with monitor:
        running_in_block = monitor.running  # a local: mypy would keep `running` narrowed to True
        assert running_in_block
        _wait_for(lambda: len(monitor.samples()) >= 6)
    assert not monitor.running
    reads_at_stop = backend.reads
    time.sleep(0.3)

    assert backend.reads == reads_at_stop  # nothing after stop
    samples = monitor.samples()
    assert samples[0].elapsed_s < 0.1  # the first read is at once
    gaps = [b.elapsed_s - a.elapsed_s for a, b in itertools.pairwise(samples)]
    assert 0.07 < statistics.median(gaps) < 0.3
    # no bursts: a loaded machine may skip slots, never crowd them
    assert len(samples) <= monitor.elapsed_s() / 0.1 + 2
    assert monitor.latest() == samples[-1]
    summary = monitor.summary()
    assert summary.samples == len(samples)
    assert summary.temperature_min_c == 40.0
    assert summary.backend == "fake:sensor"


def test_started_once_and_stopped_any_number_of_times() -> None:
    monitor = ThermalMonitor(FakeBackend(), interval_s=0.05)
    monitor.stop()  # before start: nothing to do
    monitor.start()
    with pytest.raises(RuntimeError, match="started once"):
        monitor.start()
    monitor.stop()
    monitor.stop()
    assert not monitor.running


def test_stop_is_prompt_with_a_long_interval() -> None:
    monitor = ThermalMonitor(FakeBackend(), interval_s=3600.0)
    monitor.start()
    _wait_for(lambda: monitor.latest() is not None)

    started = time.monotonic()
    monitor.stop()

    assert time.monotonic() - started < 0.5
    assert not monitor.running


def test_stop_returns_while_a_read_hangs_and_drops_its_late_result() -> None:
    release = threading.Event()
    entered = threading.Event()

    def hanging(_: int) -> float:
        entered.set()
        release.wait(10)
        return 50.0

    monitor = ThermalMonitor(FakeBackend(hanging), interval_s=0.05, stop_timeout_s=0.2)
    monitor.start()
    assert entered.wait(5)

    started = time.monotonic()
    monitor.stop()
    stopped_in_s = time.monotonic() - started
    release.set()
    time.sleep(0.1)

    assert stopped_in_s < 1.0
    assert monitor.samples() == []
    assert monitor.summary().samples == 0


def test_a_failing_source_is_counted_and_the_monitor_carries_on() -> None:
    def flaky(count: int) -> float | None:
        if count == 1:
            raise RuntimeError("sensor fell off the bus")
        return None if count == 2 else 45.0

    monitor = ThermalMonitor(FakeBackend(flaky), interval_s=0.02)
    with monitor:
        _wait_for(lambda: len(monitor.samples()) >= 3)

    summary = monitor.summary()
    assert summary.failed_reads >= 2
    assert summary.samples >= 3
    assert summary.temperature_max_c == 45.0


def test_the_thread_keeps_memory_bounded() -> None:
    backend = FakeBackend(lambda count: 40.0 + count % 10)
    monitor = ThermalMonitor(backend, interval_s=0.001, capacity=8)

    with monitor:
        _wait_for(lambda: backend.reads >= 300)

    assert len(monitor.samples()) <= 9
    summary = monitor.summary()
    assert summary.samples == backend.reads  # the summary saw every reading
    assert summary.temperature_max_c == 49.0
    assert not monitor.summary(since_s=0.0).exact  # a window of a thinned series


def test_windowed_summary_for_one_phase() -> None:
    backend = FakeBackend(lambda count: 40.0 if count < 5 else 60.0)
    monitor = ThermalMonitor(backend, interval_s=0.02)
    with monitor:
        _wait_for(lambda: len(monitor.samples()) >= 10)
    samples = monitor.samples()
    boundary_s = samples[5].elapsed_s

    first = monitor.summary(until_s=boundary_s - 1e-9)
    second = monitor.summary(since_s=boundary_s)

    assert (first.temperature_max_c, first.samples, first.exact) == (40.0, 5, True)
    assert second.temperature_min_c == 60.0
    assert first.samples + second.samples == len(samples)


def test_report_is_plot_sized_json() -> None:
    backend = FakeBackend(lambda count: 40.0 + count % 13)
    monitor = ThermalMonitor(backend, interval_s=0.001)
    with monitor:
        _wait_for(lambda: backend.reads >= 100)

    report = monitor.report(max_points=20)

    assert len(report.series) == 20
    assert max(p.temperature_c or 0 for p in report.series) == 52.0
    assert ThermalReport.model_validate_json(report.model_dump_json()) == report


@pytest.mark.parametrize("interval_s", [0.0, -1.0, math.nan, math.inf])
def test_interval_must_be_positive(interval_s: float) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        ThermalMonitor(FakeBackend(), interval_s=interval_s)


# --- nothing readable ---------------------------------------------------------------------------


def test_nothing_readable_starts_no_thread_and_says_why_once() -> None:
    reason = "/dev/vda has no temperature sensor of its own (a virtual disk)"
    monitor = ThermalMonitor(None, unavailable_reason=reason)

    with monitor:
        assert not monitor.running
        assert threading.active_count() >= 1

    summary = monitor.summary()
    assert monitor.unavailable_reason == reason
    assert monitor.temperature_reason == reason
    assert (summary.unavailable_reason, summary.temperature_reason) == (reason, reason)
    assert (summary.backend, summary.samples) == (None, 0)
    assert summary.describe() == f"no thermal readings: {reason}"
    assert monitor.report().series == []


def test_a_monitor_without_a_source_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        ThermalMonitor(None)


def test_pressure_source_gives_the_temperature_reason_from_selection() -> None:
    monitor = ThermalMonitor(
        FakeBackend(measures="thermal pressure"),
        temperature_reason="smartctl is not installed (brew install smartmontools)",
    )
    assert monitor.temperature_reason == "smartctl is not installed (brew install smartmontools)"
    assert ThermalMonitor(FakeBackend()).temperature_reason is None


# --- CPU cost ----------------------------------------------------------------------------------


def test_cpu_cost_of_polling_hwmon_is_far_below_one_percent(tmp_path: Path) -> None:
    """100x the default rate for 2 s. thread_time counts only the monitor's thread, whatever
    else the machine runs; a read after a sleep runs cache-cold (about 0.5 ms on the project's
    VM), so the bound per read is 5 ms: 0.1 % of a core at the default interval."""
    sensor = tmp_path / "temp1_input"
    sensor.write_text("41250\n", encoding="utf-8")
    monitor = ThermalMonitor(HwmonBackend(sensor), interval_s=DEFAULT_INTERVAL_S / 100)

    with monitor:
        time.sleep(2.0)
    reads = monitor.summary().samples

    assert reads >= 10
    cpu_per_read_s = monitor.cpu_time_s / reads
    assert cpu_per_read_s / DEFAULT_INTERVAL_S < 0.001, f"{cpu_per_read_s * 1e3:.2f} ms per read"
    # it sleeps between reads (Event.wait), even at this rate: a polling loop would use ~100 %
    assert monitor.cpu_time_s / monitor.elapsed_s() < 0.1


def test_cpu_cost_of_a_program_per_read_is_below_one_percent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source that runs a program (smartctl, notifyutil): the thread's CPU plus the child
    processes', per read, against the default interval."""
    program = tmp_path / "notifyutil"
    program.write_text("#!/bin/sh\necho com.apple.system.thermalpressurelevel 1\n", "utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monitor = ThermalMonitor(ThermalPressureBackend(), interval_s=0.1)

    children_before_s = _children_cpu_s()
    with monitor:
        time.sleep(2.0)
    children_s = _children_cpu_s() - children_before_s
    reads = monitor.summary().samples

    assert reads >= 5
    assert monitor.summary().pressure_level_max == "moderate"
    cost_per_read_s = (monitor.cpu_time_s + children_s) / reads
    assert cost_per_read_s / DEFAULT_INTERVAL_S < 0.005, f"{cost_per_read_s * 1e3:.1f} ms per read"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
