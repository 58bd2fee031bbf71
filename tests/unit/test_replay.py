from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_qlab.core.profiles import DEFAULT_PROFILE, StreamSpec
from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.measure.frames import Completion, FrameStats, analyse
from pytest_qlab.measure.replay import (
    REPLAY_IODEPTH,
    ReplayResult,
    ReplayStream,
    StreamResult,
    expand,
    replay_job_file,
    stream_count,
)

FILE_BYTES = 129 * BYTES_PER_MIB
UHD_HQ = StreamSpec(name="backdrop", codec="hq", raster="3840x2160", fps=29.97)


def _names(count: int) -> list[str]:
    return [f"stream-{index:02d}.bin" for index in range(1, count + 1)]


def test_expand_the_default_crossfade_numbers_duplicated_labels() -> None:
    specs = DEFAULT_PROFILE.crossfade_streams

    streams = expand(specs, _names(8), FILE_BYTES)

    assert stream_count(specs) == 8
    assert [stream.label for stream in streams] == [
        "4K (440 MB/s at 29.97 fps) #1",
        "HD (72 MB/s at 29.97 fps) #1",
        "HD (72 MB/s at 29.97 fps) #2",
        "HD (72 MB/s at 29.97 fps) #3",
        "4K (440 MB/s at 29.97 fps) #2",
        "HD (72 MB/s at 29.97 fps) #4",
        "HD (72 MB/s at 29.97 fps) #5",
        "HD (72 MB/s at 29.97 fps) #6",
    ]
    assert [stream.file_name for stream in streams] == _names(8)
    assert {stream.file_bytes for stream in streams} == {FILE_BYTES}


def test_expand_leaves_single_streams_unnumbered() -> None:
    streams = expand(DEFAULT_PROFILE.streams, _names(4), FILE_BYTES)

    assert [stream.label for stream in streams] == [
        "4K (440 MB/s at 29.97 fps)",
        "HD (72 MB/s at 29.97 fps) #1",
        "HD (72 MB/s at 29.97 fps) #2",
        "HD (72 MB/s at 29.97 fps) #3",
    ]
    assert [stream.spec.mb_s for stream in streams] == [440, 72, 72, 72]


def test_expand_uses_only_the_files_it_needs() -> None:
    streams = expand((UHD_HQ,), _names(5), FILE_BYTES)

    assert [(stream.label, stream.file_name) for stream in streams] == [
        ("backdrop (UHD ProRes 422 HQ 29.97)", "stream-01.bin")
    ]


def test_expand_refuses_too_few_files() -> None:
    with pytest.raises(ValueError, match="8 streams need as many files, got 3"):
        expand(DEFAULT_PROFILE.crossfade_streams, _names(3), FILE_BYTES)


def test_replay_bytes_are_whole_frames() -> None:
    (stream,) = expand((UHD_HQ,), _names(1), FILE_BYTES)

    assert stream.replay_bytes % UHD_HQ.frame_bytes == 0
    assert FILE_BYTES - UHD_HQ.frame_bytes < stream.replay_bytes <= FILE_BYTES


def test_replay_job_file_renders_one_rate_limited_job_per_stream(tmp_path: Path) -> None:
    streams = expand(DEFAULT_PROFILE.streams, _names(4), FILE_BYTES)
    log_dir = tmp_path / "normal_playback-logs"

    job_file = replay_job_file(tmp_path / "run", streams, 5.0, log_dir)
    text = job_file.render()

    assert job_file.directory == tmp_path / "run"
    assert [job.name for job in job_file.jobs] == [f"stream-{i:02d}" for i in range(1, 5)]
    for job, stream in zip(job_file.jobs, streams, strict=True):
        assert job.filename == stream.file_name
        assert job.rw == "read"
        assert job.block_size_bytes == stream.spec.frame_bytes
        assert job.size_bytes == stream.replay_bytes
        assert job.rate_bytes_s == stream.spec.rate_bytes_s
        assert job.iodepth == REPLAY_IODEPTH == 2
        assert job.direct is True
        assert job.runtime_ms == 5000
        assert job.stonewall is False, "the streams play at once"
        assert job.lat_log_prefix == str(log_dir / job.name)
        assert Path(job.lat_log_prefix).is_absolute()
    assert text.count("[stream-") == 4
    assert f"bs={DEFAULT_PROFILE.streams[0].frame_bytes}\n" in text
    assert f"rate={DEFAULT_PROFILE.streams[0].rate_bytes_s}\n" in text
    assert re.findall(r"^rate=(.*)$", text, re.MULTILINE) == [
        str(stream.spec.rate_bytes_s) for stream in streams
    ]
    assert all(value.isdigit() for value in re.findall(r"^rate=(.*)$", text, re.MULTILINE))
    assert text.count("iodepth=2\n") == 4
    assert text.count("direct=1\n") == 4
    assert text.count("time_based=1\n") == 4
    assert text.count("runtime=5000ms\n") == 4
    assert f"write_lat_log={log_dir}/stream-01\n" in text
    assert text.count("log_offset=1\n") == 4
    assert text.count("log_avg_msec=0\n") == 4
    assert str(tmp_path / "run") not in text.replace(str(log_dir), "")


def test_replay_job_file_rounds_the_duration_to_milliseconds(tmp_path: Path) -> None:
    streams = expand((UHD_HQ,), _names(1), FILE_BYTES)

    (job,) = replay_job_file(tmp_path, streams, 1.23456, tmp_path / "logs").jobs

    assert job.runtime_ms == 1235


def _frames(late_at: dict[int, int] | None = None, frames: int = 90) -> FrameStats:
    late_at = late_at or {}
    completions = [
        Completion(
            time_ms=late_at.get(k, k * 1000 // 30),
            latency_ns=3_000_000,
            block_bytes=40960,
            offset_bytes=k * 40960,
        )
        for k in range(frames)
    ]
    return analyse(
        completions,
        fps=30,
        buffer_frames=3,
        frame_bytes=40960,
        file_bytes=1000 * 40960,
        run_ms=3000,
    )


def _stream(label: str = "backdrop") -> ReplayStream:
    return ReplayStream(label, UHD_HQ, "stream-01.bin", FILE_BYTES)


def test_summary_of_a_clean_stream() -> None:
    summary = StreamResult(_stream(), _frames()).summary()

    assert summary.startswith("backdrop: 0 of 87 frames dropped; ")
    assert "ms late" not in summary
    assert "never arrived" not in summary
    assert "frame latency p99 3.0 ms, p99.9 3.0 ms, max 3.0 ms" in summary
    assert "against a 33.3 ms frame interval (buffer 3 frames)" in summary


def test_summary_of_a_stream_that_dropped_frames() -> None:
    frames = _frames(late_at={30: 1305, 31: 1305})

    result = StreamResult(_stream(), frames)
    summary = result.summary()

    assert result.dropped == 2
    assert summary.startswith("backdrop: 2 of 87 frames dropped")
    assert "worst 205.0 ms late (first at 1305 ms)" in summary
    assert "33.3 ms frame interval" in summary


def test_summary_of_a_stream_that_stopped() -> None:
    summary = StreamResult(_stream(), _frames(frames=80)).summary()

    assert summary.startswith("backdrop: 7 of 87 frames dropped, 7 never arrived")


def test_metadata_and_replay_totals() -> None:
    clean = StreamResult(_stream("a"), _frames())
    late = StreamResult(_stream("b"), _frames(late_at={30: 1305}))

    result = ReplayResult((clean, late), duration_s=3.0)

    assert result.dropped == 1
    assert result.frames_read == 180
    assert result.requested_mb_s == pytest.approx(2 * UHD_HQ.rate_bytes_s / 1e6)
    assert result.failures() == [late.summary()]
    metadata = late.metadata()
    assert metadata["stream"] == "b"
    assert metadata["dropped_frames"] == 1
    assert metadata["late_frames"] == 1
    assert metadata["missing_frames"] == 0
    assert metadata["frame_bytes"] == UHD_HQ.frame_bytes
    assert metadata["worst_lateness_ms"] == 205.0
    assert metadata["frame_interval_ms"] == 33.333
