"""Max sustained (2 h at full scale): flat-out sequential reads at full queue depth, in 10 s
windows, with the drive's temperature alongside. A drive that passes 30 seconds can still fill
its cache or overheat an hour in; the slowest window is what the show would get at worst."""

from __future__ import annotations

import pytest

from pytest_qlab.core.verdict import BandwidthCheck, Judged, Rating
from pytest_qlab.modes.sustained import SustainedCheck
from pytest_qlab.plugin.fixtures import Gate, Measure, Record, Requirements

pytestmark = pytest.mark.sustained


@pytest.mark.parametrize("level", [Rating.ACCEPTABLE, Rating.EXCELLENT], ids=str)
def test_sustained_read(
    level: Rating,
    qlab_sustained: SustainedCheck,
    qlab_measure: Measure,
    qlab_requirement: Requirements,
    qlab_gate: Gate,
    qlab_record: Record,
) -> None:
    """The slowest window after the warm-up must still carry the level's streams: normal
    playback for Acceptable, crossfade peaks for Excellent."""
    outcome = qlab_measure(qlab_sustained.read)
    result = outcome.result
    qlab_record(outcome)
    assert result.ran_full_time, result.early_stop_message()
    lowest = result.lowest_window
    assert lowest is not None, (
        f"the sustained read measured no window after its {result.throttle.settings.warmup_s:g} s "
        "warm-up"
    )
    check = BandwidthCheck(
        f"sustained read, lowest {result.window_s:g} s window (at {lowest.start_s:.0f} s)",
        qlab_requirement(level),
        lowest.mb_s,
    )
    qlab_record(Judged(outcome, check))
    qlab_gate(level, check.met, check.message())


def test_sustained_read_throttling(
    qlab_sustained: SustainedCheck, qlab_measure: Measure, qlab_gate: Gate, qlab_record: Record
) -> None:
    """Throughput must not stay well below its early baseline: a drive that throttles an
    hour into the show drops frames there. Judged on throughput alone, so it runs without a
    temperature sensor too."""
    outcome = qlab_measure(qlab_sustained.read)
    throttle = outcome.result.throttle
    qlab_record(
        {
            **throttle.metadata(),
            "throttle_episode_start_temperatures_c": list(outcome.episode_start_temperatures_c),
            "nvme_counter_increases": dict(outcome.counter_increases),
        }
    )
    assert throttle.judged, f"sustained read: {throttle.sentence()}"
    qlab_gate(Rating.ACCEPTABLE, not throttle.throttled, outcome.throttle_message())


def test_sustained_read_temperature(
    qlab_sustained: SustainedCheck, qlab_measure: Measure, qlab_record: Record
) -> None:
    """A drive at or above its own critical temperature throttles hard or shuts down. Skips
    where no drive temperature can be read, saying why."""
    outcome = qlab_measure(qlab_sustained.read)
    qlab_record(
        {
            "thermal": outcome.thermal.model_dump(mode="json"),
            "thermal_summary": outcome.thermal.summary.describe(),
            "nvme_counters_before": dict(outcome.counters_before),
            "nvme_counters_after": dict(outcome.counters_after),
            "nvme_counter_increases": dict(outcome.counter_increases),
        }
    )
    if outcome.temperature_reason is not None:
        pytest.skip(f"no drive temperature: {outcome.temperature_reason}")
    critical = outcome.critical_failure()
    assert critical is None, f"sustained read: {critical}"


def test_sustained_write(
    qlab_sustained: SustainedCheck, qlab_measure: Measure, qlab_record: Record
) -> None:
    """Media is copied onto show drives on tour: sustained write is measured and reported,
    throttling included (a full write cache is normal and does not touch playback); only a
    drive reaching its critical temperature fails it."""
    outcome = qlab_measure(qlab_sustained.write)
    result = outcome.result
    qlab_record(outcome)
    qlab_record({"throttle_message": outcome.throttle_message()})
    assert result.io_bytes > 0, "the sustained write moved no data: the volume accepted no writes"
    assert result.ran_full_time, result.early_stop_message()
    critical = outcome.critical_failure()
    assert critical is None, f"sustained write: {critical}"
