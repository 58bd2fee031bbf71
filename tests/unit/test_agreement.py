"""Conservative when the evidence disagrees, on synthetic figures: an unsteady sequential read
is rated on its lowest window, a read the capacity search contradicts is rated on what the
search played, and a steady drive whose figures agree is rated exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.core.agreement import WINDOW_SPREAD_LIMIT, agreed_mb_s
from pytest_qlab.core.profiles import DEFAULT_PROFILE
from pytest_qlab.core.proof import BandwidthFigure, CapacityFigure, Measurement, WindowSpread
from pytest_qlab.core.verdict import Rating, RequirementKey
from pytest_qlab.report.model import build_report
from tests.helpers.evidence import capacity, replay_result, sequential, session_on

FOUR_K = DEFAULT_PROFILE.streams[0]


def _read(mb_s: float, lowest_mb_s: float, highest_mb_s: float) -> BandwidthFigure:
    spread = WindowSpread(1.0, 6, lowest_mb_s, highest_mb_s)
    return BandwidthFigure(Measurement.SEQUENTIAL_READ, mb_s, spread)


def test_a_steady_read_is_rated_on_its_mean() -> None:
    rated_mb_s, found = agreed_mb_s(_read(2122.0, 2050.0, 2180.0), None)

    assert rated_mb_s == 2122.0
    assert found == ()


@pytest.mark.parametrize(("lowest_mb_s", "lowered"), [(1500.0, True), (1501.0, False)])
def test_windows_more_than_a_quarter_apart_rate_on_the_lowest(
    lowest_mb_s: float, lowered: bool
) -> None:
    """2000 MB/s at best: 1500 is exactly 25 % below (steady enough), 1499 beyond."""
    figure = _read(1800.0, lowest_mb_s - 1 if lowered else lowest_mb_s, 2000.0)

    rated_mb_s, found = agreed_mb_s(figure, None)

    assert WINDOW_SPREAD_LIMIT == 0.25
    if lowered:
        assert rated_mb_s == 1499.0
        (disagreement,) = found
        assert disagreement.against is Measurement.SEQUENTIAL_READ
        assert disagreement.sentence == (
            "sequential read 1800.0 MB/s is not steady: its 6 windows of 1 s from 1499.0 to "
            "2000.0 MB/s (25% apart), more than 25%; rated on its lowest window, 1499.0 MB/s"
        )
    else:
        assert (rated_mb_s, found) == (1800.0, ())


def test_a_read_the_capacity_search_contradicts_is_rated_on_what_the_search_played() -> None:
    """The real run: 2122 MB/s read, yet 3 x 4K (1320 MB/s) dropped frames."""
    search = CapacityFigure(2, 1, 32, "4K", 440.0)

    rated_mb_s, found = agreed_mb_s(_read(2122.0, 2050.0, 2180.0), search)

    assert rated_mb_s == 880.0
    (disagreement,) = found
    assert disagreement.against is Measurement.CAPACITY
    assert disagreement.sentence == (
        "sequential read 2122.0 MB/s disagrees with the capacity search: 3 x 4K (1320.0 MB/s) "
        "dropped frames, 2 x 4K (880.0 MB/s) played; rated on 880.0 MB/s"
    )


def test_a_capacity_figure_within_the_reads_own_windows_is_no_disagreement() -> None:
    """The load that dropped (1320 MB/s) lies within what the read's windows spread over."""
    search = CapacityFigure(2, 1, 32, "4K", 440.0)

    assert agreed_mb_s(_read(1400.0, 1300.0, 1500.0), search) == (1400.0, ())


def test_a_search_that_reached_its_limit_bounds_nothing() -> None:
    search = CapacityFigure(32, 1, 32, "HD", 10.0)

    assert agreed_mb_s(_read(5000.0, 4900.0, 5100.0), search) == (5000.0, ())


def test_both_rules_take_the_lowest_figure() -> None:
    search = CapacityFigure(1, 1, 32, "4K", 440.0)

    rated_mb_s, found = agreed_mb_s(_read(2000.0, 1000.0, 2400.0), search)

    assert rated_mb_s == 440.0
    assert [item.against for item in found] == [Measurement.SEQUENTIAL_READ, Measurement.CAPACITY]


def test_the_real_runs_case_is_acceptable_not_excellent(tmp_path: Path) -> None:
    """Crossfade replay clean, sequential read 2122 MB/s (Excellent on its own), capacity
    search 2 x 4K: the verdict says which figures disagree and rates on the lower."""
    session = session_on(tmp_path)
    (record,) = session.volumes.values()
    record.sequential_read = sequential("read", 2122.0, window_mb_s=[2100.0, 2130.0, 2140.0])
    record.replays[RequirementKey.NORMAL_PLAYBACK] = replay_result()
    record.replays[RequirementKey.CROSSFADE_PEAK] = replay_result()
    record.capacity = capacity(max_streams=2, needed_streams=1, spec=FOUR_K)

    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.ACCEPTABLE
    assert any("disagrees with the capacity search" in r for r in volume.rating_reasons)
    (normal, crossfade) = volume.evidence
    (disagreement,) = crossfade.disagreements
    assert (disagreement.claimed_mb_s, disagreement.rated_mb_s) == (2122.0, 880.0)
    assert crossfade.status == "disproved"
    assert normal.status == "proved"


def test_an_unsteady_read_loses_excellent_and_the_report_shows_its_spread(tmp_path: Path) -> None:
    session = session_on(tmp_path)
    (record,) = session.volumes.values()
    record.sequential_read = sequential("read", 2300.0, window_mb_s=[2900.0, 2800.0, 1200.0])
    record.sequential_write = sequential("write", 900.0, window_mb_s=[880.0, 920.0])
    record.replays[RequirementKey.NORMAL_PLAYBACK] = replay_result()
    record.replays[RequirementKey.CROSSFADE_PEAK] = replay_result()

    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.ACCEPTABLE
    assert any("is not steady" in reason for reason in volume.rating_reasons)
    spreads = {item.measurement: item for item in volume.bandwidth_windows}
    assert spreads[Measurement.SEQUENTIAL_READ].spread_percent == pytest.approx(58.6, abs=0.1)
    assert spreads[Measurement.SEQUENTIAL_WRITE].lowest_mb_s == 880.0


def test_a_steady_drive_is_rated_as_before(tmp_path: Path) -> None:
    session = session_on(tmp_path)
    (record,) = session.volumes.values()
    record.sequential_read = sequential("read", 2500.0, window_mb_s=[2450.0, 2500.0, 2550.0])
    record.replays[RequirementKey.NORMAL_PLAYBACK] = replay_result()
    record.replays[RequirementKey.CROSSFADE_PEAK] = replay_result()
    record.capacity = capacity(max_streams=32, needed_streams=1)

    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.EXCELLENT
    assert all(not item.disagreements for item in volume.evidence)
    assert "sequential read 2500.0 MB/s meets the 2100.0 MB/s Excellent needs" in " ".join(
        volume.rating_reasons
    )
