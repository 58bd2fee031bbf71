"""SetupCheck against fio output recorded on a drive held to 80 MB/s reads (tests/fixtures/fio/
setup-check): what each measurement asks fio to run, what it returns, that it is taken once
(failures too), early stops, and interruption. No fio runs here."""

from __future__ import annotations

import dataclasses
import errno
import math
from pathlib import Path

import pytest

from pytest_qlab.core.evidence import LayoutKind
from pytest_qlab.core.modes import SETUP_CHECK
from pytest_qlab.core.proof import Measurement
from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.core.verdict import RequirementKey
from pytest_qlab.fio.errors import FioError, FioHangError, FioInterruptedError, FioKilledError
from pytest_qlab.measure.frames import read_completions
from pytest_qlab.measure.replay import REPLAY_IODEPTH
from pytest_qlab.modes.setup_check import SetupCheck, SetupCheckPlan
from pytest_qlab.safety.volume import ScratchSpace, VolumeError
from tests.helpers import scenarios
from tests.helpers.fake_fio import (
    FakeFioRunner,
    Fault,
    Hang,
    Interrupt,
    Kill,
    Raise,
    Recording,
    recording,
)

SCENARIO = "setup-check"
FILE_BYTES = 64 * BYTES_PER_MIB
HD_FRAME_BYTES = 1_200_128
"""30 MB/s at 25 fps, rounded up to whole 4 KiB blocks."""
UHD_FRAME_BYTES = 2_400_256


@dataclasses.dataclass
class Setup:
    check: SetupCheck
    runner: FakeFioRunner
    scratch: ScratchSpace


def _setup(
    tmp_path: Path,
    *,
    faults: dict[str, Fault] | None = None,
    plan: SetupCheckPlan | None = None,
    answers: dict[str, Recording] | None = None,
) -> Setup:
    volume_dir = tmp_path / "volume"
    volume_dir.mkdir()
    volume = scenarios.target_volume(volume_dir)
    scratch = scenarios.scratch_space(volume)
    runner = FakeFioRunner(tmp_path / "control", SCENARIO, faults=faults, answers=answers)
    check = SetupCheck(
        runner,
        scratch,
        plan or scenarios.setup_plan(),
        scenarios.SETUP_PROFILE,
        scenarios.volume_record(volume),
    )
    return Setup(check, runner, scratch)


def _late_or_missing(
    log: Path, *, fps: float, buffer_frames: int, frame_bytes: int, due: int
) -> int:
    """The design's rule applied by hand to a one-pass log: frame k is dropped when it
    completes after (k + B) / f, or when it was due and never came."""
    arrived: dict[int, int] = {}
    for completion in read_completions(log):
        arrived[completion.offset_bytes // frame_bytes] = completion.time_ms
    late = sum(
        1 for frame, time_ms in arrived.items() if time_ms > (frame + buffer_frames) * 1000 / fps
    )
    return late + sum(1 for frame in range(due) if frame not in arrived)


def test_the_layout_writes_the_read_file_and_the_stream_files_in_full(tmp_path: Path) -> None:
    setup = _setup(tmp_path)

    layout = setup.check.layout()

    call = setup.runner.only_call("layout")
    assert call.job_file.directory == setup.scratch.run_dir
    assert [(job.filename, job.rw, job.size_bytes) for job in call.jobs] == [
        ("sequential-read.bin", "write", FILE_BYTES),
        ("stream-01.bin", "write", FILE_BYTES),
        ("stream-02.bin", "write", FILE_BYTES),
    ]
    assert all(job.stonewall and job.end_fsync and job.direct for job in call.jobs)
    assert layout.size_bytes == 3 * FILE_BYTES
    assert layout.size_of("stream-02.bin") == FILE_BYTES


def test_sequential_read_reads_the_laid_out_file_at_1_mib_qd8_for_the_planned_time(
    tmp_path: Path,
) -> None:
    setup = _setup(tmp_path)

    result = setup.check.sequential_read()

    assert setup.runner.labels == ["layout", "sequential-read"], "laid out before it is read"
    (job,) = setup.runner.only_call("sequential-read").jobs
    assert (job.filename, job.rw, job.block_size_bytes, job.iodepth) == (
        "sequential-read.bin",
        "read",
        BYTES_PER_MIB,
        8,
    )
    assert (job.size_bytes, job.runtime_ms, job.rate_bytes_s) == (FILE_BYTES, 1000, None)
    assert result.direction == "read"
    assert result.io_bytes == 88_080_384
    assert result.runtime_s == 1.116, "fio's own runtime, not the planned second"
    assert result.mb_s == pytest.approx(88_080_384 / 1.116 / 1e6)
    assert result.mb_s < scenarios.SETUP_READ_LIMIT_BYTES_S / 1e6, "the recorded drive limit"
    assert result.ran_full_time


def test_sequential_write_writes_its_own_file_and_syncs_it(tmp_path: Path) -> None:
    setup = _setup(tmp_path)

    result = setup.check.sequential_write()

    assert setup.runner.labels == ["sequential-write"], "a write needs no laid-out file"
    (job,) = setup.runner.only_call("sequential-write").jobs
    assert (job.filename, job.rw, job.block_size_bytes, job.iodepth) == (
        "sequential-write.bin",
        "write",
        BYTES_PER_MIB,
        8,
    )
    assert job.end_fsync, "a write is measured until it is on the drive"
    assert (job.size_bytes, job.runtime_ms) == (FILE_BYTES, 1000)
    assert result.direction == "write"
    assert result.runtime_s == 1.003
    assert result.mb_s == pytest.approx(result.io_bytes / 1.003 / 1e6)
    assert result.ran_full_time


def test_normal_replay_plays_each_stream_at_its_frame_size_and_rate(tmp_path: Path) -> None:
    setup = _setup(tmp_path)

    setup.check.normal_replay()

    call = setup.runner.only_call("normal_playback")
    log_dir = setup.runner.work_dir / "normal_playback-logs"
    assert [
        (job.name, job.filename, job.block_size_bytes, job.rate_bytes_s, job.iodepth)
        for job in call.jobs
    ] == [
        (
            "stream-01",
            "stream-01.bin",
            HD_FRAME_BYTES,
            math.ceil(HD_FRAME_BYTES * 25),
            REPLAY_IODEPTH,
        ),
        (
            "stream-02",
            "stream-02.bin",
            UHD_FRAME_BYTES,
            math.ceil(UHD_FRAME_BYTES * 25),
            REPLAY_IODEPTH,
        ),
    ]
    for job in call.jobs:
        assert (job.rw, job.direct, job.runtime_ms) == ("read", True, 1000)
        assert job.size_bytes == FILE_BYTES - FILE_BYTES % job.block_size_bytes, "whole frames"
        assert job.lat_log_prefix == str(log_dir / job.name), "every I/O is logged"
    assert not log_dir.exists(), "the per-I/O logs are removed once analysed"


def test_normal_replay_counts_the_frames_the_recorded_logs_show_late(tmp_path: Path) -> None:
    """90 MB/s of streams on a drive held to 80 MB/s: both streams fall behind near the end."""
    setup = _setup(tmp_path)

    result = setup.check.normal_replay()

    recorded = recording(SCENARIO, "normal_playback")
    hd, uhd = result.streams
    assert (hd.stream.label, uhd.stream.label) == (
        "HD (30 MB/s at 25 fps)",
        "4K (60 MB/s at 25 fps)",
    )
    for stream, frame_bytes in ((hd, HD_FRAME_BYTES), (uhd, UHD_FRAME_BYTES)):
        by_hand = _late_or_missing(
            recorded.lat_logs[f"stream-0{1 + (stream is uhd)}"],
            fps=25,
            buffer_frames=scenarios.SETUP_PROFILE.player_buffer_frames,
            frame_bytes=frame_bytes,
            due=stream.frames.due_frames,
        )
        assert stream.dropped == by_hand
    assert (hd.dropped, uhd.dropped) == (2, 2)
    assert hd.frames.due_frames == 23, "the deadlines within fio's runtime of the stream"
    assert hd.frames.first_late_time_ms == 818
    assert result.dropped == 4
    assert len(result.failures()) == 2
    assert result.failures()[0].startswith("HD (30 MB/s at 25 fps): 2 of 23 frames dropped")
    assert result.requested_mb_s == pytest.approx(
        (HD_FRAME_BYTES + UHD_FRAME_BYTES) * 25 / 1e6, rel=1e-6
    )


def test_crossfade_replay_plays_its_own_set_without_a_drop(tmp_path: Path) -> None:
    setup = _setup(tmp_path)

    result = setup.check.crossfade_replay()

    call = setup.runner.only_call("crossfade_peak")
    assert [job.block_size_bytes for job in call.jobs] == [HD_FRAME_BYTES, HD_FRAME_BYTES]
    assert [stream.stream.label for stream in result.streams] == [
        "HD (30 MB/s at 25 fps) #1",
        "HD (30 MB/s at 25 fps) #2",
    ]
    assert result.dropped == 0
    assert result.failures() == []
    assert result.achieved_mb_s == pytest.approx(61.9, abs=0.1)


def test_capacity_doubles_until_a_drop_and_reports_the_largest_clean_count(
    tmp_path: Path,
) -> None:
    """The 79 MB/s read caps the search at 4 streams of 60 MB/s; 1 plays, 2 do not."""
    setup = _setup(tmp_path)

    result = setup.check.capacity()

    assert setup.runner.labels == [
        "layout",
        "sequential-read",
        "capacity-01",
        "capacity-02",
    ], "two stream files are laid out already: the search needs no more"
    assert [len(setup.runner.only_call(f"capacity-0{n}").jobs) for n in (1, 2)] == [1, 2]
    assert all(
        job.block_size_bytes == UHD_FRAME_BYTES
        for call in setup.runner.calls_to("capacity-02")
        for job in call.jobs
    ), "the heaviest stream kind is probed"
    assert result.limit == 4
    assert [(probe.streams, probe.dropped_frames) for probe in result.probes] == [(1, 0), (2, 36)]
    assert result.max_streams == 1
    assert result.spec.label == "4K (60 MB/s at 25 fps)"
    assert result.summary() == "plays up to 1 x 4K (60 MB/s at 25 fps)"


def test_every_measurement_runs_fio_once_and_returns_the_same_result(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    check = setup.check
    measurements = (
        check.layout,
        check.sequential_read,
        check.sequential_write,
        check.normal_replay,
        check.crossfade_replay,
        check.capacity,
    )

    first = [measure() for measure in measurements]
    second = [measure() for measure in measurements]

    assert all(a is b for a, b in zip(first, second, strict=True))
    assert setup.runner.labels == [
        "layout",
        "sequential-read",
        "sequential-write",
        "normal_playback",
        "crossfade_peak",
        "capacity-01",
        "capacity-02",
    ]


@pytest.mark.parametrize(
    "fault",
    [
        Raise(FioError("fio job 'sequential-read' failed", exit_code=1, errno=errno.EIO)),
        Kill("SIGKILL"),
        Hang(bound_s=30.0),
    ],
    ids=["io-error", "killed", "hung"],
)
def test_a_failed_read_is_kept_and_raised_again_without_a_second_fio_run(
    tmp_path: Path, fault: Fault
) -> None:
    setup = _setup(tmp_path, faults={"sequential-read": fault})

    with pytest.raises(FioError) as first:
        setup.check.sequential_read()
    with pytest.raises(FioError) as second:
        setup.check.sequential_read()

    assert second.value is first.value
    assert len(setup.runner.calls_to("sequential-read")) == 1
    if isinstance(fault, Kill):
        assert isinstance(first.value, FioKilledError)
        assert first.value.signal_name == "SIGKILL"
    if isinstance(fault, Hang):
        assert isinstance(first.value, FioHangError)
        assert first.value.bound_s == 30.0


def test_a_failed_read_leaves_the_other_measurements_alone(tmp_path: Path) -> None:
    setup = _setup(tmp_path, faults={"sequential-read": Kill()})

    with pytest.raises(FioKilledError):
        setup.check.sequential_read()
    write = setup.check.sequential_write()
    replay = setup.check.normal_replay()

    assert write.ran_full_time
    assert replay.dropped == 4
    assert setup.runner.labels.count("layout") == 1


def test_a_failed_layout_fails_every_measurement_that_needs_it_once(tmp_path: Path) -> None:
    full = VolumeError("laying out stream-01.bin wrote 0 of 67108864 bytes; the volume may be full")
    setup = _setup(tmp_path, faults={"layout": Raise(full)})

    for measure in (setup.check.sequential_read, setup.check.normal_replay, setup.check.layout):
        with pytest.raises(VolumeError) as caught:
            measure()
        assert caught.value is full

    assert setup.runner.labels == ["layout"], "no read or replay without the files"


def test_a_read_fio_ends_early_is_flagged_with_the_early_stop_message(tmp_path: Path) -> None:
    """fio reporting 1.1 s of a planned 4 s read: its figure is not a measurement."""
    plan = dataclasses.replace(scenarios.setup_plan(), read_duration_s=4.0)
    setup = _setup(tmp_path, plan=plan)

    result = setup.check.sequential_read()

    assert setup.runner.only_call("sequential-read").jobs[0].runtime_ms == 4000
    assert not result.ran_full_time
    assert result.early_stop_message() == (
        "the sequential read ran 1.1 s of the planned 4.0 s: fio stopped early, "
        "the figure is not a measurement"
    )


def test_an_interrupted_replay_hands_pytest_fio_partial_figures(tmp_path: Path) -> None:
    setup = _setup(tmp_path, faults={"normal_playback": Interrupt(signal_name="SIGTERM")})

    with pytest.raises(FioInterruptedError) as caught:
        setup.check.normal_replay()

    assert isinstance(caught.value, KeyboardInterrupt), "pytest must see the user stop the run"
    assert caught.value.signal_name == "SIGTERM"
    partial = caught.value.partial
    assert partial is not None
    assert partial.exit_code == 128
    assert partial.result.job("stream-02").read.io_bytes > 0
    assert not (setup.runner.work_dir / "normal_playback-logs").exists()


def test_an_interruption_is_not_kept_as_a_result(tmp_path: Path) -> None:
    """Only failures (Exception) are cached: after Ctrl-C pytest ends the session, and an
    interruption is no verdict on the drive."""
    setup = _setup(
        tmp_path,
        faults={"sequential-write": Interrupt()},
        answers={"sequential-write": recording(SCENARIO, "sequential-write")},
    )

    for _ in range(2):
        with pytest.raises(FioInterruptedError):
            setup.check.sequential_write()

    assert len(setup.runner.calls_to("sequential-write")) == 2


def test_each_measurement_is_recorded_in_its_typed_field_and_rates_the_volume(
    tmp_path: Path,
) -> None:
    """What the setup check records is what the rating and the JSON read: the results
    themselves, in typed fields, never figures under string keys."""
    check = _setup(tmp_path).check
    record = check.record

    read = check.sequential_read()
    write = check.sequential_write()
    normal = check.normal_replay()
    crossfade = check.crossfade_replay()
    found = check.capacity()

    assert record.sequential_read is read
    assert record.sequential_write is write
    assert record.replays == {
        RequirementKey.NORMAL_PLAYBACK: normal,
        RequirementKey.CROSSFADE_PEAK: crossfade,
    }
    assert record.capacity is found
    assert found.needed_streams == check.heaviest_stream().count
    (layout,) = record.layouts[LayoutKind.SETUP_CHECK]
    assert layout is check.layout()
    assert layout.size_bytes == sum(size for _, size in check.plan.layout_files)
    evidence = record.evidence()
    (figure,) = evidence.bandwidth
    assert (figure.measurement, figure.mb_s) == (Measurement.SEQUENTIAL_READ, read.mb_s)
    (played,) = evidence.playback[RequirementKey.NORMAL_PLAYBACK]
    assert (played.measurement, played.dropped_frames) == (
        Measurement.NORMAL_REPLAY,
        normal.dropped,
    )
    assert normal.dropped > 0
    (played,) = evidence.playback[RequirementKey.CROSSFADE_PEAK]
    assert (played.measurement, played.dropped_frames) == (Measurement.CROSSFADE_REPLAY, 0)
    assert evidence.capacity is not None
    assert evidence.capacity.max_streams == found.max_streams
    assert evidence.modes == {SETUP_CHECK}
    measurements = record.measurements()
    assert measurements["read_mb_s"] == round(read.mb_s, 3)
    assert measurements["normal_playback_dropped_frames"] == normal.dropped


def test_a_clean_replay_verifies_its_matrix_cells_and_a_failed_one_does_not(
    tmp_path: Path,
) -> None:
    check = _setup(tmp_path).check

    check.normal_replay()  # drops frames on the recording's slow disk
    assert check.record.verified_streams == {}
    check.crossfade_replay()  # clean

    cells = {spec.cell_key for spec in check.profile.crossfade_streams} - {None}
    assert set(check.record.verified_streams) == cells
