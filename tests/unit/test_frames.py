from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_qlab.measure.frames import (
    LATENCY_BUCKET_NS,
    Completion,
    FrameIndexer,
    FrameStats,
    analyse,
    read_completions,
)

FIO_FIXTURES = Path(__file__).parents[1] / "fixtures" / "fio"
STREAM_RATE_BYTES_S = 60_000_000
"""The recorded stream: rate=60000000, bs=2M."""
STREAM_FRAME_BYTES = 2 * 1024 * 1024
FRAME_BYTES = 10 * 4096
MS = 1_000_000
"""Nanoseconds per millisecond, for latencies."""


def _stream_runtime_ms() -> int:
    document = json.loads((FIO_FIXTURES / "stream_output.json").read_text())
    runtime: int = document["jobs"][0]["read"]["runtime"]
    return runtime


def _on_time(frame: int, fps: float) -> int:
    """When a frame completes on a perfect schedule, in whole ms as fio logs it."""
    return int(frame * 1000 // fps)


def _completion(frame: int, time_ms: int, latency_ns: int = 2 * MS) -> Completion:
    return Completion(
        time_ms=time_ms,
        latency_ns=latency_ns,
        block_bytes=FRAME_BYTES,
        offset_bytes=frame * FRAME_BYTES,
    )


def _analyse(
    completions: list[Completion], *, fps: float = 30, buffer_frames: int = 3, run_ms: float
) -> FrameStats:
    return analyse(
        completions,
        fps=fps,
        buffer_frames=buffer_frames,
        frame_bytes=FRAME_BYTES,
        file_bytes=10_000 * FRAME_BYTES,
        run_ms=run_ms,
    )


# --- reading fio's per-I/O logs ----------------------------------------------------------


def test_read_total_latency_log() -> None:
    completions = list(read_completions(FIO_FIXTURES / "stream_lat.1.log"))

    assert len(completions) == 86
    assert completions[0] == Completion(
        time_ms=4, latency_ns=4_819_777, block_bytes=STREAM_FRAME_BYTES, offset_bytes=0
    )
    assert completions[1].offset_bytes == STREAM_FRAME_BYTES
    assert completions[-1] == Completion(
        time_ms=2978, latency_ns=4_387_321, block_bytes=STREAM_FRAME_BYTES, offset_bytes=178_257_920
    )
    assert all(c.block_bytes == STREAM_FRAME_BYTES for c in completions)
    assert [c.offset_bytes for c in completions] == [
        index * STREAM_FRAME_BYTES for index in range(86)
    ]


def test_read_completion_latency_log() -> None:
    completions = list(read_completions(FIO_FIXTURES / "stream_clat.1.log"))

    assert len(completions) == 86
    assert completions[0] == Completion(
        time_ms=4, latency_ns=3_766_701, block_bytes=STREAM_FRAME_BYTES, offset_bytes=0
    )


def test_read_completions_skips_short_and_garbled_lines(tmp_path: Path) -> None:
    log = tmp_path / "x_lat.1.log"
    log.write_text(
        "4, 100, 0, 4096, 0, 0\n\nfio: oops\n7, abc, 0, 4096, 4096\n9, 200, 0, 4096, 8192\n"
    )

    completions = list(read_completions(log))

    assert [(c.time_ms, c.latency_ns, c.offset_bytes) for c in completions] == [
        (4, 100, 0),
        (9, 200, 8192),
    ]


def test_analyse_the_recorded_stream() -> None:
    fps = STREAM_RATE_BYTES_S / STREAM_FRAME_BYTES
    run_ms = _stream_runtime_ms()

    stats = analyse(
        read_completions(FIO_FIXTURES / "stream_lat.1.log"),
        fps=fps,
        buffer_frames=3,
        frame_bytes=STREAM_FRAME_BYTES,
        file_bytes=256 * 1024 * 1024,
        run_ms=run_ms,
    )

    assert run_ms == 3005
    assert fps == pytest.approx(28.61, abs=0.01)
    assert stats.frames_read == 86
    assert stats.bytes_read == 86 * STREAM_FRAME_BYTES == 180_355_072
    assert stats.due_frames == math.ceil(run_ms / 1000 * fps) - 3 == 83
    assert stats.late_frames == 0
    assert stats.missing_frames == 0
    assert stats.dropped_frames == 0
    assert stats.first_late_frame is None
    assert stats.frame_interval_ms == pytest.approx(34.95, abs=0.01)
    assert stats.last_completion_ms == 2978
    # fio said 60.0 MB/s over its runtime; frames end a little before the runtime does.
    assert stats.achieved_mb_s() == pytest.approx(60.0, rel=0.02)
    assert stats.max_latency_ms == pytest.approx(12.535647)
    assert 0 < stats.latency_percentile_ms(50) <= stats.latency_percentile_ms(99)
    assert stats.latency_percentile_ms(99) <= stats.latency_percentile_ms(99.9)
    assert stats.latency_percentile_ms(99.9) <= stats.max_latency_ms < stats.frame_interval_ms


def test_the_recorded_stream_without_a_buffer_drops_every_frame() -> None:
    """No read-ahead: each frame is due the moment it is requested, and a read takes ~4 ms."""
    stats = analyse(
        read_completions(FIO_FIXTURES / "stream_lat.1.log"),
        fps=STREAM_RATE_BYTES_S / STREAM_FRAME_BYTES,
        buffer_frames=0,
        frame_bytes=STREAM_FRAME_BYTES,
        file_bytes=256 * 1024 * 1024,
        run_ms=_stream_runtime_ms(),
    )

    assert stats.late_frames == 86
    assert stats.first_late_frame == 0
    assert stats.first_late_time_ms == 4
    assert 0 < stats.worst_lateness_ms < stats.frame_interval_ms


# --- the late-frame rule -----------------------------------------------------------------


@pytest.mark.parametrize("buffer_frames", [0, 1, 3])
@pytest.mark.parametrize("fps", [23.976, 25, 29.97, 30, 59.94, 60])
def test_frames_on_schedule_are_never_late(fps: float, buffer_frames: int) -> None:
    frames = math.ceil(3 * fps)  # every frame due before the end of a 3 s run
    completions = [_completion(k, _on_time(k, fps)) for k in range(frames)]

    stats = _analyse(completions, fps=fps, buffer_frames=buffer_frames, run_ms=3000)

    assert stats.frames_read == frames
    assert stats.late_frames == 0
    assert stats.dropped_frames == 0
    assert stats.worst_lateness_ms == 0.0


def test_a_stall_longer_than_the_buffer_drops_frames_though_the_average_recovers() -> None:
    """30 fps, buffer 3 frames = 100 ms. Nothing arrives from 1000 ms to 1305 ms, then fio's
    rate limiter catches up with a burst: frames 30..39 all complete at 1305 ms."""
    fps, frames = 30, 90
    completions = []
    for k in range(frames):
        time_ms = 1305 if 30 <= k <= 39 else _on_time(k, fps)
        completions.append(_completion(k, time_ms))
    smooth = _analyse([_completion(k, _on_time(k, fps)) for k in range(frames)], run_ms=3000)

    stats = _analyse(completions, run_ms=3000)

    # Frame k is due at (k + 3) / 30 s: frames 30..36 (due 1100..1300 ms) are late.
    assert stats.late_frames == 7
    assert stats.dropped_frames == 7
    assert stats.missing_frames == 0
    assert stats.first_late_frame == 30
    assert stats.first_late_time_ms == 1305
    assert stats.worst_lateness_ms == pytest.approx(1305 - 1100)
    # Every frame arrived and the average rate is the same as without the stall.
    assert stats.frames_read == frames
    assert stats.bytes_read == smooth.bytes_read
    assert stats.achieved_mb_s() == pytest.approx(smooth.achieved_mb_s())


def test_a_stall_shorter_than_the_buffer_drops_nothing() -> None:
    """An 80 ms stall at 30 fps with a 100 ms buffer: frames 30..32 arrive together at 1080 ms,
    before frame 30 is due at 1100 ms."""
    fps = 30
    completions = [_completion(k, 1080 if 30 <= k <= 32 else _on_time(k, fps)) for k in range(90)]

    stats = _analyse(completions, run_ms=3000)

    assert stats.late_frames == 0
    assert stats.dropped_frames == 0
    assert stats.worst_lateness_ms == 0.0
    assert stats.first_late_frame is None


def test_lateness_is_judged_against_each_frames_own_deadline() -> None:
    """One frame 1 ms past its deadline is late; one exactly on it is not."""
    fps = 25  # 40 ms frames, buffer 3: frame k is due at (k + 3) * 40 ms
    completions = [_completion(k, _on_time(k, fps)) for k in range(50)]
    completions[10] = _completion(10, 13 * 40 + 1)
    completions[20] = _completion(20, 23 * 40)

    stats = _analyse(completions, fps=fps, run_ms=2000)

    assert stats.late_frames == 1
    assert stats.first_late_frame == 10
    assert stats.worst_lateness_ms == pytest.approx(1.0)


def test_frames_that_never_arrive_are_dropped() -> None:
    """The drive stops answering at 2 s of a 3 s run: frames due before the end are missing."""
    fps = 30
    completions = [_completion(k, _on_time(k, fps)) for k in range(60)]

    stats = _analyse(completions, run_ms=3000)

    assert stats.due_frames == 90 - 3
    assert stats.frames_read == 60
    assert stats.late_frames == 0
    assert stats.missing_frames == 27
    assert stats.dropped_frames == 27


def test_frames_read_after_their_due_window_are_not_counted_missing() -> None:
    completions = [_completion(k, _on_time(k, 30)) for k in range(95)]

    stats = _analyse(completions, run_ms=3000)

    assert stats.frames_read == 95
    assert stats.missing_frames == 0


def test_a_run_shorter_than_the_buffer_has_no_due_frame() -> None:
    stats = _analyse([], run_ms=50)

    assert stats.due_frames == 0
    assert stats.dropped_frames == 0
    assert stats.achieved_mb_s() == 0.0
    assert stats.latency_percentile_ms(99) == 0.0


def test_the_last_frame_due_inside_the_run_must_arrive() -> None:
    """30 fps, buffer 3, a 1020 ms run: frame 27 is due at (27 + 3) / 30 s = 1000 ms, inside
    the run. If it never arrives, that is a dropped frame."""
    completions = [_completion(k, _on_time(k, 30)) for k in range(27)]

    stats = _analyse(completions, run_ms=1020)

    assert stats.dropped_frames == 1


# --- latency percentiles -----------------------------------------------------------------


def test_percentiles_come_from_the_histogram() -> None:
    """1001 frames: 991 at 2.05 ms, 9 at 20.05 ms, 1 at 45 ms."""
    latencies = [2_050_000] * 991 + [20_050_000] * 9 + [45_000_000]
    completions = [
        _completion(k, _on_time(k, 30), latency_ns=latency) for k, latency in enumerate(latencies)
    ]

    stats = _analyse(completions, run_ms=40_000)

    # Reported as the upper edge of the 0.1 ms bucket, never above the maximum.
    assert stats.latency_percentile_ms(50) == pytest.approx(2.1)
    assert stats.latency_percentile_ms(99) == pytest.approx(2.1)
    assert stats.latency_percentile_ms(99.9) == pytest.approx(20.1)
    assert stats.latency_percentile_ms(100) == pytest.approx(45.0)
    assert stats.max_latency_ms == pytest.approx(45.0)
    assert LATENCY_BUCKET_NS == 100_000


def test_p999_of_1000_frames_is_the_999th_latency() -> None:
    latencies = [1 * MS] * 999 + [50 * MS]
    completions = [
        _completion(k, _on_time(k, 30), latency_ns=latency) for k, latency in enumerate(latencies)
    ]

    stats = _analyse(completions, run_ms=40_000)

    assert stats.latency_percentile_ms(99.9) == pytest.approx(1.1)


# --- frame numbers across passes over a looping file -------------------------------------


def test_frame_indexer_counts_passes_with_out_of_order_completions_around_the_wrap() -> None:
    indexer = FrameIndexer(frame_bytes=4096, file_bytes=10 * 4096)
    offsets = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 2, 3]

    frames = [indexer.index(offset * 4096) for offset in offsets]

    first_pass = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    second_pass = [10, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    third_pass = [21, 20, 22, 23]
    assert frames == [*first_pass, *second_pass, *third_pass]


def test_frame_indexer_over_many_passes() -> None:
    indexer = FrameIndexer(frame_bytes=8192, file_bytes=8 * 8192 + 100)

    frames = [indexer.index((k % 8) * 8192) for k in range(80)]

    assert indexer.frames_per_pass == 8
    assert frames == list(range(80))


def test_analyse_a_looping_file_with_a_reordered_wrap() -> None:
    """A 10-frame file played for 3 s at 30 fps: 9 passes, frames swapped at each wrap."""
    fps = 30
    order = list(range(90))
    for wrap in range(10, 90, 10):
        order[wrap - 1], order[wrap] = order[wrap], order[wrap - 1]
    completions = [
        Completion(
            time_ms=_on_time(position, fps),
            latency_ns=2 * MS,
            block_bytes=FRAME_BYTES,
            offset_bytes=(frame % 10) * FRAME_BYTES,
        )
        for position, frame in enumerate(order)
    ]

    stats = analyse(
        completions,
        fps=fps,
        buffer_frames=3,
        frame_bytes=FRAME_BYTES,
        file_bytes=10 * FRAME_BYTES,
        run_ms=3000,
    )

    assert stats.frames_read == 90
    assert stats.dropped_frames == 0


@pytest.mark.parametrize("frames_per_pass", [0, 1, 2])
def test_frame_indexer_refuses_a_file_too_small_to_tell_passes_apart(frames_per_pass: int) -> None:
    with pytest.raises(ValueError, match="at least 3 frames"):
        FrameIndexer(frame_bytes=4096, file_bytes=frames_per_pass * 4096)


def test_frame_indexer_with_the_smallest_file() -> None:
    indexer = FrameIndexer(frame_bytes=4096, file_bytes=3 * 4096)

    frames = [indexer.index((k % 3) * 4096) for k in range(9)]

    assert frames == list(range(9))


# --- bounded memory ----------------------------------------------------------------------


def test_two_million_completions_are_analysed_in_bounded_memory() -> None:
    """About nine hours of a 60 fps stream, fed through a generator: the latency histogram
    stays at a few hundred buckets, not one entry per frame."""
    count, fps, frames_per_pass = 2_000_000, 60, 100

    def completions() -> Iterator[Completion]:
        for k in range(count):
            yield Completion(
                (k * 1000) // fps,
                ((k * 7919) % 500) * LATENCY_BUCKET_NS + 50_000,
                FRAME_BYTES,
                (k % frames_per_pass) * FRAME_BYTES,
            )

    started = time.perf_counter()
    stats = analyse(
        completions(),
        fps=fps,
        buffer_frames=3,
        frame_bytes=FRAME_BYTES,
        file_bytes=frames_per_pass * FRAME_BYTES,
        run_ms=count * 1000 / fps,
    )
    elapsed = time.perf_counter() - started

    assert stats.frames_read == count
    assert stats.dropped_frames == 0
    histogram = stats._latency_histogram
    assert len(histogram) == 500
    assert len(histogram) < 20_000 < count
    assert sum(histogram.values()) == count
    assert stats.max_latency_ms == pytest.approx(49.95)
    assert elapsed < 30, f"analysing 2,000,000 completions took {elapsed:.1f} s"


def _late(late_ms: dict[int, int], fps: float = 30, frames: int = 90) -> list[Completion]:
    """Frames on time except those in `late_ms`: frame -> ms past its deadline (buffer 3)."""
    return [
        _completion(
            index,
            _on_time(index + 3, fps) + late_ms[index] if index in late_ms else _on_time(index, fps),
        )
        for index in range(frames)
    ]


def _analyse_with_peaks(
    completions: list[Completion], *windows_ms: tuple[float, float]
) -> FrameStats:
    return analyse(
        completions,
        fps=30,
        buffer_frames=3,
        frame_bytes=FRAME_BYTES,
        file_bytes=10_000 * FRAME_BYTES,
        run_ms=3000,
        peak_windows_ms=windows_ms,
    )


def test_late_frames_inside_a_peak_window_are_told_apart_from_normal_drops() -> None:
    # Frames 30-32 are due at 1100-1167 ms, inside the window; frames 70-71 well after it.
    stats = _analyse_with_peaks(_late({30: 40, 31: 40, 32: 40, 70: 40, 71: 40}), (1000, 1500))

    assert stats.late_frames == 5
    assert stats.late_frames_in_peaks == 3
    assert stats.dropped_frames_outside_peaks == 2 + stats.missing_frames


def test_a_late_run_that_began_in_a_peak_counts_as_the_peaks_until_a_frame_is_on_time() -> None:
    # A crossfade's backlog: late from frame 40 (due 1433 ms) to frame 59 (due 2067 ms), then
    # on time, then late again at frame 70 (due 2433 ms), which is normal playback's fault.
    backlog = {frame: 60 for frame in range(40, 60)}
    stats = _analyse_with_peaks(_late({**backlog, 70: 10}), (1400, 1500))

    assert stats.late_frames == 21
    assert stats.late_frames_in_peaks == 20
    assert stats.dropped_frames_outside_peaks == 1 + stats.missing_frames


def test_without_peak_windows_every_drop_is_a_normal_drop() -> None:
    stats = _analyse_with_peaks(_late({frame: 60 for frame in range(40, 45)}))

    assert stats.late_frames == 5
    assert stats.late_frames_in_peaks == 0
    assert stats.dropped_frames_outside_peaks == stats.dropped_frames


def test_a_stream_starting_at_an_offset_counts_frames_from_there() -> None:
    base = 500 * FRAME_BYTES
    completions = [
        Completion(_on_time(index, 30), 2 * MS, FRAME_BYTES, base + index * FRAME_BYTES)
        for index in range(60)
    ]

    stats = analyse(
        completions,
        fps=30,
        buffer_frames=3,
        frame_bytes=FRAME_BYTES,
        file_bytes=1000 * FRAME_BYTES,
        run_ms=2000,
        base_offset_bytes=base,
    )

    assert stats.frames_read == 60
    assert stats.dropped_frames == 0
