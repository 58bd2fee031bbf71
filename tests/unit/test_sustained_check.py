"""The sustained suite's verdict helpers on synthetic windows and thermal samples: a fixed
baseline for rate-limited phases, thinned windows, thermal counters, and throttle episodes
correlated with the drive temperature."""

from __future__ import annotations

import pytest

from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.measure.sustained import SustainedResult
from pytest_qlab.measure.sustained_outcome import (
    SustainedOutcome,
    counter_increases,
    drive_counters,
    temperature_near,
)
from pytest_qlab.measure.throttle import (
    ThrottleSettings,
    ThroughputWindow,
    detect_throttling,
    thin_windows,
)
from pytest_qlab.modes.sustained import SustainedPlan
from pytest_qlab.thermal import ThermalReport, ThermalSample, ThermalSummary

MB = 1_000_000
SETTINGS = ThrottleSettings(warmup_s=1, baseline_s=2, drop_fraction=0.2, min_duration_s=2)


def _windows(*mb_s: float) -> list[ThroughputWindow]:
    return [ThroughputWindow.between(i, i + 1, int(rate * MB)) for i, rate in enumerate(mb_s)]


def test_a_fixed_baseline_judges_every_window_against_the_schedule() -> None:
    """A phase reads at its streams' rate: slow from the start is a drop too, which an early
    baseline would have taken as normal."""
    windows = _windows(30, 30, 20, 20, 20, 30, 30)

    early = detect_throttling(windows, SETTINGS)
    fixed = detect_throttling(windows, SETTINGS, baseline_mb_s=30.0)
    slow_from_start = detect_throttling(_windows(10, 10, 10, 10), SETTINGS, baseline_mb_s=30.0)

    assert early.baseline_mb_s == pytest.approx(25.0)  # windows 1-2: 30 and 20 MB/s
    assert fixed.baseline_mb_s == 30.0
    assert fixed.threshold_mb_s == pytest.approx(24.0)
    (episode,) = fixed.episodes
    assert (episode.start_s, episode.end_s, episode.recovered) == (2, 5, True)
    assert slow_from_start.throttled
    assert slow_from_start.episodes[0].start_s == 1, "the warm-up window is never judged"


def test_a_crossfade_above_the_floor_is_never_a_drop() -> None:
    analysis = detect_throttling(_windows(30, 30, 60, 60, 30, 29), SETTINGS, baseline_mb_s=30.0)

    assert not analysis.throttled
    assert not analysis.brief_dips


def test_thin_windows_keeps_at_most_the_points_asked_for_and_the_last() -> None:
    windows = _windows(*range(1, 721))

    kept = thin_windows(windows, 300)

    assert len(kept) <= 300
    assert kept[0] == windows[0]
    assert kept[-1] == windows[-1]
    assert thin_windows(windows[:10], 300) == windows[:10]


def test_drive_counters_are_the_nvme_thermal_counters_it_reports() -> None:
    drive = DriveInfo(warning_temp_time_min=3, thermal_transitions=7)

    assert drive_counters(drive) == {"warning_temp_time_min": 3, "thermal_transitions": 7}
    assert drive_counters(None) == {}
    assert drive_counters(DriveInfo()) == {}


def test_counter_increases_name_only_what_rose() -> None:
    before = {"warning_temp_time_min": 3, "thermal_transitions": 7, "critical_comp_time_min": 0}
    after = {"warning_temp_time_min": 5, "thermal_transitions": 7}

    assert counter_increases(before, after) == {"warning_temp_time_min": 2}


def test_temperature_near_is_the_closest_reading() -> None:
    samples = [
        ThermalSample(elapsed_s=0, temperature_c=40),
        ThermalSample(elapsed_s=5, pressure_level="nominal"),
        ThermalSample(elapsed_s=10, temperature_c=55),
    ]

    assert temperature_near(samples, 4) == 40
    assert temperature_near(samples, 8) == 55
    assert temperature_near([ThermalSample(elapsed_s=0, pressure_level="heavy")], 1) is None


def _outcome(
    temperatures: tuple[float | None, ...], reason: str | None, after: dict[str, int]
) -> SustainedOutcome:
    plan = SustainedPlan.for_scale(0.01, duration_s=1000)
    windows = _windows(100, 100, 100, 100, 100, 40, 40, 40, 100, 100)
    result = SustainedResult(
        direction="read",
        io_bytes=sum(window.io_bytes for window in windows),
        runtime_s=10.0,
        planned_s=10.0,
        block_size_bytes=1 << 20,
        iodepth=32,
        window_s=1,
        status_interval_s=1,
        windows=tuple(windows),
        throttle=detect_throttling(windows, plan.throttle),
    )
    summary = ThermalSummary(
        backend="test", measures="drive temperature", interval_s=1, temperature_reason=reason
    )
    return SustainedOutcome(
        result=result,
        thermal=ThermalReport(summary=summary),
        temperature_reason=reason,
        counters_before={"thermal_transitions": 1},
        counters_after=after,
        episode_start_temperatures_c=temperatures,
    )


def test_a_throttle_message_names_the_temperature_when_each_episode_began() -> None:
    outcome = _outcome((71.0,), None, {"thermal_transitions": 4})

    message = outcome.throttle_message()

    assert outcome.result.throttle.throttled, outcome.result.throttle.sentence()
    assert message.startswith("sustained read: throttling: throughput fell more than 20 %")
    assert "drive temperature when throttling began: 5 s: 71 °C" in message
    assert "NVMe thermal counters rose during the run: thermal_transitions +3" in message
    metadata = outcome.metadata()
    assert metadata["nvme_counter_increases"] == {"thermal_transitions": 3}
    assert metadata["throttle_episode_start_temperatures_c"] == [71.0]
    assert metadata["windows_total"] == 10


def test_without_a_sensor_the_throttle_message_says_why_nothing_is_correlated() -> None:
    outcome = _outcome((None,), "a virtual disk has no sensor", {})

    message = outcome.throttle_message()

    assert "no drive temperature to correlate (a virtual disk has no sensor)" in message
    assert "counters" not in message
