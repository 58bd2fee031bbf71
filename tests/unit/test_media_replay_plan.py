"""The replay plan of a movie without fio: rates and peaks, alignment, read order and times,
the iolog text, the fio job and the judging of a recorded completion log."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import pytest

from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.measure.frames import Completion
from pytest_qlab.media.codecs import describe
from pytest_qlab.media.errors import MediaReplayError, MediaSampleTableError
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.iolog import iolog_text, iolog_ticks_per_s
from pytest_qlab.media.playback import (
    MAX_TRACE_JOBS,
    judge,
    judge_trace,
    on_schedule,
    plan_files,
    trace_jobs,
    trace_video_jobs,
)
from pytest_qlab.media.rates import frame_sizes, media_rates, peak_window_bytes
from pytest_qlab.media.schedule import AUDIO, align_read, schedule_reads

MS = 1_000_000


def _map(
    frames: list[tuple[int, int, int]],
    audio: Sequence[tuple[int, int, int]] = (),
    *,
    fps: Fraction = Fraction(25),
    file_bytes: int = 10**9,
) -> FrameMap:
    """A map from (offset, size, time_us) rows."""
    interval = round(1_000_000 / fps)
    return FrameMap(
        path=Path("/show/clip.mov"),
        file_bytes=file_bytes,
        codec=describe("prores", "apch"),
        width=1920,
        height=1080,
        fps=fps,
        frame_offsets=array("q", (f[0] for f in frames)),
        frame_sizes=array("q", (f[1] for f in frames)),
        frame_times_us=array("q", (f[2] for f in frames)),
        frame_durations_us=array("q", (interval for _ in frames)),
        audio_offsets=array("q", (a[0] for a in audio)),
        audio_sizes=array("q", (a[1] for a in audio)),
        audio_times_us=array("q", (a[2] for a in audio)),
        probe_bytes_read=0,
    )


def test_alignment_rounds_the_start_down_and_the_end_up() -> None:
    assert align_read(0, 4096, 4096) == (0, 4096)
    assert align_read(36, 45962, 4096) == (0, 49152)  # bytes 36..45998 -> blocks 0..12
    assert align_read(4096, 1, 4096) == (4096, 4096)
    assert align_read(8191, 2, 4096) == (4096, 8192)
    assert align_read(123, 456, 1) == (123, 456)


def test_schedule_reads_in_file_order_at_their_times_and_counts_alignment() -> None:
    frame_map = _map(
        [(100, 5000, 0), (11_000, 6000, 40_000), (20_000, 5000, 80_000)],
        [(5100, 5900, 0), (17_000, 3000, 40_000)],
    )
    schedule = schedule_reads(frame_map, buffer_frames=3, alignment_bytes=4096)
    assert list(schedule.frame_index) == [0, AUDIO, 1, AUDIO, 2]
    assert list(schedule.issue_us) == [0, 0, 40_000, 40_000, 80_000]
    assert list(schedule.offset_bytes) == [0, 4096, 8192, 16384, 16384]
    assert list(schedule.length_bytes) == [8192, 8192, 12288, 4096, 12288]
    assert schedule.map_bytes == frame_map.media_bytes == 24_900
    assert schedule.read_bytes == schedule.requested_bytes
    assert schedule.alignment_bytes == sum(schedule.length_bytes) - 24_900


def test_issue_times_never_go_back() -> None:
    """An audio chunk stored after a frame but timed before it is read after it, at once."""
    frame_map = _map([(0, 4096, 40_000)], [(4096, 4096, 30_000)])
    schedule = schedule_reads(frame_map, buffer_frames=2, alignment_bytes=4096)
    assert list(schedule.issue_us) == [40_000, 40_000]


def test_iolog_text_is_fio_version_3() -> None:
    frame_map = _map([(0, 4096, 0), (8192, 5000, 33_367)], [(4096, 4000, 0)])
    schedule = schedule_reads(frame_map, buffer_frames=3, alignment_bytes=4096)
    assert iolog_text(schedule, "media-01").splitlines() == [
        "fio version 3 iolog",
        "1 media-01 add",
        "1 media-01 open",
        "1 media-01 read 0 4096",
        "1 media-01 read 4096 4096",
        "33368 media-01 read 8192 8192",
        "33368 media-01 close",
    ]


def test_iolog_unit_per_fio_version() -> None:
    path = Path("/show/clip.mov")
    assert iolog_ticks_per_s((3, 33), path) == 1_000_000
    assert iolog_ticks_per_s((3, 41), path) == 1_000_000
    with pytest.raises(MediaReplayError, match=r"fio 3\.30 cannot replay a timed trace"):
        iolog_ticks_per_s((3, 30), path)


def test_peak_is_the_busiest_second() -> None:
    # 10 frames a second at 1 MB, then one second with a 5 MB frame in it
    samples = [(k * 100_000, 1_000_000) for k in range(30)]
    samples[15] = (1_500_000, 5_000_000)
    assert peak_window_bytes(iter(samples)) == 14_000_000
    # a window is [t - 1 s, t]: samples exactly 1 s apart are not in one window
    assert peak_window_bytes(iter([(0, 7), (1_000_000, 5)])) == 7


def test_mean_and_peak_rates_count_video_and_audio() -> None:
    frames = [(k * 100_000, 1_000_000, k * 40_000) for k in range(50)]  # 2 s at 25 fps
    audio = [(k * 100_000 + 90_000, 100_000, k * 40_000) for k in range(50)]
    frames[30] = (3_000_000, 3_000_000, 30 * 40_000)
    rates = media_rates(_map(frames, audio))
    assert rates.mean_mb_s == pytest.approx(57 / 2)
    assert rates.peak_mb_s == pytest.approx(27.5 + 2)  # 25 frames, 25 chunks, one frame +2 MB


def test_frame_size_distribution() -> None:
    sizes = frame_sizes(list(range(1, 101)))
    assert (sizes.smallest_bytes, sizes.largest_bytes) == (1, 100)
    assert sizes.median_bytes in (50, 51)
    assert sizes.p99_bytes == 99
    assert sizes.mean_bytes == 50.5


def test_a_files_trace_is_a_video_job_and_an_audio_job_each_with_its_log(tmp_path: Path) -> None:
    frame_map = _map(
        [(0, 4096, 0), (12288, 50_000, 40_000)], [(4096, 8000, 0)], file_bytes=1_000_000
    )
    (planned,) = plan_files([frame_map], buffer_frames=3, alignment_bytes=4096)

    jobs = trace_jobs(
        tmp_path,
        "media-01",
        planned.schedule,
        file_bytes=frame_map.file_bytes,
        log_dir=tmp_path / "logs",
        ticks_per_s=1_000_000,
    )

    assert [job.name for job in jobs] == ["media-01", "media-01-audio"]
    video, audio = (job.render().splitlines() for job in jobs)
    for line in (
        "filename=media-01",
        "read_iolog=media-01.iolog",
        "direct=1",
        "invalidate=1",  # the report says the show's cached pages were dropped first
        "iodepth=1",
        f"write_lat_log={tmp_path / 'logs' / 'media-01'}",
        "log_offset=1",
        "log_avg_msec=0",
        "bs=53248",
        "size=999424",
    ):
        assert line in video
    assert "filename=media-01" in audio, "both jobs read the same file"
    assert "read_iolog=media-01-audio.iolog" in audio
    video_trace = (tmp_path / "media-01.iolog").read_text().splitlines()
    audio_trace = (tmp_path / "media-01-audio.iolog").read_text().splitlines()
    assert [line for line in video_trace if " read " in line] == [
        "1 media-01 read 0 4096",
        "40001 media-01 read 12288 53248",
    ], "frames a frame interval apart: no audio read in between to push them back"
    assert [line for line in audio_trace if " read " in line] == ["1 media-01 read 4096 8192"]
    job_file = FioJobFile(directory=tmp_path, jobs=tuple(jobs), readonly=True)
    assert "readonly" not in job_file.render()  # a command-line flag: fio calls it a bad option


def test_plan_refuses_a_table_past_the_end_of_the_file() -> None:
    frame_map = _map([(0, 4096, 0), (900_000, 200_000, 40_000)], file_bytes=1_000_000)
    with pytest.raises(MediaSampleTableError, match="video frame 1 lies at bytes"):
        plan_files([frame_map], buffer_frames=3)


def _completion(time_ms: int, offset: int, length: int, *, latency_ms: int = 1) -> Completion:
    return Completion(
        time_ms=time_ms, latency_ns=latency_ms * MS, block_bytes=length, offset_bytes=offset
    )


def test_judge_maps_completions_to_frames_by_offset() -> None:
    frame_map = _map([(0, 4096, 0), (8192, 4096, 40_000), (16384, 4096, 80_000)], [(4096, 4096, 0)])
    schedule = schedule_reads(frame_map, buffer_frames=1, alignment_bytes=4096)
    completions = [
        _completion(1, 0, 4096),
        _completion(1, 4096, 4096),  # audio
        _completion(41, 8192, 4096),
        _completion(150, 16384, 4096),  # frame 2 is due at (2 + 1) * 40 = 120 ms
        _completion(151, 999_424, 4096),  # never asked for
    ]
    stats, bytes_read, audio_reads, unmatched = judge(
        schedule, completions, fps=25.0, frames=frame_map.frames
    )
    assert (stats.frames_read, stats.late_frames, stats.dropped_frames) == (3, 1, 1)
    assert stats.first_late_frame == 2
    assert stats.worst_lateness_ms == pytest.approx(30)
    assert (bytes_read, audio_reads, unmatched) == (16384, 1, 1)


def test_judge_counts_frames_that_never_arrived_and_short_reads_at_the_end() -> None:
    frame_map = _map([(0, 4096, 0), (4096, 3000, 40_000)], file_bytes=7096)
    schedule = schedule_reads(frame_map, buffer_frames=2, alignment_bytes=4096)
    # fio logs a short read at the end of the file with its offset advanced by what it got
    short = _completion(45, 4096 + 3000, 3000)
    stats, bytes_read, _, unmatched = judge(schedule, [short], fps=25.0, frames=2)
    assert (stats.frames_read, stats.missing_frames, unmatched) == (1, 1, 0)
    assert bytes_read == 3000
    # the aligned read asks for 4096 bytes; the 1096 past the end of the file are never read
    assert schedule.requested_bytes == 8192
    assert schedule.read_bytes == 7096


def test_a_player_buffer_of_three_deals_the_frames_to_three_video_jobs(tmp_path: Path) -> None:
    """Each job's reads are three frame intervals apart; the logs, merged in completion order,
    judge every frame once."""
    frames = [(k * 8192, 4096, k * 40_000) for k in range(7)]
    frame_map = _map(frames, [(4096, 4096, 0)], fps=Fraction(25), file_bytes=1_000_000)
    schedule = schedule_reads(frame_map, buffer_frames=3, alignment_bytes=4096)
    logs = tmp_path / "logs"
    logs.mkdir()

    jobs = trace_jobs(
        tmp_path,
        "media-01",
        schedule,
        file_bytes=10**6,
        log_dir=logs,
        ticks_per_s=10**6,
        video_jobs=3,
    )

    assert [job.name for job in jobs] == [
        "media-01",
        "media-01-v2",
        "media-01-v3",
        "media-01-audio",
    ]
    first = (tmp_path / "media-01-v2.iolog").read_text().splitlines()
    assert [line for line in first if " read " in line] == [
        "40001 media-01 read 8192 4096",
        "160001 media-01 read 32768 4096",
    ], "frames 1 and 4: three intervals apart"
    for part, numbers in (
        ("media-01", (0, 3, 6)),
        ("media-01-v2", (1, 4)),
        ("media-01-v3", (2, 5)),
    ):
        lines = [f"{k * 40 + 1}, 500000, 0, 4096, {k * 8192}, 0" for k in numbers]
        if part == "media-01":
            # frame 6, issued at 240 ms, takes the drive 200 ms: late for (6 + 3) * 40 ms
            lines[-1] = "441, 200000000, 0, 4096, 49152, 0"
        (logs / f"{part}_lat.1.log").write_text("\n".join(lines) + "\n")
    (logs / "media-01-audio_lat.1.log").write_text("1, 100000, 0, 4096, 4096, 0\n")
    judged = judge_trace(
        schedule, logs, "media-01", fps=25.0, frames=frame_map.frames, video_jobs=3
    )
    assert (judged.frames.frames_read, judged.frames.dropped_frames) == (7, 1)
    assert judged.frames.first_late_frame == 6
    assert (judged.audio_reads, judged.unmatched_completions) == (1, 0)


def test_many_files_at_once_share_the_jobs_a_replay_may_run() -> None:
    assert trace_video_jobs(3, 2) == 3
    assert trace_video_jobs(0, 2) == 1, "no buffer: one job, the reads one after another"
    assert trace_video_jobs(3, 40) == 1, "40 files: one video job each (and one audio)"
    assert trace_video_jobs(8, 12) * 12 + 12 <= MAX_TRACE_JOBS


def test_fios_late_issue_is_not_the_drives_but_a_slow_read_delays_the_next() -> None:
    """Frames 40 ms apart, each read taking the drive 2 ms: fio logged them ever later (its
    own drift); on the player's schedule they are on time. A 100 ms read pushes the one
    queued behind it back by what it overran."""
    frame_map = _map([(k * 4096, 4096, k * 40_000) for k in range(4)], fps=Fraction(25))
    schedule = schedule_reads(frame_map, buffer_frames=1, alignment_bytes=4096)
    logged = [
        _completion(2, 0, 4096, latency_ms=2),
        _completion(60, 4096, 4096, latency_ms=2),  # fio issued it 18 ms late
        _completion(200, 8192, 4096, latency_ms=100),  # issued 20 ms late, slow
        _completion(205, 12288, 4096, latency_ms=2),
        _completion(206, 999_424, 4096, latency_ms=1),  # never asked for
    ]

    timed = list(on_schedule(schedule, logged))

    assert [completion.time_ms for completion in timed] == [2, 42, 180, 182, 206]
    stats, _, _, unmatched = judge(schedule, timed, fps=25.0, frames=4)
    # frame 2 arrives after its (2 + 1) * 40 = 120 ms deadline, frame 3 after its 160 ms
    assert (stats.late_frames, stats.first_late_frame, unmatched) == (2, 2, 1)
