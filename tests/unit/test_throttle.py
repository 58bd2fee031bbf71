"""Throttling detection on synthetic throughput series: warm-up, baseline, brief dips, sustained
drops and recovery."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from pytest_qlab.measure.throttle import (
    ThrottleSettings,
    ThroughputWindow,
    detect_throttling,
    lowest_window,
    mean_mb_s,
)

SETTINGS = ThrottleSettings(warmup_s=30, baseline_s=120, drop_fraction=0.2, min_duration_s=30)


def _series(*segments: tuple[int, float], window_s: float = 10.0) -> list[ThroughputWindow]:
    """Contiguous windows: (how many windows, MB/s) per segment."""
    windows = []
    start_s = 0.0
    for count, mb_s in segments:
        for _ in range(count):
            io_bytes = round(mb_s * 1_000_000 * window_s)
            windows.append(ThroughputWindow.between(start_s, start_s + window_s, io_bytes))
            start_s += window_s
    return windows


def test_window_rate_is_bytes_over_its_own_length_in_decimal_mb() -> None:
    window = ThroughputWindow.between(10.0, 12.5, 2_500_000_000)

    assert window.duration_s == pytest.approx(2.5)
    assert window.mb_s == pytest.approx(1000.0)
    assert window.metadata() == {"start_s": 10.0, "end_s": 12.5, "mb_s": 1000.0}


def test_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="must end after it starts"):
        ThroughputWindow.between(5.0, 5.0, 0)


def test_mean_is_time_weighted() -> None:
    windows = [
        ThroughputWindow.between(0, 1, 100_000_000),
        ThroughputWindow.between(1, 4, 600_000_000),
    ]

    assert mean_mb_s(windows) == pytest.approx(700 / 4)


def test_steady_run_is_not_throttled() -> None:
    analysis = detect_throttling(_series((60, 1500.0)), SETTINGS)

    assert analysis.judged
    assert not analysis.throttled
    assert analysis.baseline_mb_s == pytest.approx(1500.0)
    assert analysis.threshold_mb_s == pytest.approx(1200.0)
    assert analysis.episodes == ()
    assert analysis.brief_dips == ()
    assert analysis.sentence().startswith("no throttling: throughput never stayed more than 20 %")
    assert "1500.0 MB/s baseline" in analysis.sentence()


def test_warm_up_is_excluded_from_baseline_episodes_and_lowest_window() -> None:
    """A slow start (queues filling) is not a drop and does not lower the baseline."""
    windows = _series((3, 200.0), (60, 1500.0))

    analysis = detect_throttling(windows, SETTINGS)
    lowest = lowest_window(windows, SETTINGS.warmup_s)

    assert analysis.baseline_mb_s == pytest.approx(1500.0)
    assert not analysis.throttled
    assert analysis.brief_dips == ()
    assert lowest is not None
    assert lowest.mb_s == pytest.approx(1500.0)
    assert lowest_window(windows) == windows[0], "without a warm-up every window counts"


def test_brief_dip_under_the_time_bound_is_not_throttling() -> None:
    windows = _series((30, 1500.0), (2, 700.0), (30, 1500.0))

    analysis = detect_throttling(windows, SETTINGS)

    assert not analysis.throttled
    (dip,) = analysis.brief_dips
    assert (dip.start_s, dip.end_s) == (300.0, 320.0)
    assert dip.lowest_mb_s == pytest.approx(700.0)
    assert dip.recovered
    assert "1 brief dip(s), the longest 20.0 s" in analysis.sentence()


def test_sustained_drop_is_throttling_until_the_end() -> None:
    windows = _series((30, 1500.0), (10, 900.0), (20, 800.0))

    analysis = detect_throttling(windows, SETTINGS)

    assert analysis.throttled
    (episode,) = analysis.episodes
    assert (episode.start_s, episode.end_s) == (300.0, 600.0)
    assert episode.duration_s == pytest.approx(300.0)
    assert episode.lowest_mb_s == pytest.approx(800.0)
    assert episode.mean_mb_s == pytest.approx((10 * 900 + 20 * 800) / 30)
    assert not episode.recovered
    sentence = analysis.sentence()
    assert sentence.startswith("throttling: throughput fell more than 20 % below the 1500.0 MB/s")
    assert "from 300 s to 600 s" in sentence
    assert "lowest 800.0 MB/s, 47 % below" in sentence
    assert sentence.endswith("and did not recover")


def test_recovery_ends_an_episode_and_a_second_one_is_counted() -> None:
    windows = _series((20, 1500.0), (4, 1000.0), (10, 1480.0), (5, 600.0), (10, 1500.0))

    analysis = detect_throttling(windows, SETTINGS)

    first, second = analysis.episodes
    assert (first.start_s, first.end_s, first.recovered) == (200.0, 240.0, True)
    assert (second.start_s, second.end_s, second.recovered) == (340.0, 390.0, True)
    assert analysis.throttled_s == pytest.approx(90.0)
    sentence = analysis.sentence()
    assert ", then recovered" in sentence
    assert "2 episodes, 90 s throttled in all, lowest 600.0 MB/s" in sentence


def test_a_drop_of_exactly_the_fraction_is_not_a_drop() -> None:
    """ "More than 20 % below": 80 % of the baseline is still fine, 79 % is not."""
    at_limit = _series((20, 1000.0), (10, 800.0))
    past_limit = _series((20, 1000.0), (10, 790.0))
    settings = SETTINGS.model_copy(update={"baseline_s": 100})

    assert not detect_throttling(at_limit, settings).throttled
    assert detect_throttling(past_limit, settings).throttled


def test_minimum_duration_tolerates_timer_jitter_but_not_a_window_less() -> None:
    """Three windows that add up to 29.99 s are a 30 s drop; two windows are not."""
    window_s = 9.9966
    low = [
        ThroughputWindow.between(150 + i * window_s, 150 + (i + 1) * window_s, 4_998_300_000)
        for i in range(3)
    ]
    jittery = [*_series((15, 1000.0)), *low]
    two_windows = _series((15, 1000.0), (2, 500.0))

    assert detect_throttling(jittery, SETTINGS).throttled
    assert not detect_throttling(two_windows, SETTINGS).throttled


def test_the_baseline_is_the_early_period_not_the_whole_run() -> None:
    """A drive that throttles for most of the run must not drag its own baseline down."""
    windows = _series((15, 2000.0), (100, 1000.0))

    analysis = detect_throttling(windows, SETTINGS)

    assert analysis.baseline_mb_s == pytest.approx(2000.0)
    assert analysis.throttled


@pytest.mark.parametrize(
    ("windows", "reason"),
    [
        ([], "the run measured 0.0 s; a 30 s warm-up and a 120 s baseline need 150 s"),
        (_series((10, 1500.0)), "the run measured 100.0 s"),
        (_series((40, 0.0)), "no data moved during the baseline period"),
    ],
    ids=["no-windows", "too-short", "nothing-moved"],
)
def test_runs_that_cannot_be_judged_say_why(
    windows: Sequence[ThroughputWindow], reason: str
) -> None:
    analysis = detect_throttling(windows, SETTINGS)

    assert not analysis.judged
    assert not analysis.throttled
    assert analysis.baseline_mb_s is None
    assert reason in analysis.sentence()
    assert analysis.sentence().startswith("throttling not judged: ")


def test_metadata_carries_the_verdict_and_every_episode() -> None:
    analysis = detect_throttling(_series((30, 1500.0), (10, 500.0)), SETTINGS)

    metadata = analysis.metadata()

    assert metadata["baseline_mb_s"] == 1500.0
    assert metadata["throttle_threshold_mb_s"] == 1200.0
    assert metadata["throttled"] is True
    assert metadata["throttled_s"] == 100.0
    assert metadata["throttle_episodes"] == [
        {
            "start_s": 300.0,
            "end_s": 400.0,
            "lowest_mb_s": 500.0,
            "mean_mb_s": 500.0,
            "recovered": False,
        }
    ]
    assert metadata["throttle_summary"] == analysis.sentence()


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_drop_fraction_must_be_a_fraction(fraction: float) -> None:
    with pytest.raises(ValidationError, match="drop_fraction"):
        ThrottleSettings(warmup_s=0, baseline_s=10, drop_fraction=fraction, min_duration_s=10)
