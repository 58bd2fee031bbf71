"""Frame-accurate stream replay: play a show's streams from the drive at their real frame size
and rate, one fio job per stream, and time every frame against its deadline."""

from __future__ import annotations

import bisect
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from pytest_qlab.core.profiles import StreamSpec
from pytest_qlab.core.rows import ReportRow, frames_row, reads_text
from pytest_qlab.core.units import BYTES_PER_MB, NS_PER_MS
from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.runner import FioRunner, StatusCallback
from pytest_qlab.measure.frames import (
    LATENCY_BUCKET_NS,
    Completion,
    FrameStats,
    analyse,
    read_completions,
)
from pytest_qlab.measure.frametimes import FrameTimes, StreamFrameTimes
from pytest_qlab.measure.lateness import LatenessPoint, LatenessSeries
from pytest_qlab.measure.pool import PoolRegion, covered_bytes
from pytest_qlab.media.iolog import iolog_ticks_per_s
from pytest_qlab.media.movie_stream import MovieFrames, movie_schedule
from pytest_qlab.media.playback import judge_trace, trace_jobs, trace_video_jobs
from pytest_qlab.media.schedule import ReadSchedule, direct_io_alignment_bytes, video_frames_in

REPLAY_IODEPTH = 2
"""A player's read-ahead: the next frame is requested while this one is in flight. Small also
because macOS allows only 16 AIO requests per process and 90 system-wide."""


@dataclass(frozen=True)
class ReplayStream:
    """One playing stream: its spec and the pre-written file it reads; by default for the whole
    replay from the file's start, or (a crossfade's incoming cue) from `start_s` for `play_s`."""

    label: str
    spec: StreamSpec
    file_name: str
    file_bytes: int
    start_s: float = 0.0
    play_s: float | None = None
    """None: until the replay ends."""
    offset_bytes: int = 0
    """Where in its file the stream starts reading, aligned for direct I/O."""
    region_bytes: int | None = None
    """How much of the file from `offset_bytes` the stream loops over (a region of the read
    pool); None: to the end of the file."""
    peak_windows_ms: tuple[tuple[float, float], ...] = ()
    """Stretches of this stream's playback under peak load, told apart in its drops."""
    movie: MovieFrames | None = None
    """The movie the stream takes its frames from (fio replays its reads as a trace); None:
    constant frames of `spec.frame_bytes` at `spec.fps`."""

    @property
    def replay_bytes(self) -> int:
        """The part of the file the replay loops over, from `offset_bytes`: whole frames only."""
        available = self.file_bytes - self.offset_bytes
        if self.region_bytes is not None:
            available = min(available, self.region_bytes)
        return available - available % self.spec.frame_bytes

    @classmethod
    def in_region(cls, label: str, spec: StreamSpec, region: PoolRegion) -> ReplayStream:
        """A stream looping over a region of the read pool."""
        return cls(
            label,
            spec,
            region.file_name,
            region.end_bytes,
            offset_bytes=region.offset_bytes,
            region_bytes=region.size_bytes,
        )


def instance_labels(instances: Sequence[StreamSpec]) -> list[str]:
    """One label per playing instance: "HD #1", "HD #2" where a kind plays more than once."""
    totals = {
        spec.label: sum(other.label == spec.label for other in instances) for spec in instances
    }
    seen: dict[str, int] = {}
    labels = []
    for spec in instances:
        seen[spec.label] = seen.get(spec.label, 0) + 1
        labels.append(f"{spec.label} #{seen[spec.label]}" if totals[spec.label] > 1 else spec.label)
    return labels


def expand(
    specs: Sequence[StreamSpec], file_names: Sequence[str], file_bytes: int
) -> list[ReplayStream]:
    """One ReplayStream per playing instance (a spec with count 3 plays three streams)."""
    instances = [spec for spec in specs for _ in range(spec.count)]
    if len(instances) > len(file_names):
        raise ValueError(f"{len(instances)} streams need as many files, got {len(file_names)}")
    return [
        ReplayStream(label, spec, file_name, file_bytes)
        for label, spec, file_name in zip(
            instance_labels(instances), instances, file_names, strict=False
        )
    ]


def stream_count(specs: Sequence[StreamSpec]) -> int:
    return sum(spec.count for spec in specs)


@dataclass(frozen=True)
class StreamResult:
    stream: ReplayStream
    frames: FrameStats
    traced_bytes: int | None = None
    """What a movie stream's trace asked fio to read for its video frames (the bytes the frame
    analysis counts; audio chunks aside); None for a constant-rate stream."""
    lateness: tuple[LatenessPoint, ...] = ()
    """The worst lateness per bin of frames over the replay, a plot's worth of points."""

    def scheduled_bytes(self, duration_s: float) -> float:
        """What the stream was meant to read in a replay of `duration_s`."""
        if self.traced_bytes is not None:
            return self.traced_bytes
        return self.stream.spec.rate_bytes_s * (self.stream.play_s or duration_s)

    @property
    def dropped(self) -> int:
        return self.frames.dropped_frames

    @property
    def read_region(self) -> PoolRegion:
        """The bytes of its file the stream read: fio reads its region in order from the start
        and loops, so all of it once it read more than the region holds."""
        stream = self.stream
        size = min(self.frames.bytes_read, stream.replay_bytes)
        return PoolRegion(stream.file_name, stream.offset_bytes, size)

    @property
    def distinct_bytes(self) -> int:
        return self.read_region.size_bytes

    def summary(self) -> str:
        frames = self.frames
        text = f"{self.stream.label}: {frames.dropped_frames} of {frames.due_frames} frames dropped"
        if frames.late_frames:
            text += (
                f", worst {frames.worst_lateness_ms:.1f} ms late"
                f" (first at {frames.first_late_time_ms} ms)"
            )
        if frames.missing_frames:
            text += f", {frames.missing_frames} never arrived"
        return (
            f"{text}; frame latency p99 {frames.latency_percentile_ms(99):.1f} ms, "
            f"p99.9 {frames.latency_percentile_ms(99.9):.1f} ms, "
            f"max {frames.max_latency_ms:.1f} ms "
            f"against a {frames.frame_interval_ms:.1f} ms frame interval "
            f"(buffer {frames.buffer_frames} frames)"
        )

    def metadata(self) -> dict[str, JsonValue]:
        frames = self.frames
        movie = self.stream.movie
        played: dict[str, JsonValue] = {}
        if movie is not None:
            played = {
                "movie": str(movie.frame_map.path),
                "movie_read_from": "the show file" if movie.on_media else "scratch files",
                "movie_start_s": round(movie.from_s, 3),
            }
        return {
            "stream": self.stream.label,
            **played,
            "fps": frames.fps,
            "frame_bytes": self.stream.spec.frame_bytes,
            "offset_bytes": self.stream.offset_bytes,
            "region_bytes": self.stream.replay_bytes,
            "bytes_read": frames.bytes_read,
            "distinct_bytes": self.distinct_bytes,
            "requested_mb_s": round(self.stream.spec.rate_bytes_s / 1_000_000, 3),
            "achieved_mb_s": round(frames.achieved_mb_s(), 3),
            "frames_read": frames.frames_read,
            "due_frames": frames.due_frames,
            "dropped_frames": frames.dropped_frames,
            "late_frames": frames.late_frames,
            "missing_frames": frames.missing_frames,
            "worst_lateness_ms": round(frames.worst_lateness_ms, 3),
            "first_late_time_ms": frames.first_late_time_ms,
            "frame_interval_ms": round(frames.frame_interval_ms, 3),
            "latency_p99_ms": round(frames.latency_percentile_ms(99), 3),
            "latency_p999_ms": round(frames.latency_percentile_ms(99.9), 3),
            "latency_max_ms": round(frames.max_latency_ms, 3),
            "buffer_frames": frames.buffer_frames,
            "latency_histogram": _latency_histogram(frames),
            "lateness": [point.metadata() for point in self.lateness],
        }


LATENCY_HISTOGRAM_BINS = 40
"""Enough for the report's latency plot, few enough to keep the JSON small."""


def _latency_histogram(frames: FrameStats) -> list[JsonValue]:
    """The 0.1 ms latency buckets merged into some `LATENCY_HISTOGRAM_BINS` bins with
    geometric edges: the report plots the long tail on a log axis without hours of per-I/O data."""
    buckets = frames._latency_histogram  # the stats' own bounded histogram, read-only here
    if not buckets:
        return []
    low, high = min(buckets), max(buckets) + 1  # in 0.1 ms buckets
    ratio = (high / max(low, 1)) ** (1 / LATENCY_HISTOGRAM_BINS) if high > max(low, 1) else 2.0
    edges = [low]
    while edges[-1] < high:
        edges.append(max(edges[-1] + 1, math.ceil(edges[-1] * ratio)))
    counts = [0] * (len(edges) - 1)
    for bucket, frames_in in buckets.items():
        counts[bisect.bisect_right(edges, bucket) - 1] += frames_in
    bucket_ms = LATENCY_BUCKET_NS / NS_PER_MS
    return [
        {
            "from_ms": round(edges[i] * bucket_ms, 3),
            "to_ms": round(edges[i + 1] * bucket_ms, 3),
            "frames": count,
        }
        for i, count in enumerate(counts)
        if count
    ]


@dataclass(frozen=True)
class ReplayResult:
    streams: tuple[StreamResult, ...]
    duration_s: float

    @property
    def dropped(self) -> int:
        return sum(result.dropped for result in self.streams)

    @property
    def requested_mb_s(self) -> float:
        return sum(result.stream.spec.rate_bytes_s for result in self.streams) / 1_000_000

    @property
    def achieved_mb_s(self) -> float:
        return sum(result.frames.achieved_mb_s() for result in self.streams)

    @property
    def frames_read(self) -> int:
        return sum(result.frames.frames_read for result in self.streams)

    @property
    def scheduled_bytes(self) -> float:
        """What the streams were meant to read: rate x time, or a movie trace's reads."""
        return sum(result.scheduled_bytes(self.duration_s) for result in self.streams)

    @property
    def continuous_mb_s(self) -> float:
        """The rate the streams playing from the start ask for (a crossfade's incoming ones
        aside): the floor a phase's throughput must hold."""
        continuous = [result for result in self.streams if result.stream.start_s == 0]
        scheduled = sum(result.scheduled_bytes(self.duration_s) for result in continuous)
        return scheduled / self.duration_s / BYTES_PER_MB

    @property
    def bytes_read(self) -> int:
        return sum(result.frames.bytes_read for result in self.streams)

    @property
    def reads(self) -> tuple[PoolRegion, ...]:
        return tuple(result.read_region for result in self.streams)

    @property
    def distinct_bytes(self) -> int:
        """Bytes no other frame of this replay read: less than `bytes_read` when a stream
        looped over its region, or streams shared one."""
        return covered_bytes(self.reads)

    def failures(self) -> list[str]:
        return [result.summary() for result in self.streams if result.dropped]

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "streams": len(self.streams),
            "duration_s": round(self.duration_s, 3),
            "requested_mb_s": round(self.requested_mb_s, 3),
            "achieved_mb_s": round(self.achieved_mb_s, 3),
            "dropped_frames": self.dropped,
            "bytes_read": self.bytes_read,
            "distinct_bytes": self.distinct_bytes,
            "per_stream": [stream.metadata() for stream in self.streams],
        }

    def report_row(self) -> ReportRow:
        row = frames_row(self.achieved_mb_s, self.dropped, self.requested_mb_s)
        return ReportRow(
            f"{row.measured}; {reads_text(self.bytes_read, self.distinct_bytes)}", row.required
        )


def _constant_job(
    stream: ReplayStream, name: str, duration_s: float, lat_log_prefix: str
) -> FioJob:
    return FioJob(
        name=name,
        filename=stream.file_name,
        rw="read",
        block_size_bytes=stream.spec.frame_bytes,
        size_bytes=stream.replay_bytes,
        iodepth=REPLAY_IODEPTH,
        runtime_ms=round((stream.play_s or duration_s) * 1000),
        rate_bytes_s=stream.spec.rate_bytes_s,
        start_delay_ms=round(stream.start_s * 1000),
        offset_bytes=stream.offset_bytes,
        lat_log_prefix=lat_log_prefix,
    )


def replay_job_file(
    directory: Path, streams: Sequence[ReplayStream], duration_s: float, log_dir: Path
) -> FioJobFile:
    return FioJobFile(
        directory=directory,
        jobs=tuple(
            _constant_job(
                stream, f"stream-{index:02d}", duration_s, str(log_dir / f"stream-{index:02d}")
            )
            for index, stream in enumerate(streams, start=1)
        ),
    )


def replay(
    runner: FioRunner,
    directory: Path,
    streams: Sequence[ReplayStream],
    *,
    duration_s: float,
    buffer_frames: int,
    label: str,
    status_interval_s: int | None = None,
    on_status: StatusCallback | None = None,
    frame_times: FrameTimes | None = None,
) -> ReplayResult:
    """Play every stream at once for `duration_s` and judge each frame against its deadline.

    With `status_interval_s`, fio's status documents go to `on_status` while it plays (live
    progress, throughput windows of a long phase); with `frame_times`, every frame's timing
    goes there as a row of measurement `label`."""
    log_dir = runner.work_dir / f"{label}-logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    traces = runner.work_dir / f"{label}-traces"
    shutil.rmtree(traces, ignore_errors=True)
    try:
        schedules: dict[int, ReadSchedule] = {}
        movies = sum(stream.movie is not None for stream in streams)
        video_jobs = trace_video_jobs(buffer_frames, movies)
        if movies:
            job_file = _traced_job_file(
                runner,
                directory,
                traces,
                streams,
                duration_s,
                log_dir,
                buffer_frames,
                schedules,
                video_jobs,
            )
        else:
            job_file = replay_job_file(directory, streams, duration_s, log_dir)
        run = runner.run(
            job_file, label=label, status_interval_s=status_interval_s, on_status=on_status
        )
        results = []
        for index, stream in enumerate(streams, start=1):
            name = f"stream-{index:02d}"
            schedule = schedules.get(index)
            if schedule is not None:
                results.append(
                    _judged_trace(stream, schedule, log_dir, name, video_jobs, label, frame_times)
                )
                continue
            logs = sorted(log_dir.glob(f"{name}_lat.*.log"))
            if not logs:
                raise FioError(f"fio wrote no per-I/O log for {stream.label}")
            run_ms = run.result.job(name).read.runtime_ms
            due = max(0, math.ceil(run_ms / 1000 * stream.spec.fps) - buffer_frames)
            lateness = LatenessSeries(fps=stream.spec.fps, buffer_frames=buffer_frames, frames=due)
            rows = (
                None
                if frame_times is None
                else frame_times.stream(
                    label,
                    stream.label,
                    fps=stream.spec.fps,
                    buffer_frames=buffer_frames,
                    due_frames=due,
                )
            )

            def on_frame(
                frame: int,
                completion: Completion,
                series: LatenessSeries = lateness,
                rows: StreamFrameTimes | None = rows,
            ) -> None:
                series.add(frame, completion.time_ms)
                if rows is not None:
                    rows.arrived(frame, completion)

            frames = analyse(
                read_completions(logs[0]),
                fps=stream.spec.fps,
                buffer_frames=buffer_frames,
                frame_bytes=stream.spec.frame_bytes,
                file_bytes=stream.replay_bytes,
                run_ms=run_ms,
                base_offset_bytes=stream.offset_bytes,
                peak_windows_ms=stream.peak_windows_ms,
                on_frame=on_frame,
            )
            if rows is not None:
                rows.finish()
            results.append(StreamResult(stream, frames, lateness=lateness.points()))
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
        shutil.rmtree(traces, ignore_errors=True)
    return ReplayResult(tuple(results), duration_s)


def _traced_job_file(
    runner: FioRunner,
    directory: Path,
    folder: Path,
    streams: Sequence[ReplayStream],
    duration_s: float,
    log_dir: Path,
    buffer_frames: int,
    schedules: dict[int, ReadSchedule],
    video_jobs: int,
) -> FioJobFile:
    """A replay with movie streams runs in its own folder off the volume, where each stream's
    file is a link (to the show's file, or to the scratch file) and each movie a trace; the
    show's path never appears in a job file and nothing is written beside it. Constant-rate
    streams play as usual next to the traces. `schedules` gets each movie stream's reads."""
    folder.mkdir(parents=True)
    alignment = direct_io_alignment_bytes()
    jobs = []
    for index, stream in enumerate(streams, start=1):
        name = f"stream-{index:02d}"
        movie = stream.movie
        target = directory / stream.file_name
        if movie is not None and movie.on_media:
            target = movie.frame_map.path.resolve()
        (folder / name).symlink_to(target)
        log_prefix = str(log_dir / name)
        if movie is None:
            jobs.append(
                _constant_job(stream, name, duration_s, log_prefix).model_copy(
                    update={"filename": name}
                )
            )
            continue
        schedule = movie_schedule(
            movie,
            play_s=stream.play_s or duration_s,
            buffer_frames=buffer_frames,
            alignment_bytes=alignment,
            region=None if movie.on_media else (stream.offset_bytes, stream.replay_bytes),
        )
        schedules[index] = schedule
        jobs += trace_jobs(
            folder,
            name,
            schedule,
            file_bytes=movie.frame_map.file_bytes if movie.on_media else stream.file_bytes,
            log_dir=log_dir,
            ticks_per_s=iolog_ticks_per_s(runner.fio.version, movie.frame_map.path),
            video_jobs=video_jobs,
            start_delay_ms=round(stream.start_s * 1000),
        )
    return FioJobFile(directory=folder, jobs=tuple(jobs), readonly=True)


def _judged_trace(
    stream: ReplayStream,
    schedule: ReadSchedule,
    log_dir: Path,
    name: str,
    video_jobs: int,
    label: str,
    frame_times: FrameTimes | None,
) -> StreamResult:
    frames = video_frames_in(schedule)
    lateness = LatenessSeries(
        fps=stream.spec.fps, buffer_frames=schedule.buffer_frames, frames=frames
    )
    rows = (
        None
        if frame_times is None
        else frame_times.stream(
            label,
            stream.label,
            fps=stream.spec.fps,
            buffer_frames=schedule.buffer_frames,
            due_frames=frames,
        )
    )
    judged = judge_trace(
        schedule,
        log_dir,
        name,
        fps=stream.spec.fps,
        frames=frames,
        video_jobs=video_jobs,
        peak_windows_ms=stream.peak_windows_ms,
        lateness=lateness,
        frame_times=rows,
    )
    return StreamResult(
        stream,
        judged.frames,
        traced_bytes=schedule.video_read_bytes,
        lateness=lateness.points(),
    )
