"""Each frame's lateness over the run, kept as a plot-sized series in bounded memory.

The frame analysis keeps aggregates only (counts, worst, a latency histogram). To show where
in a replay frames ran late, frames are grouped into at most `MAX_LATENESS_POINTS` bins of
consecutive frames, and each bin keeps its worst lateness (the frame that came closest to, or
furthest past, its deadline) and how many of its frames were dropped. A stall is never
averaged away, and a two-hour file costs the same few kilobytes as a few seconds of one.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from pydantic import JsonValue

MAX_LATENESS_POINTS = 300
"""Bins per file: one per frame for the setup check's seconds, about 24 s each for two hours
at 29.97 fps; enough for a plot, small enough to mail in a report."""


@dataclass(frozen=True)
class LatenessPoint:
    """One bin of consecutive frames."""

    time_s: float
    """When the bin's worst frame was due, from the start of the replay (its presentation
    time); for a bin where nothing arrived, when its last frame was due."""
    lateness_ms: float | None
    """The worst arrival against the deadline: above 0 late (dropped), below 0 early. None
    when no frame of the bin arrived."""
    dropped_frames: int
    """Frames of the bin that arrived late or never arrived."""

    def metadata(self) -> dict[str, JsonValue]:
        lateness = None if self.lateness_ms is None else round(self.lateness_ms, 3)
        return {
            "time_s": round(self.time_s, 4),
            "lateness_ms": lateness,
            "dropped_frames": self.dropped_frames,
        }


class LatenessSeries:
    """Worst lateness per bin of frames, judged with the frame analysis' deadline: frame k is
    due (k + B) / f after the replay started."""

    def __init__(
        self, *, fps: float, buffer_frames: int, frames: int, max_points: int = MAX_LATENESS_POINTS
    ) -> None:
        if fps <= 0 or max_points < 1:
            raise ValueError(
                f"a lateness series needs fps > 0 and a point, not {fps}, {max_points}"
            )
        self.fps = fps
        self.buffer_frames = buffer_frames
        self.frames = max(0, frames)
        self.frames_per_bin = max(1, math.ceil(self.frames / max_points))
        bins = math.ceil(self.frames / self.frames_per_bin)
        self._worst_ms = array("d", [-math.inf]) * bins
        self._worst_frame = array("q", [-1]) * bins
        self._arrived = array("q", [0]) * bins
        self._late = array("q", [0]) * bins

    def due_s(self, frame: int) -> float:
        return (frame + self.buffer_frames) / self.fps

    def add(self, frame: int, completion_ms: float) -> None:
        """Frame `frame` arrived `completion_ms` after the replay started; frames past the
        run's due frames are not judged."""
        if not 0 <= frame < self.frames:
            return
        index = frame // self.frames_per_bin
        lateness_ms = completion_ms - (frame + self.buffer_frames) * 1000.0 / self.fps
        self._arrived[index] += 1
        if lateness_ms > 0:
            self._late[index] += 1
        if lateness_ms > self._worst_ms[index]:
            self._worst_ms[index] = lateness_ms
            self._worst_frame[index] = frame

    def points(self) -> tuple[LatenessPoint, ...]:
        found = []
        for index in range(len(self._arrived)):
            first = index * self.frames_per_bin
            expected = min(self.frames_per_bin, self.frames - first)
            missing = max(0, expected - self._arrived[index])
            if self._arrived[index]:
                time_s = self.due_s(self._worst_frame[index])
                lateness: float | None = self._worst_ms[index]
            else:
                time_s, lateness = self.due_s(first + expected - 1), None
            found.append(LatenessPoint(time_s, lateness, self._late[index] + missing))
        return tuple(found)
