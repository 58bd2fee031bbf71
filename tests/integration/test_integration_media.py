"""The show's own media replayed by the installed fio through its iolog: the timestamp unit is
what pytest-qlab writes, two movies play drop-free on this disk, and neither is touched."""

from __future__ import annotations

import hashlib
import itertools
import statistics
from pathlib import Path

import pytest

from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.runner import FioRunner, locate_fio
from pytest_qlab.measure.frames import read_completions
from pytest_qlab.media.framemap import read_frame_map
from pytest_qlab.media.iolog import IOLOG_HEADER, TRACE_ORIGIN_TICKS, iolog_ticks_per_s
from pytest_qlab.media.playback import play_media
from tests.helpers.media import make_movie

pytestmark = [pytest.mark.integration, pytest.mark.timing]

CALIBRATION_READS = 30
CALIBRATION_SPACING_TICKS = 33_000


@pytest.fixture
def runner(tmp_path: Path) -> FioRunner:
    return FioRunner(locate_fio(), tmp_path / "fio-work")


def test_iolog_timestamp_unit_of_the_installed_fio(runner: FioRunner, tmp_path: Path) -> None:
    """Reads 33000 ticks apart complete ~33 ms apart: the unit is the one the table gives."""
    ticks_per_s = iolog_ticks_per_s(runner.fio.version, tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    (data / "block.bin").write_bytes(b"\x5a" * (CALIBRATION_READS * 8192))
    lines = [IOLOG_HEADER, f"{TRACE_ORIGIN_TICKS} block.bin add"]
    lines.append(f"{TRACE_ORIGIN_TICKS} block.bin open")
    for read in range(CALIBRATION_READS):
        ticks = TRACE_ORIGIN_TICKS + read * CALIBRATION_SPACING_TICKS
        lines.append(f"{ticks} block.bin read {read * 8192} 4096")
    lines.append(
        f"{TRACE_ORIGIN_TICKS + CALIBRATION_READS * CALIBRATION_SPACING_TICKS} block.bin close"
    )
    (data / "trace.iolog").write_text("\n".join(lines) + "\n", encoding="ascii")
    job = FioJob(
        name="calibrate",
        filename="block.bin",
        rw="read",
        block_size_bytes=4096,
        size_bytes=CALIBRATION_READS * 8192,
        read_iolog="trace.iolog",
        lat_log_prefix=str(tmp_path / "calibrate"),
    )
    runner.run(FioJobFile(directory=data, jobs=(job,), readonly=True), label="calibrate")
    (log,) = tmp_path.glob("calibrate_lat.*.log")
    times_ms = [completion.time_ms for completion in read_completions(log)]
    assert len(times_ms) == CALIBRATION_READS
    gaps_ms = [later - earlier for earlier, later in itertools.pairwise(times_ms)]
    expected_ms = CALIBRATION_SPACING_TICKS / ticks_per_s * 1000
    assert statistics.median(gaps_ms) == pytest.approx(expected_ms, abs=3)
    span_ms = times_ms[-1] - times_ms[0]
    assert span_ms == pytest.approx((CALIBRATION_READS - 1) * expected_ms, rel=0.1)


def _fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_size


def test_two_movies_play_drop_free_and_are_not_touched(runner: FioRunner, tmp_path: Path) -> None:
    show = tmp_path / "Show #2"  # characters fio would misread in a job file
    show.mkdir()
    movies = [
        make_movie(show / "back drop.mov", profile=3, seconds=3.0),
        make_movie(show / "logo.mov", profile=4, seconds=3.0),
    ]
    before = {movie.path: _fingerprint(movie.path) for movie in movies}
    maps = [read_frame_map(movie.path) for movie in movies]
    playback = play_media(runner, maps, buffer_frames=3, label="media")
    assert playback.dropped == 0, playback.failures()
    for result, movie in zip(playback.files, movies, strict=True):
        assert result.frames.frames_read == movie.frames
        assert result.frames.due_frames == movie.frames
        assert result.unmatched_completions == 0
        assert result.audio_reads == len(result.frame_map.audio_sizes)
        # every frame and chunk read once, plus the 4 KiB alignment (inside the file)
        assert result.bytes_read == result.schedule.map_bytes + result.schedule.alignment_bytes
        assert result.frames.last_completion_ms >= 0.9 * result.frame_map.duration_s * 1000
    assert {movie.path: _fingerprint(movie.path) for movie in movies} == before
    assert sorted(p.name for p in show.iterdir()) == ["back drop.mov", "logo.mov"]
    assert not (runner.work_dir / "media-media").exists()
