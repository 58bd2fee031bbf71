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
from pytest_qlab.core.units import NS_PER_MS
from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.runner import FioRunner, StatusCallback
from pytest_qlab.measure.frames import LATENCY_BUCKET_NS, FrameStats, analyse, read_completions
from pytest_qlab.measure.pool import PoolRegion, covered_bytes

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
        return {
            "stream": self.stream.label,
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


def replay_job_file(
    directory: Path, streams: Sequence[ReplayStream], duration_s: float, log_dir: Path
) -> FioJobFile:
    return FioJobFile(
        directory=directory,
        jobs=tuple(
            FioJob(
                name=f"stream-{index:02d}",
                filename=stream.file_name,
                rw="read",
                block_size_bytes=stream.spec.frame_bytes,
                size_bytes=stream.replay_bytes,
                iodepth=REPLAY_IODEPTH,
                runtime_ms=round((stream.play_s or duration_s) * 1000),
                rate_bytes_s=stream.spec.rate_bytes_s,
                start_delay_ms=round(stream.start_s * 1000),
                offset_bytes=stream.offset_bytes,
                lat_log_prefix=str(log_dir / f"stream-{index:02d}"),
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
) -> ReplayResult:
    """Play every stream at once for `duration_s` and judge each frame against its deadline.

    With `status_interval_s`, fio's status documents go to `on_status` while it plays (live
    progress, throughput windows of a long phase)."""
    log_dir = runner.work_dir / f"{label}-logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    try:
        run = runner.run(
            replay_job_file(directory, streams, duration_s, log_dir),
            label=label,
            status_interval_s=status_interval_s,
            on_status=on_status,
        )
        results = []
        for index, stream in enumerate(streams, start=1):
            name = f"stream-{index:02d}"
            logs = sorted(log_dir.glob(f"{name}_lat.*.log"))
            if not logs:
                raise FioError(f"fio wrote no per-I/O log for {stream.label}")
            frames = analyse(
                read_completions(logs[0]),
                fps=stream.spec.fps,
                buffer_frames=buffer_frames,
                frame_bytes=stream.spec.frame_bytes,
                file_bytes=stream.replay_bytes,
                run_ms=run.result.job(name).read.runtime_ms,
                base_offset_bytes=stream.offset_bytes,
                peak_windows_ms=stream.peak_windows_ms,
            )
            results.append(StreamResult(stream, frames))
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    return ReplayResult(tuple(results), duration_s)
