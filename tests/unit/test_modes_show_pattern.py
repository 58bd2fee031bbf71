"""ShowPatternCheck against fio output recorded per phase (tests/fixtures/fio/show-pattern; the
finale held to 60 MB/s reads): one layout for every phase, what each phase asks fio to play,
drops split between normal playback and crossfades, bandwidth, windows, thermal, failures and
interruption. No fio runs here."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from pytest_qlab.core.evidence import LayoutKind
from pytest_qlab.core.proof import Measurement
from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.core.verdict import RequirementKey
from pytest_qlab.fio.errors import FioInterruptedError, FioKilledError
from pytest_qlab.modes.show_pattern import ShowPatternCheck
from pytest_qlab.safety.volume import VolumeError
from pytest_qlab.thermal import ThermalMonitor
from tests.helpers import scenarios
from tests.helpers.fake_fio import FakeFioRunner, Fault, Interrupt, Kill, Raise, recording
from tests.helpers.mode_fakes import LineSink, progress_into, started_monitor

SCENARIO = "show-pattern"
FILE_BYTES = 64 * BYTES_PER_MIB
HD_FRAME_BYTES = 802_816
"""20 MB/s at 25 fps, in whole 4 KiB blocks."""


@dataclasses.dataclass
class Show:
    check: ShowPatternCheck
    runner: FakeFioRunner
    lines: LineSink


def _show(
    tmp_path: Path,
    *,
    faults: dict[str, Fault] | None = None,
    thermal: ThermalMonitor | None = None,
) -> Show:
    volume_dir = tmp_path / "volume"
    volume_dir.mkdir()
    volume = scenarios.target_volume(volume_dir)
    runner = FakeFioRunner(
        tmp_path / "control",
        SCENARIO,
        faults=faults,
        answers={"show-act-1": recording(SCENARIO, "show-act-1")},
    )
    lines = LineSink()
    check = ShowPatternCheck(
        runner,
        scenarios.scratch_space(volume),
        scenarios.show_plan(),
        scenarios.SHOW_PROFILE,
        scenarios.volume_record(volume),
        thermal=thermal,
        progress=progress_into(lines),
    )
    return Show(check, runner, lines)


def test_the_stream_files_are_laid_out_once_for_every_phase(tmp_path: Path) -> None:
    show = _show(tmp_path)

    for phase in ("house-open", "act-1", "finale"):
        show.check.phase(phase)

    assert show.runner.labels == ["layout", "show-house-open", "show-act-1", "show-finale"]
    assert [(job.filename, job.size_bytes) for job in show.runner.only_call("layout").jobs] == [
        (f"show-stream-0{index}.bin", FILE_BYTES) for index in range(1, 5)
    ]


def test_a_phase_plays_its_streams_for_its_duration_watched_every_second(tmp_path: Path) -> None:
    show = _show(tmp_path)

    show.check.phase("house-open")

    call = show.runner.only_call("show-house-open")
    assert (call.status_interval_s, call.watched) == (1, True)
    (job,) = call.jobs
    assert (job.filename, job.rw, job.block_size_bytes) == (
        "show-stream-01.bin",
        "read",
        HD_FRAME_BYTES,
    )
    assert (job.rate_bytes_s, job.runtime_ms, job.start_delay_ms) == (
        math.ceil(HD_FRAME_BYTES * 25),
        2000,
        0,
    )


def test_a_crossfade_adds_its_incoming_streams_for_its_length_in_the_middle(
    tmp_path: Path,
) -> None:
    show = _show(tmp_path)

    result = show.check.phase("act-1")

    jobs = show.runner.only_call("show-act-1").jobs
    assert [(job.filename, job.runtime_ms, job.start_delay_ms) for job in jobs] == [
        ("show-stream-01.bin", 4000, 0),
        ("show-stream-02.bin", 4000, 0),
        ("show-stream-03.bin", 1000, 1500),
        ("show-stream-04.bin", 1000, 1500),
    ]
    assert result.plan.crossfade_starts_s == (1.5,)
    assert [stream.stream.label for stream in result.replay.streams][2:] == [
        "crossfade 1 at 1.5 s: HD (20 MB/s at 25 fps) #1",
        "crossfade 1 at 1.5 s: HD (20 MB/s at 25 fps) #2",
    ]


def test_drops_away_from_crossfades_count_as_normal_playback(tmp_path: Path) -> None:
    """The recording's continuous streams stalled 289 ms at the start, before the crossfade."""
    show = _show(tmp_path)

    result = show.check.phase("act-1")

    assert (result.dropped, result.normal_dropped, result.crossfade_dropped) == (12, 12, 0)
    assert [stream.dropped for stream in result.replay.streams] == [6, 6, 0, 0]
    assert len(result.failures(crossfades=False)) == 2
    assert result.failures(crossfades=True) == []
    assert result.bandwidth_held


def test_a_crossfade_the_drive_cannot_feed_drops_frames_only_in_crossfades(
    tmp_path: Path,
) -> None:
    """The finale's 80 MB/s incoming stream on a drive held to 60 MB/s: it and the continuous
    streams fall behind during the crossfade and its recovery, nowhere else."""
    show = _show(tmp_path)

    result = show.check.phase("finale")

    assert (result.normal_dropped, result.crossfade_dropped) == (0, 94)
    incoming = result.replay.streams[2]
    assert incoming.stream.start_s == 1.5
    assert (incoming.dropped, incoming.frames.missing_frames) == (19, 9)
    assert result.failures(crossfades=False) == []
    crossfade_failures = result.failures(crossfades=True)
    assert len(crossfade_failures) == 3
    assert crossfade_failures[2].startswith(
        "crossfade 1 at 1.5 s: 8K (80 MB/s at 25 fps): 19 of 25 frames dropped"
    )
    assert not result.bandwidth_held
    assert result.achieved_mb_s == pytest.approx(52.95, abs=0.01)
    assert result.bandwidth_message() == (
        "phase finale read 53.0 MB/s on average of the 60.2 MB/s its streams and crossfades "
        "need (at least 95% required)"
    )


def test_a_phase_builds_throughput_windows_against_its_own_floor(tmp_path: Path) -> None:
    show = _show(tmp_path)

    result = show.check.phase("finale")

    assert [round(window.mb_s) for window in result.windows] == [41, 53, 62, 57]
    assert result.throttle is not None
    assert result.throttle.baseline_mb_s == pytest.approx(result.plan.continuous_mb_s)
    assert not result.throttled
    assert result.thermal is None, "no monitor, no thermal summary"
    assert show.lines.lines[-1].endswith("94 dropped frames"), "the phase's last progress line"


def test_a_watched_phase_carries_the_thermal_summary_of_its_minutes(tmp_path: Path) -> None:
    monitor = started_monitor(52.0)
    try:
        show = _show(tmp_path, thermal=monitor)
        result = show.check.phase("house-open")
    finally:
        monitor.stop()

    assert result.thermal is not None
    assert result.thermal.temperature_max_c == 52.0
    assert result.critical_failure() is None


def test_a_failed_layout_fails_every_phase_without_laying_out_again(tmp_path: Path) -> None:
    full = VolumeError("laying out show-stream-01.bin wrote 0 of 67108864 bytes")
    show = _show(tmp_path, faults={"layout": Raise(full)})

    for phase in ("house-open", "act-1"):
        with pytest.raises(VolumeError) as caught:
            show.check.phase(phase)
        assert caught.value is full

    assert show.runner.labels == ["layout"]


def test_a_killed_phase_fails_alone_and_the_next_phase_still_plays(tmp_path: Path) -> None:
    """Phases are separate test items: each plays once, when first asked (a fleet host's item
    finds it played with every host's), and a failed phase is not played again."""
    show = _show(tmp_path, faults={"show-house-open": Kill(after_documents=1)})

    with pytest.raises(FioKilledError) as caught:
        show.check.phase("house-open")
    with pytest.raises(FioKilledError):
        show.check.phase("house-open")
    act = show.check.phase("act-1")
    again = show.check.phase("act-1")

    assert caught.value.result is not None
    assert caught.value.result.read_bytes > 0
    assert act.normal_dropped == 12
    assert again is act
    assert show.runner.labels == ["layout", "show-house-open", "show-act-1"]
    assert any("show pattern house-open" in line for line in show.lines.lines)


def test_an_interrupted_phase_hands_pytest_fio_partial_figures(tmp_path: Path) -> None:
    show = _show(tmp_path, faults={"show-act-1": Interrupt(after_documents=2)})

    with pytest.raises(FioInterruptedError) as caught:
        show.check.phase("act-1")

    partial = caught.value.partial
    assert partial is not None
    status = recording(SCENARIO, "show-act-1").documents
    assert partial.result == status[2], "fio's document written as it stopped"
    assert partial.result.read_bytes > status[1].read_bytes
    assert not (show.runner.work_dir / "show-act-1-logs").exists()


def test_each_phase_is_recorded_by_name_in_the_shows_order(tmp_path: Path) -> None:
    """The rating reads every phase's drops from the record: a phase dropping frames in normal
    playback breaks Acceptable, one dropping them during crossfades breaks Excellent."""
    show = _show(tmp_path)
    record = show.check.record

    played = {name: show.check.phase(name) for name in ("house-open", "act-1", "finale")}

    assert record.show_phases == played
    assert list(record.show_phases) == ["house-open", "act-1", "finale"]
    assert record.show_stream_span_s == show.check.plan.span_s
    assert len(record.layouts[LayoutKind.SHOW_PATTERN]) == 1
    phases = tuple(phase.name for phase in show.check.profile.show_phases)
    playback = record.evidence(phases).playback
    (normal,) = playback[RequirementKey.NORMAL_PLAYBACK]
    assert normal.measurement is Measurement.SHOW_PATTERN
    assert normal.dropped_frames == sum(phase.normal_dropped for phase in played.values())
    assert (
        f"act-1: {played['act-1'].normal_dropped} frames dropped in normal playback"
        in normal.failures
    )
    assert phases == ("house-open", "act-1", "finale")
    assert normal.short_of is None, "every phase of the show played: a whole show"
    (crossfades,) = playback[RequirementKey.CROSSFADE_PEAK]
    assert crossfades.measurement is Measurement.SHOW_CROSSFADES
    assert (
        f"finale: {played['finale'].crossfade_dropped} frames dropped during crossfades"
        in crossfades.failures
    )
    measurements = record.measurements()
    assert measurements["show_act_1_normal_dropped_frames"] == played["act-1"].normal_dropped
    assert measurements["show_finale_crossfade_dropped_frames"] == (
        played["finale"].crossfade_dropped
    )
