"""Frame-deadline analysis of a stream replay: which frames arrived too late to be shown.

fio's rate limiter catches up after a stall, so a stream's average rate hides the stall. Each
frame is judged instead: with frame k completing at c_k, frame rate f and a player buffer of B
frames, frame k is late (dropped) when c_k > t0 + (k + B) / f, t0 being the stream's start.

Logs are read line by line and latencies kept in a bounded histogram, so hours of per-I/O
logs are analysed in constant memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from pytest_qlab.core.units import NS_PER_MS

MINIMUM_FRAMES_PER_PASS = 3
LATENCY_BUCKET_NS = 100_000
"""0.1 ms: far finer than a frame interval (16.7 ms at 60 fps)."""


class Completion(NamedTuple):
    """One line of a fio per-I/O log: completion time since the job started, and the I/O.
    A named tuple: hours of logs make millions of these, and it is the cheapest to build."""

    time_ms: int
    latency_ns: int
    block_bytes: int
    offset_bytes: int


def read_completions(path: Path) -> Iterator[Completion]:
    """Stream a fio latency log (`time, latency_ns, ddir, bs, offset[, prio]`, log_offset=1)."""
    with path.open(encoding="ascii", errors="replace") as log:
        for line in log:
            fields = line.split(",")
            if len(fields) < 5:
                continue
            try:
                yield Completion(int(fields[0]), int(fields[1]), int(fields[3]), int(fields[4]))
            except ValueError:
                continue


@dataclass
class FrameStats:
    """Per-stream result of the deadline analysis."""

    fps: float
    buffer_frames: int
    due_frames: int
    """Frames whose deadline fell inside the run: each must have arrived, on time."""
    frames_read: int = 0
    late_frames: int = 0
    """Frames that arrived after their deadline."""
    _due_frames_read: int = field(default=0, repr=False)
    worst_lateness_ms: float = 0.0
    first_late_frame: int | None = None
    first_late_time_ms: int | None = None
    last_completion_ms: int = 0
    bytes_read: int = 0
    _latency_histogram: Counter[int] = field(default_factory=Counter, repr=False)
    _max_latency_ns: int = field(default=0, repr=False)
    peak_windows_ms: tuple[tuple[float, float], ...] = ()
    """Stretches of the run under peak load (crossfades), as (start, end) in ms."""
    late_frames_in_peaks: int = 0
    """Late frames whose deadline fell inside a peak window, or that belong to a run of late
    frames which began inside one (the backlog a crossfade leaves takes a while to drain)."""
    _late_run_from_peak: bool = field(default=False, repr=False)

    @property
    def dropped_frames_outside_peaks(self) -> int:
        """Drops normal playback alone caused; frames that never arrived count here."""
        return self.dropped_frames - self.late_frames_in_peaks

    @property
    def missing_frames(self) -> int:
        """Frames due within the run that never arrived at all (a stall at the very end)."""
        return max(0, self.due_frames - self._due_frames_read)

    @property
    def dropped_frames(self) -> int:
        return self.late_frames + self.missing_frames

    @property
    def frame_interval_ms(self) -> float:
        return 1000.0 / self.fps

    @property
    def max_latency_ms(self) -> float:
        return self._max_latency_ns / NS_PER_MS

    def latency_percentile_ms(self, percent: float) -> float:
        """Upper edge of the 0.1 ms bucket holding the given percentile of frame latencies."""
        if self.frames_read == 0:
            return 0.0
        rank = round(percent * self.frames_read / 100, 9)  # 99.9 % of 1000 is 999, not 999.0000001
        seen = 0
        for bucket in sorted(self._latency_histogram):
            seen += self._latency_histogram[bucket]
            if seen >= rank:
                return min((bucket + 1) * LATENCY_BUCKET_NS, self._max_latency_ns) / NS_PER_MS
        return self.max_latency_ms

    def achieved_mb_s(self) -> float:
        if self.last_completion_ms <= 0:
            return 0.0
        return self.bytes_read / (self.last_completion_ms / 1000) / 1_000_000

    def add(self, frame_index: int, completion: Completion) -> None:
        # The hot path of hours-long logs: plain comparisons, no property or builtin calls.
        time_ms, latency_ns, block_bytes, _ = completion
        self.frames_read += 1
        if frame_index < self.due_frames:
            self._due_frames_read += 1
        self.bytes_read += block_bytes
        if time_ms > self.last_completion_ms:
            self.last_completion_ms = time_ms
        self._latency_histogram[latency_ns // LATENCY_BUCKET_NS] += 1
        if latency_ns > self._max_latency_ns:
            self._max_latency_ns = latency_ns
        deadline_ms = (frame_index + self.buffer_frames) * 1000.0 / self.fps
        lateness_ms = time_ms - deadline_ms
        if lateness_ms <= 0:
            self._late_run_from_peak = False
        else:
            self.late_frames += 1
            in_peak = self._late_run_from_peak or any(
                start <= deadline_ms <= end for start, end in self.peak_windows_ms
            )
            self.late_frames_in_peaks += in_peak
            self._late_run_from_peak = in_peak
            if lateness_ms > self.worst_lateness_ms:
                self.worst_lateness_ms = lateness_ms
            if self.first_late_frame is None or frame_index < self.first_late_frame:
                self.first_late_frame = frame_index
                self.first_late_time_ms = completion.time_ms


class FrameIndexer:
    """Turns a completion's file offset into its frame number across passes over the file.

    A replay loops over its file; completions may arrive slightly out of order (iodepth > 1),
    so a small offset right after the end of a pass starts the next pass, while a large offset
    shortly after a wrap still belongs to the previous one."""

    def __init__(self, frame_bytes: int, file_bytes: int) -> None:
        if file_bytes // frame_bytes < MINIMUM_FRAMES_PER_PASS:
            raise ValueError(
                f"a replay file must hold at least {MINIMUM_FRAMES_PER_PASS} frames to tell "
                f"its passes apart; {file_bytes} bytes hold {file_bytes // frame_bytes}"
            )
        self.frame_bytes = frame_bytes
        self.frames_per_pass = file_bytes // frame_bytes
        self.pass_number = 0
        self.highest_frame = -1

    def index(self, offset_bytes: int) -> int:
        in_pass = offset_bytes // self.frame_bytes
        frame = self.pass_number * self.frames_per_pass + in_pass
        half = self.frames_per_pass / 2
        if frame < self.highest_frame - half:
            self.pass_number += 1
            frame += self.frames_per_pass
        elif frame > self.highest_frame + half and self.pass_number > 0:
            frame -= self.frames_per_pass
        if frame > self.highest_frame:
            self.highest_frame = frame
        return frame


def analyse(
    completions: Iterable[Completion],
    *,
    fps: float,
    buffer_frames: int,
    frame_bytes: int,
    file_bytes: int,
    run_ms: float,
    base_offset_bytes: int = 0,
    peak_windows_ms: tuple[tuple[float, float], ...] = (),
    on_frame: Callable[[int, Completion], None] | None = None,
) -> FrameStats:
    """`on_frame` sees every completion with its frame number (the lateness series, the
    per-frame timings file). `run_ms` is how long the stream ran (fio's job runtime): it
    decides which frames were due. `file_bytes` is the region read, starting at
    `base_offset_bytes` in the file."""
    due = max(0, math.ceil(run_ms / 1000 * fps) - buffer_frames)  # deadlines before the end
    stats = FrameStats(
        fps=fps, buffer_frames=buffer_frames, due_frames=due, peak_windows_ms=peak_windows_ms
    )
    indexer = FrameIndexer(frame_bytes, file_bytes)
    index, add = indexer.index, stats.add
    if on_frame is None:
        for completion in completions:
            add(index(completion.offset_bytes - base_offset_bytes), completion)
        return stats
    for completion in completions:
        frame = index(completion.offset_bytes - base_offset_bytes)
        add(frame, completion)
        on_frame(frame, completion)
    return stats
