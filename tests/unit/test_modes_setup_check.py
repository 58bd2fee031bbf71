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
    log: Path, *, fps: float, buffer_frames: int, frame_bytes: int, due: int, offset_bytes: int
) -> int:
    """The design's rule applied by hand to a one-pass log of a region from `offset_bytes`:
    frame k is dropped when it completes after (k + B) / f, or when it was due and never came."""
    arrived: dict[int, int] = {}
    for completion in read_completions(log):
        arrived[(completion.offset_bytes - offset_bytes) // frame_bytes] = completion.time_ms
    late = sum(
        1 for frame, time_ms in arrived.items() if time_ms > (frame + buffer_frames) * 1000 / fps
    )
    return late + sum(1 for frame in range(due) if frame not in arrived)


def test_the_layout_writes_the_read_file_and_the_rest_of_the_read_pool_in_full(
    tmp_path: Path,
) -> None:
    setup = _setup(tmp_path)

    layout = setup.check.layout()

    call = setup.runner.only_call("layout")
    assert call.job_file.directory == setup.scratch.run_dir
    assert [(job.filename, job.rw, job.size_bytes) for job in call.jobs] == [
        ("sequential-read.bin", "write", FILE_BYTES),
        ("read-pool-01.bin", "write", FILE_BYTES),
    ]
    assert all(job.stonewall and job.end_fsync and job.direct for job in call.jobs)
    assert layout.size_bytes == 2 * FILE_BYTES
    assert layout.file_durations_s == (0.064, 0.058), "fio's runtime of each file's job"
    assert layout.duration_of("read-pool-01.bin") == 0.058


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
    assert result.runtime_s == 1.108, "fio's own runtime, not the planned second"
    assert result.mb_s == pytest.approx(88_080_384 / 1.108 / 1e6)
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
    assert result.runtime_s == 1.005
    assert result.mb_s == pytest.approx(result.io_bytes / 1.005 / 1e6)
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
            "sequential-read.bin",
            HD_FRAME_BYTES,
            math.ceil(HD_FRAME_BYTES * 25),
            REPLAY_IODEPTH,
        ),
        (
            "stream-02",
            "read-pool-01.bin",
            UHD_FRAME_BYTES,
            math.ceil(UHD_FRAME_BYTES * 25),
            REPLAY_IODEPTH,
        ),
    ]
    # Each stream a region of the pool from the cursor: the HD stream the frames it will read
    # (25 in a second, and fio's requests in flight), the 4K one as many as the rest of the
    # read test's file cannot hold, so it starts the pool's next file.
    assert [(job.offset_bytes, job.size_bytes) for job in call.jobs] == [
        (0, 27 * HD_FRAME_BYTES),
        (0, 27 * UHD_FRAME_BYTES),
    ]
    for job in call.jobs:
        assert (job.rw, job.direct, job.runtime_ms) == ("read", True, 1000)
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
        name = f"stream-0{1 + (stream is uhd)}"
        by_hand = _late_or_missing(
            recorded.lat_logs[name],
            fps=25,
            buffer_frames=scenarios.SETUP_PROFILE.player_buffer_frames,
            frame_bytes=frame_bytes,
            due=stream.frames.due_frames,
            offset_bytes=int(recorded.final.job(name).job_options.get("offset", 0)),
        )
        assert stream.dropped == by_hand
    assert (hd.dropped, uhd.dropped) == (1, 4)
    assert hd.frames.due_frames == 23, "the deadlines within fio's runtime of the stream"
    assert hd.frames.first_late_time_ms == 1013
    assert result.dropped == 5
    assert len(result.failures()) == 2
    assert result.failures()[0].startswith("HD (30 MB/s at 25 fps): 1 of 23 frames dropped")
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
    assert result.achieved_mb_s == pytest.approx(62.3, abs=0.1)


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
    ], "the pool holds two streams' regions already: the search lays out no more"
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
    assert replay.dropped == 5
    assert setup.runner.labels.count("layout") == 1


def test_a_failed_layout_fails_every_measurement_that_needs_it_once(tmp_path: Path) -> None:
    full = VolumeError("laying out read-pool-01.bin wrote 0 of 67108864 bytes; the volume is full")
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


def test_the_replays_read_on_from_the_cursor_past_the_sequential_read(tmp_path: Path) -> None:
    """The read ended 20 MiB into a pass of its file (84 MiB read of 64 MiB): the first region
    starts there, on what it read longest ago; the crossfade reads on after the normal set and
    wraps to the pool's start when the rest is too small for its regions."""
    setup = _setup(tmp_path)
    check = setup.check

    read = check.sequential_read()
    normal = check.normal_replay()
    crossfade = check.crossfade_replay()

    assert read.io_bytes % FILE_BYTES == 20 * BYTES_PER_MIB
    normal_jobs = setup.runner.only_call("normal_playback").jobs
    assert [(job.filename, job.offset_bytes) for job in normal_jobs] == [
        ("sequential-read.bin", 20 * BYTES_PER_MIB),
        ("read-pool-01.bin", 0),
    ]
    crossfade_jobs = setup.runner.only_call("crossfade_peak").jobs
    assert [(job.filename, job.offset_bytes) for job in crossfade_jobs] == [
        ("sequential-read.bin", 0),
        ("read-pool-01.bin", 0),
    ], "the 128 MiB fast-tier pool holds less than the two replays read: it wraps"
    assert normal.distinct_bytes == normal.bytes_read, "its streams read disjoint regions"
    assert crossfade.distinct_bytes == crossfade.bytes_read
    use = check.record.read_pool
    assert use is not None
    assert use.pool.laps == 1
    measurements = check.record.measurements()
    assert measurements["normal_playback_distinct_bytes"] == normal.distinct_bytes
    assert measurements["read_pool_bytes"] == 2 * FILE_BYTES
    assert measurements["read_pool_layout_bytes"] == FILE_BYTES
    assert measurements["read_pool_layout_s"] == 0.058
    assert measurements["replays_bytes_read"] == normal.bytes_read + crossfade.bytes_read
    distinct, read_bytes = (
        measurements["replays_distinct_bytes"],
        measurements["replays_bytes_read"],
    )
    assert isinstance(distinct, int)
    assert isinstance(read_bytes, int)
    assert distinct < read_bytes


def test_a_replay_records_the_bytes_it_read_and_how_many_were_distinct(tmp_path: Path) -> None:
    result = _setup(tmp_path).check.normal_replay()

    metadata = result.metadata()
    assert metadata["bytes_read"] == result.bytes_read == 27_602_944 + 55_205_888
    assert metadata["distinct_bytes"] == result.distinct_bytes == result.bytes_read
    per_stream = metadata["per_stream"]
    assert isinstance(per_stream, list)
    first = per_stream[0]
    assert isinstance(first, dict)
    assert (first["offset_bytes"], first["region_bytes"]) == (0, 27 * HD_FRAME_BYTES)
    assert first["bytes_read"] == first["distinct_bytes"] == 27_602_944
    assert result.report_row().measured.endswith("82.8 MB read, 82.8 MB of it distinct")


def test_capacity_probes_read_on_from_the_cursor_and_report_distinct_bytes(
    tmp_path: Path,
) -> None:
    check = _setup(tmp_path).check

    result = check.capacity()

    assert [(p.streams, p.bytes_read, p.distinct_bytes) for p in result.probes] == [
        (1, 60_006_400, 60_006_400),
        (2, 88_809_472, 88_809_472),
    ]
    (one,) = result.probes[0].reads
    # The search reads first (its limit), so the cursor starts 20 MiB into the read's file; the
    # 27 frames do not fit in the rest of it.
    assert (one.file_name, one.offset_bytes) == ("read-pool-01.bin", 0)
    assert {region.file_name for region in result.probes[1].reads} == {
        "sequential-read.bin",
        "read-pool-01.bin",
    }
    assert result.bytes_read == 60_006_400 + 88_809_472
    assert result.distinct_bytes < result.bytes_read, "the second probe wrapped over the first"
    assert result.metadata()["distinct_bytes"] == result.distinct_bytes


def test_a_wider_capacity_probe_lays_out_one_more_pool_file(tmp_path: Path) -> None:
    """Seven 4K streams need 8 frames each side by side, more than the 128 MiB pool holds: the
    pool grows by a file, laid out once and counted in what the pool adds to the layout."""
    setup = _setup(tmp_path, answers={"layout": recording(SCENARIO, "layout")})
    check = setup.check
    seven = (check.heaviest_stream().model_copy(update={"count": 7}),)
    assert not check.pool().fits([8 * UHD_FRAME_BYTES] * 7)

    check.ensure_pool_room(seven)
    check.ensure_pool_room(seven)

    assert setup.runner.labels == ["layout", "layout"]
    (job,) = setup.runner.calls[1].jobs
    assert job.filename == "read-pool-02.bin"
    assert job.size_bytes == 37 * BYTES_PER_MIB, "two of its 8-frame regions, in whole MiB"
    pool = check.pool()
    assert [name for name, _ in pool.files][-1] == "read-pool-02.bin"
    assert pool.fits([8 * UHD_FRAME_BYTES] * 7)
    added_bytes, added_s = check.record.pool_layout()
    assert added_bytes == FILE_BYTES + 37 * BYTES_PER_MIB
    assert added_s == pytest.approx(0.058 + 0.064)
