"""Evidence is typed: each piece the long modes produce reaches the rating through a field, so
losing it (a renamed field, a mode that stops storing it) fails here, fast, instead of leaving a
silently different verdict. The same fields feed the JSON report's measurements."""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.core.evidence import LayoutKind, VolumeRecord
from pytest_qlab.core.verdict import Rating, RequirementKey
from pytest_qlab.measure.bandwidth import LayoutResult
from pytest_qlab.report.model import build_report
from tests.helpers.evidence import (
    ONE_HD_SHOW,
    capacity,
    replay_result,
    sequential,
    session_on,
    show_phase,
    sustained_read,
)


def _excellent_setup_check(record: VolumeRecord) -> None:
    record.sequential_read = sequential("read", 5000.0)
    record.replays[RequirementKey.NORMAL_PLAYBACK] = replay_result()
    record.replays[RequirementKey.CROSSFADE_PEAK] = replay_result()
    record.capacity = capacity(max_streams=32, needed_streams=1)


def test_a_sustained_read_below_the_requirement_lowers_the_rating(tmp_path: Path) -> None:
    session = session_on(tmp_path)
    (record,) = session.volumes.values()
    _excellent_setup_check(record)
    assert build_report(session).volumes[0].rating is Rating.EXCELLENT

    # Steady, not throttling, but its slowest window misses Excellent's 2100 MB/s.
    record.sustained_read = sustained_read([2050.0, 2050.0, 2000.0, 2050.0, 2050.0, 2050.0])
    (volume,) = build_report(session).volumes

    assert not record.sustained_read.result.throttle.throttled
    assert volume.rating is Rating.ACCEPTABLE
    assert any(
        reason.startswith("sustained read (lowest window) 2000.0 MB/s is below the 2100.0 MB/s")
        for reason in volume.rating_reasons
    ), volume.rating_reasons
    assert volume.measurements["sustained_read_lowest_mb_s"] == 2000.0


def test_a_sustained_read_that_throttles_fails_normal_playback(tmp_path: Path) -> None:
    session = session_on(tmp_path)
    (record,) = session.volumes.values()
    _excellent_setup_check(record)
    record.sustained_read = sustained_read([3000.0] * 4 + [2200.0] * 4)

    (volume,) = build_report(session).volumes

    assert record.sustained_read.result.throttle.throttled
    assert volume.rating is Rating.INSUFFICIENT
    assert any("sustained read: " in reason for reason in volume.rating_reasons)
    assert volume.measurements["sustained_read_throttled"] is True


def test_a_show_phase_that_drops_frames_fails_normal_playback(tmp_path: Path) -> None:
    session = session_on(tmp_path, ONE_HD_SHOW)
    (record,) = session.volumes.values()
    _excellent_setup_check(record)
    record.show_phases["act-1"] = show_phase("act-1", late_frames=0)
    assert build_report(session).volumes[0].rating is Rating.EXCELLENT

    record.show_phases["act-2"] = show_phase("act-2", late_frames=3)
    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.INSUFFICIENT
    assert (
        "show pattern outside crossfades dropped 3 frames (Acceptable needs none): act-2: 3 "
        "frames dropped in normal playback"
    ) in volume.rating_reasons
    assert volume.measurements["show_act_2_normal_dropped_frames"] == 3
    assert volume.measurements["show_act_1_normal_dropped_frames"] == 0


def test_layouts_add_up_per_mode(tmp_path: Path) -> None:
    record = session_on(tmp_path).volumes[str(tmp_path)]
    record.add_layout(LayoutKind.SETUP_CHECK, LayoutResult(tmp_path, (("a", 2_000_000),), 1.0))
    record.add_layout(LayoutKind.SETUP_CHECK, LayoutResult(tmp_path, (("b", 1_000_000),), 0.5))

    measurements = record.measurements()

    assert measurements["layout_bytes"] == 3_000_000
    assert measurements["layout_duration_s"] == 1.5
    assert record.layout_summary() == "layout: 3.0 MB of test files written in 1.5 s (2 MB/s)"


def test_the_whole_show_pattern_and_a_sustained_read_rate_without_a_setup_check(
    tmp_path: Path,
) -> None:
    """The long modes alone: the sustained read's lowest window proves the bandwidth, the
    show's phases the playback; phases too short for a crossfade prove no crossfade peak."""
    session = session_on(tmp_path, ONE_HD_SHOW)
    (record,) = session.volumes.values()
    names = [phase.name for phase in ONE_HD_SHOW.show_phases]
    for name in names[:-1]:
        record.show_phases[name] = show_phase(name)
    record.sustained_read = sustained_read([900.0] * 6)

    (volume,) = build_report(session).volumes
    assert volume.rating is None, "part of the show proves nothing"
    assert volume.not_rated is Rating.ACCEPTABLE
    assert not volume.ready
    assert any("4 of the show's 5 phases played (finale not)" in r for r in volume.rating_reasons)

    record.show_phases[names[-1]] = show_phase(names[-1])
    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.ACCEPTABLE
    assert volume.ready
    assert volume.not_rated is Rating.EXCELLENT
    normal, crossfade = volume.evidence
    frames = normal.proofs[1].frames
    assert normal.summary == (
        "Acceptable: normal playback proven by the sustained read (lowest window) at 900.0 MB/s "
        f"and the show pattern outside crossfades with 0 of {frames} frames dropped"
    )
    assert crossfade.summary.startswith("Excellent NOT RATED: nothing measured crossfades played")
    assert crossfade.summary.endswith(
        'add the setup check: pytest suites/ -m "setup_check or show_pattern or sustained"'
    )
