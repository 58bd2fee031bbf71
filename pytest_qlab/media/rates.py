"""Data rates and frame sizes of a frame map: what the file asks of the drive.

The peak is the most bytes due within any one second (video and audio together): a VBR file
that averages under a drive's rate can still outrun it through a busy passage.
"""

from __future__ import annotations

import heapq
from array import array
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.media.framemap import US_PER_S, FrameMap

PEAK_WINDOW_US = US_PER_S


@dataclass(frozen=True)
class FrameSizes:
    """The distribution of a file's video frame sizes, in bytes."""

    smallest_bytes: int
    median_bytes: int
    p95_bytes: int
    p99_bytes: int
    largest_bytes: int
    mean_bytes: float


@dataclass(frozen=True)
class MediaRates:
    mean_mb_s: float
    """All of the file's bytes over its duration."""
    peak_mb_s: float
    """The most bytes due within one second, per second; never below the mean."""


def frame_sizes(sizes: Sequence[int]) -> FrameSizes:
    if not sizes:
        return FrameSizes(0, 0, 0, 0, 0, 0.0)
    ordered = array("q", sorted(sizes))
    last = len(ordered) - 1

    def rank(percent: float) -> int:
        return ordered[min(last, round(percent / 100 * last))]

    return FrameSizes(
        smallest_bytes=ordered[0],
        median_bytes=rank(50),
        p95_bytes=rank(95),
        p99_bytes=rank(99),
        largest_bytes=ordered[-1],
        mean_bytes=sum(ordered) / len(ordered),
    )


def peak_window_bytes(samples: Iterator[tuple[int, int]], window_us: int = PEAK_WINDOW_US) -> int:
    """The most bytes of (time_us, size_bytes) samples, in time order, due within `window_us`.
    Holds only the samples of one window."""
    window: deque[tuple[int, int]] = deque()
    in_window = best = 0
    for time_us, size_bytes in samples:
        window.append((time_us, size_bytes))
        in_window += size_bytes
        while window[0][0] <= time_us - window_us:
            in_window -= window.popleft()[1]
        if in_window > best:
            best = in_window
    return best


def media_rates(frame_map: FrameMap) -> MediaRates:
    duration_s = frame_map.duration_s
    if duration_s <= 0:
        return MediaRates(0.0, 0.0)
    samples = heapq.merge(
        zip(frame_map.frame_times_us, frame_map.frame_sizes, strict=True),
        zip(frame_map.audio_times_us, frame_map.audio_sizes, strict=True),
    )
    mean_mb_s = frame_map.media_bytes / duration_s / BYTES_PER_MB
    peak_mb_s = peak_window_bytes(samples) / (PEAK_WINDOW_US / US_PER_S) / BYTES_PER_MB
    return MediaRates(mean_mb_s=mean_mb_s, peak_mb_s=max(peak_mb_s, mean_mb_s))
