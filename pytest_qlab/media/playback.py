"""Play the show's own files from the drive: one fio job per file replays the file's trace
(read_iolog, --readonly, direct I/O, a per-I/O completion log), all files at once, and every
video frame is judged against its deadline by the frame analysis.

fio reaches the media through symbolic links in its own work folder, off the volume: the trace
names plain link names, so a show path with spaces or '#' never appears in a trace or job file,
and nothing is ever created next to the media. Each job has an iodepth of 1: fio reaps
completions only when its queue is full or it waits, so with a deeper queue a completion is
logged up to a whole read interval late (measured on 3.33: 100 ms at iodepth 4 and reads 33 ms
apart), while at 1 each read is timed as it completes.
"""

from __future__ import annotations

import heapq
import math
import shutil
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from pytest_qlab.core.rows import ReportRow
from pytest_qlab.core.units import NS_PER_MS
from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.jobs import DIRECT_IO_ALIGNMENT_BYTES, FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.frames import Completion, FrameStats, read_completions
from pytest_qlab.measure.frametimes import FrameTimes, StreamFrameTimes
from pytest_qlab.measure.lateness import LatenessPoint, LatenessSeries
from pytest_qlab.media.framemap import FrameMap, check_inside_file
from pytest_qlab.media.iolog import iolog_ticks_per_s, write_iolog
from pytest_qlab.media.rates import MediaRates, media_rates
from pytest_qlab.media.schedule import (
    AUDIO,
    ReadSchedule,
    direct_io_alignment_bytes,
    schedule_reads,
)

MEDIA_IODEPTH = 1
MATCH_LOOKAHEAD_READS = 64
"""How far past the oldest unmatched read a completion is looked for (out-of-order
completions); at iodepth 1 completions arrive in order and the first candidate matches."""


@dataclass(frozen=True, eq=False)
class PlannedFile:
    """One file ready to replay: its map, its reads, and the names fio knows it by."""

    frame_map: FrameMap
    schedule: ReadSchedule
    job_name: str

    @property
    def link_name(self) -> str:
        return self.job_name


def plan_files(
    frame_maps: Sequence[FrameMap], *, buffer_frames: int, alignment_bytes: int | None = None
) -> list[PlannedFile]:
    """Schedule every file; checks each map lies inside its file, before fio runs."""
    alignment = direct_io_alignment_bytes() if alignment_bytes is None else alignment_bytes
    planned = []
    for index, frame_map in enumerate(frame_maps, start=1):
        check_inside_file(frame_map)
        schedule = schedule_reads(frame_map, buffer_frames=buffer_frames, alignment_bytes=alignment)
        planned.append(PlannedFile(frame_map, schedule, f"media-{index:02d}"))
    return planned


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


AUDIO_JOB_SUFFIX = "-audio"


def trace_job(
    name: str,
    schedule: ReadSchedule,
    *,
    file_name: str,
    file_bytes: int,
    lat_log_prefix: str,
    start_delay_ms: int = 0,
) -> FioJob:
    """A job replaying `<name>.iolog` on the file fio knows as `file_name`, every I/O logged."""
    return FioJob(
        name=name,
        filename=file_name,
        rw="read",
        # fio takes every read from the trace; bs only sizes its buffer
        block_size_bytes=_round_up(max(schedule.largest_read_bytes, 1), DIRECT_IO_ALIGNMENT_BYTES),
        size_bytes=max(
            DIRECT_IO_ALIGNMENT_BYTES, file_bytes - file_bytes % DIRECT_IO_ALIGNMENT_BYTES
        ),
        iodepth=MEDIA_IODEPTH,
        direct=True,
        # on by default in fio; stated, since the report says the show's pages were
        # dropped from the cache before they were read
        invalidate=True,
        read_iolog=f"{name}.iolog",
        start_delay_ms=start_delay_ms,
        lat_log_prefix=lat_log_prefix,
    )


MAX_TRACE_JOBS = 64
"""fio jobs a media replay may run at once; on macOS each is a process with its own AIO
requests, 90 system-wide."""


def trace_video_jobs(buffer_frames: int, files: int) -> int:
    """Video jobs per file: one per frame of the player's buffer, fewer when many files play
    at once (see `ReadSchedule.split`)."""
    per_file = max(1, MAX_TRACE_JOBS // max(files, 1) - 1)
    return max(1, min(buffer_frames, per_file))


def _part_names(name: str, video_jobs: int) -> list[str]:
    return [name if part == 0 else f"{name}-v{part + 1}" for part in range(video_jobs)]


def trace_jobs(
    folder: Path,
    name: str,
    schedule: ReadSchedule,
    *,
    file_bytes: int,
    log_dir: Path,
    ticks_per_s: int,
    video_jobs: int = 1,
    start_delay_ms: int = 0,
) -> list[FioJob]:
    """The video jobs and, when the file has audio, the audio job replaying one file's trace
    (see `ReadSchedule.split`), their traces written in `folder`, where fio finds the file
    as the link `name`."""
    jobs = []
    video, audio = schedule.split(video_jobs)
    parts = [*zip(_part_names(name, video_jobs), video, strict=True)]
    parts.append((name + AUDIO_JOB_SUFFIX, audio))
    for job_name, part in parts:
        if not part.reads:
            continue
        with (folder / f"{job_name}.iolog").open("w", encoding="ascii") as trace:
            write_iolog(part, name, trace, ticks_per_s=ticks_per_s)
        jobs.append(
            trace_job(
                job_name,
                part,
                file_name=name,
                file_bytes=file_bytes,
                lat_log_prefix=str(log_dir / job_name),
                start_delay_ms=start_delay_ms,
            )
        )
    return jobs


@dataclass(frozen=True)
class JudgedTrace:
    frames: FrameStats
    audio_reads: int
    unmatched_completions: int


def judge_trace(
    schedule: ReadSchedule,
    log_dir: Path,
    name: str,
    *,
    fps: float,
    frames: int,
    video_jobs: int = 1,
    peak_windows_ms: tuple[tuple[float, float], ...] = (),
    lateness: LatenessSeries | None = None,
    frame_times: StreamFrameTimes | None = None,
) -> JudgedTrace:
    """Every video frame of the trace `trace_jobs` replayed as `name`, against its deadline
    (the video jobs' logs merged in completion order), and the audio job's reads counted;
    each frame's row goes to `frame_times`, then one for each frame that never arrived."""
    (video,), audio = schedule.split()
    parts, _ = schedule.split(video_jobs)
    logs = [
        on_schedule(part, _completions(log_dir, job_name))
        for job_name, part in zip(_part_names(name, video_jobs), parts, strict=True)
        if part.reads
    ]
    stats, _, _, unmatched = judge(
        video,
        heapq.merge(*logs, key=lambda completion: completion.time_ms),
        fps=fps,
        frames=frames,
        peak_windows_ms=peak_windows_ms,
        lateness=lateness,
        frame_times=frame_times,
    )
    if frame_times is not None:
        frame_times.finish()
    audio_reads = 0
    if audio.reads:
        _, _, audio_reads, unmatched_audio = judge(
            audio, _completions(log_dir, name + AUDIO_JOB_SUFFIX), fps=fps, frames=0
        )
        unmatched += unmatched_audio
    return JudgedTrace(stats, audio_reads, unmatched)


def on_schedule(part: ReadSchedule, completions: Iterable[Completion]) -> Iterator[Completion]:
    """One video job's completions timed as the player would have seen them: each read issued
    at its time in the trace, or when the job's previous read completed if that was later, and
    taking the time the drive took for it (fio's logged latency, from issue to completion).

    fio issues a trace's reads late and never catches up: it counts each wait from the previous
    read's issue, and a sleep that overruns is not made up (iolog.c `iolog_delay`, 3.33 to
    3.42), so on an idle disk a job drifts by about a millisecond a read (200 ms after 200
    reads, measured here), and the job's first read waits for fio to open the file and drop
    its cached pages. Judged on fio's clock, a long replay would count that drift as dropped
    frames. The drive's own time for every read is kept, so a slow read still makes its frame
    late, and one read slower than the frames queued behind it still delays them. A completion
    the part never asked for passes unchanged and is counted as unmatched by `judge`."""
    issue_us, offsets = part.issue_us, part.offset_bytes
    reads = len(offsets)
    following = 0
    previous_ms = 0.0
    for completion in completions:
        wanted = (completion.offset_bytes, completion.offset_bytes - completion.block_bytes)
        read = next(
            (
                candidate
                for candidate in range(following, min(following + MATCH_LOOKAHEAD_READS, reads))
                if offsets[candidate] in wanted
            ),
            None,
        )
        if read is None:
            yield completion
            continue
        following = read + 1
        done_ms = max(issue_us[read] / 1000, previous_ms) + completion.latency_ns / NS_PER_MS
        previous_ms = done_ms
        yield completion._replace(time_ms=math.ceil(done_ms))


def _completions(log_dir: Path, job_name: str) -> Iterator[Completion]:
    logs = sorted(log_dir.glob(f"{job_name}_lat.*.log"))
    if not logs:
        raise FioError(f"fio wrote no per-I/O log for {job_name}")
    return read_completions(logs[0])


@dataclass(frozen=True, eq=False)
class MediaFileResult:
    """How one file played: every video frame judged, and the bytes fio read for it."""

    frame_map: FrameMap
    rates: MediaRates
    schedule: ReadSchedule
    frames: FrameStats
    bytes_read: int
    """What fio read for this file: the map's bytes plus alignment when every read completed."""
    audio_reads: int
    unmatched_completions: int
    """Completions at offsets the trace never asked for (none, unless fio misbehaves)."""
    lateness: tuple[LatenessPoint, ...] = ()
    """The worst lateness over the replay, a plot's worth of points."""

    @property
    def dropped(self) -> int:
        return self.frames.dropped_frames

    def summary(self) -> str:
        """backdrop.mov (ProRes 422 HQ 1920x1080 29.97, 27.5 MB/s mean, 31.2 peak): 14 of 360
        frames dropped, worst 88 ms late."""
        frames = self.frames
        text = (
            f"{self.frame_map.path.name} ({self.frame_map.describe()}, "
            f"{self.rates.mean_mb_s:.1f} MB/s mean, {self.rates.peak_mb_s:.1f} peak): "
            f"{frames.dropped_frames} of {frames.due_frames} frames dropped"
        )
        if frames.late_frames:
            text += f", worst {frames.worst_lateness_ms:.0f} ms late"
        if frames.missing_frames:
            text += f", {frames.missing_frames} never arrived"
        return text

    def metadata(self) -> dict[str, JsonValue]:
        frame_map, frames = self.frame_map, self.frames
        return {
            "path": str(frame_map.path),
            "start_s": round(frame_map.start_s, 3),
            "codec": frame_map.codec.description,
            "fourcc": frame_map.codec.fourcc,
            "raster": frame_map.raster,
            "fps": round(float(frame_map.fps), 3),
            "frames": frame_map.frames,
            "duration_s": round(frame_map.duration_s, 3),
            "mean_mb_s": round(self.rates.mean_mb_s, 3),
            "peak_mb_s": round(self.rates.peak_mb_s, 3),
            "dropped_frames": frames.dropped_frames,
            "worst_lateness_ms": round(frames.worst_lateness_ms, 3),
            "latency_p999_ms": round(frames.latency_percentile_ms(99.9), 3),
            "bytes_read": self.bytes_read,
            "map_bytes": self.schedule.map_bytes,
            "alignment_bytes": self.schedule.alignment_bytes,
            "frame_interval_ms": round(frames.frame_interval_ms, 3),
            "lateness": [point.metadata() for point in self.lateness],
        }


@dataclass(frozen=True)
class MediaPlayback:
    files: tuple[MediaFileResult, ...]

    @property
    def dropped(self) -> int:
        return sum(result.dropped for result in self.files)

    @property
    def frames_read(self) -> int:
        return sum(result.frames.frames_read for result in self.files)

    def failures(self) -> list[str]:
        return [result.summary() for result in self.files if result.dropped]

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "files": len(self.files),
            "dropped_frames": self.dropped,
            "bytes_read": sum(result.bytes_read for result in self.files),
            "per_file": [result.metadata() for result in self.files],
        }

    def report_row(self) -> ReportRow:
        return ReportRow(
            f"{len(self.files)} files, {self.dropped} dropped frames", "no dropped frame"
        )


def judge(
    schedule: ReadSchedule,
    completions: Iterable[Completion],
    *,
    fps: float,
    frames: int,
    peak_windows_ms: tuple[tuple[float, float], ...] = (),
    lateness: LatenessSeries | None = None,
    frame_times: StreamFrameTimes | None = None,
) -> tuple[FrameStats, int, int, int]:
    """Frame stats, bytes read, audio reads and unmatched completions of one file's log; each
    frame's arrival also goes to `lateness` and `frame_times` when given.

    A completion is matched to its read by offset; a short read at the end of the file is
    logged by fio with its offset advanced by the bytes it got, so that is tried as well."""
    stats = FrameStats(
        fps=fps,
        buffer_frames=schedule.buffer_frames,
        due_frames=frames,
        peak_windows_ms=peak_windows_ms,
    )
    offsets, frame_index = schedule.offset_bytes, schedule.frame_index
    reads = len(offsets)
    matched = bytearray(reads)
    oldest = bytes_read = audio_reads = unmatched = 0
    add = stats.add
    for completion in completions:
        read = _match(offsets, matched, oldest, completion)
        if read is None:
            unmatched += 1
            continue
        matched[read] = 1
        while oldest < reads and matched[oldest]:
            oldest += 1
        bytes_read += completion.block_bytes
        frame = frame_index[read]
        if frame == AUDIO:
            audio_reads += 1
        else:
            add(frame, completion)
            if lateness is not None:
                lateness.add(frame, completion.time_ms)
            if frame_times is not None:
                frame_times.arrived(frame, completion)
    return stats, bytes_read, audio_reads, unmatched


def _match(
    offsets: array[int], matched: bytearray, oldest: int, completion: Completion
) -> int | None:
    """The read a completion answers: at its offset, else the short read at the end of the
    file that fio logs with its offset advanced. Exact offsets are looked for first: frames lie
    back to back, so the advanced form of a frame's offset is its predecessor's, and a frame
    that never arrived must not take the next frame's completion."""
    end = min(oldest + MATCH_LOOKAHEAD_READS, len(offsets))
    for wanted in (completion.offset_bytes, completion.offset_bytes - completion.block_bytes):
        for read in range(oldest, end):
            if not matched[read] and offsets[read] == wanted:
                return read
    return None


def media_job_file(
    folder: Path,
    planned: Sequence[PlannedFile],
    log_dir: Path,
    *,
    ticks_per_s: int,
    video_jobs: int,
) -> FioJobFile:
    """Every planned file linked into `folder` under its job name, with its trace jobs: the
    read-only job file fio runs there."""
    jobs: list[FioJob] = []
    for plan in planned:
        (folder / plan.link_name).symlink_to(plan.frame_map.path.resolve())
        jobs += trace_jobs(
            folder,
            plan.job_name,
            plan.schedule,
            file_bytes=plan.frame_map.file_bytes,
            log_dir=log_dir,
            ticks_per_s=ticks_per_s,
            video_jobs=video_jobs,
        )
    return FioJobFile(directory=folder, jobs=tuple(jobs), readonly=True)


def file_bytes_read(result: FioResult, job_file: FioJobFile, plan: PlannedFile) -> int:
    """What fio read of one file: its video and audio jobs together."""
    return sum(
        result.job(job.name).read.io_bytes
        for job in job_file.jobs
        if job.filename == plan.link_name
    )


def file_labels(frame_maps: Sequence[FrameMap]) -> list[str]:
    """Each played file's name, numbered where one file plays twice (a crossfade's outgoing
    and incoming copies): "intro.mov #1", "intro.mov #2"."""
    names = [frame_map.path.name for frame_map in frame_maps]
    seen: dict[str, int] = {}
    labels = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(f"{name} #{seen[name]}" if names.count(name) > 1 else name)
    return labels


def play_media(
    runner: FioRunner,
    frame_maps: Sequence[FrameMap],
    *,
    buffer_frames: int,
    label: str,
    alignment_bytes: int | None = None,
    frame_times: FrameTimes | None = None,
) -> MediaPlayback:
    """Play every file at once, each from its start to its end, and judge each frame; with
    `frame_times`, each frame's timing goes there as a row of measurement `label`."""
    if not frame_maps:
        raise ValueError("play_media needs at least one file")
    ticks_per_s = iolog_ticks_per_s(runner.fio.version, frame_maps[0].path)
    planned = plan_files(frame_maps, buffer_frames=buffer_frames, alignment_bytes=alignment_bytes)
    folder = runner.work_dir / f"{label}-media"
    log_dir = folder / "logs"
    shutil.rmtree(folder, ignore_errors=True)
    log_dir.mkdir(parents=True)
    video_jobs = trace_video_jobs(buffer_frames, len(planned))
    try:
        job_file = media_job_file(
            folder, planned, log_dir, ticks_per_s=ticks_per_s, video_jobs=video_jobs
        )
        run = runner.run(job_file, label=label)
        results = []
        names = file_labels([plan.frame_map for plan in planned])
        for plan, stream_name in zip(planned, names, strict=True):
            fps, frames = float(plan.frame_map.fps), plan.frame_map.frames
            lateness = LatenessSeries(
                fps=fps, buffer_frames=plan.schedule.buffer_frames, frames=frames
            )
            rows = (
                None
                if frame_times is None
                else frame_times.stream(
                    label,
                    stream_name,
                    fps=fps,
                    buffer_frames=plan.schedule.buffer_frames,
                    due_frames=frames,
                )
            )
            judged = judge_trace(
                plan.schedule,
                log_dir,
                plan.job_name,
                fps=fps,
                frames=frames,
                video_jobs=video_jobs,
                lateness=lateness,
                frame_times=rows,
            )
            read_bytes = file_bytes_read(run.result, job_file, plan)
            results.append(
                MediaFileResult(
                    frame_map=plan.frame_map,
                    rates=media_rates(plan.frame_map),
                    schedule=plan.schedule,
                    frames=judged.frames,
                    bytes_read=read_bytes,
                    audio_reads=judged.audio_reads,
                    unmatched_completions=judged.unmatched_completions,
                    lateness=lateness.points(),
                )
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return MediaPlayback(tuple(results))
