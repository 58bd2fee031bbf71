"""One show-pattern phase as planned and as played: its streams and crossfades at the run's
time scale, and what the drive delivered, judged frame by frame and window by window."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import JsonValue

from pytest_qlab.core.profiles import PhaseSpec, StreamSpec
from pytest_qlab.core.rows import ReportRow, frames_row
from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.measure.replay import (
    ReplayResult,
    StreamResult,
    stream_count,
)
from pytest_qlab.measure.throttle import (
    ThrottleAnalysis,
    ThroughputWindow,
    thin_windows,
)
from pytest_qlab.thermal.model import ThermalSummary

ACHIEVED_BANDWIDTH_FRACTION = 0.95
"""A phase must read at least this share of what its schedule asks; fio's rate limiter keeps
a healthy drive within about 1 %, a drive that cannot keep up falls well below."""


MAX_WINDOWS = 300
"""Throughput windows kept per phase in the reports: a plot's worth."""


@dataclass(frozen=True)
class PhasePlan:
    """One phase at the run's time scale."""

    phase: PhaseSpec
    duration_s: float
    streams: tuple[StreamSpec, ...]
    crossfade_streams: tuple[StreamSpec, ...]
    """The incoming cue set each crossfade adds; empty when the phase has no crossfades."""
    crossfade_starts_s: tuple[float, ...]
    crossfade_duration_s: float

    @property
    def name(self) -> str:
        return self.phase.name

    @property
    def files_needed(self) -> int:
        """Continuous streams, then one file per incoming stream (crossfades reuse them)."""
        extra = stream_count(self.crossfade_streams) if self.crossfade_starts_s else 0
        return stream_count(self.streams) + extra

    @property
    def scheduled_bytes(self) -> float:
        continuous = sum(s.rate_bytes_s * s.count for s in self.streams) * self.duration_s
        incoming = sum(s.rate_bytes_s * s.count for s in self.crossfade_streams)
        return continuous + incoming * self.crossfade_duration_s * len(self.crossfade_starts_s)

    @property
    def scheduled_mb_s(self) -> float:
        """Average read rate the phase asks for, crossfades included."""
        return self.scheduled_bytes / self.duration_s / BYTES_PER_MB

    @property
    def continuous_mb_s(self) -> float:
        """The rate the phase asks for outside crossfades: the floor its reads must hold."""
        return sum(s.rate_bytes_s * s.count for s in self.streams) / BYTES_PER_MB

    @property
    def peak_mb_s(self) -> float:
        peak = sum(s.rate_bytes_s * s.count for s in self.streams)
        if self.crossfade_starts_s:
            peak += sum(s.rate_bytes_s * s.count for s in self.crossfade_streams)
        return peak / BYTES_PER_MB

    def describe(self) -> str:
        playing = " + ".join(f"{s.count} x {s.label}" for s in self.streams)
        text = f"{self.name}: {self.duration_s:g} s of {playing}"
        if self.crossfade_starts_s:
            count = len(self.crossfade_starts_s)
            text += (
                f", {count} crossfade{'s' if count > 1 else ''} of "
                f"{self.crossfade_duration_s:g} s (peak {self.peak_mb_s:.0f} MB/s)"
            )
        return text


def _drops(result: StreamResult, *, crossfades: bool) -> int:
    """A continuous stream's drops split at the crossfade windows; a crossfade's incoming
    stream drops only during crossfades."""
    outside = result.frames.dropped_frames_outside_peaks if result.stream.start_s == 0 else 0
    return result.dropped - outside if crossfades else outside


@dataclass(frozen=True)
class PhaseResult:
    plan: PhasePlan
    replay: ReplayResult
    windows: tuple[ThroughputWindow, ...] = ()
    """Throughput of the whole phase (all streams) from fio's status documents."""
    throttle: ThrottleAnalysis | None = None
    """Windows against the phase's own floor (`continuous_mb_s`); None when not watched."""
    thermal: ThermalSummary | None = None
    """The thermal monitor over this phase's minutes; None when not watched."""

    @property
    def throttled(self) -> bool:
        return self.throttle is not None and self.throttle.throttled

    def throttle_message(self) -> str:
        if self.throttle is None:
            return f"phase {self.plan.name}: throughput was not watched"
        return (
            f"phase {self.plan.name}, against the {self.replay.continuous_mb_s:.1f} MB/s its "
            f"streams need outside crossfades: {self.throttle.sentence()}"
        )

    def critical_failure(self) -> str | None:
        failure = self.thermal.critical_failure() if self.thermal is not None else None
        return None if failure is None else f"phase {self.plan.name}: {failure}"

    @property
    def dropped(self) -> int:
        return self.replay.dropped

    @property
    def normal_dropped(self) -> int:
        """Drops of the continuous streams away from any crossfade: normal playback failed."""
        return sum(_drops(result, crossfades=False) for result in self.replay.streams)

    @property
    def crossfade_dropped(self) -> int:
        """Drops during crossfades, of any stream."""
        return sum(_drops(result, crossfades=True) for result in self.replay.streams)

    def failures(self, *, crossfades: bool) -> list[str]:
        """Summaries of the streams that dropped frames during crossfades, or away from them."""
        return [
            result.summary()
            for result in self.replay.streams
            if _drops(result, crossfades=crossfades)
        ]

    @property
    def achieved_mb_s(self) -> float:
        """Everything the phase read over its duration, comparable to `scheduled_mb_s`."""
        read_bytes = sum(stream.frames.bytes_read for stream in self.replay.streams)
        return read_bytes / self.plan.duration_s / BYTES_PER_MB

    @property
    def scheduled_mb_s(self) -> float:
        """What the phase's streams asked for on average: the plan's rates, or for a stream
        playing a movie, the movie's own reads (below its peak rate most of the time)."""
        return self.replay.scheduled_bytes / self.plan.duration_s / BYTES_PER_MB

    @property
    def bandwidth_held(self) -> bool:
        return self.achieved_mb_s >= ACHIEVED_BANDWIDTH_FRACTION * self.scheduled_mb_s

    def bandwidth_message(self) -> str:
        return (
            f"phase {self.plan.name} read {self.achieved_mb_s:.1f} MB/s on average of the "
            f"{self.scheduled_mb_s:.1f} MB/s its streams and crossfades need "
            f"(at least {ACHIEVED_BANDWIDTH_FRACTION:.0%} required)"
        )

    def report_row(self) -> ReportRow:
        return frames_row(self.achieved_mb_s, self.dropped, self.scheduled_mb_s)

    def metadata(self) -> dict[str, JsonValue]:
        continuous = [r for r in self.replay.streams if r.stream.start_s == 0]
        return {
            "phase": self.plan.name,
            "description": self.plan.describe(),
            "duration_s": round(self.plan.duration_s, 3),
            "scheduled_mb_s": round(self.scheduled_mb_s, 3),
            "peak_mb_s": round(self.plan.peak_mb_s, 3),
            "achieved_mb_s": round(self.achieved_mb_s, 3),
            "dropped_frames": self.dropped,
            "normal_dropped_frames": self.normal_dropped,
            "crossfades": len(self.plan.crossfade_starts_s),
            "crossfade_windows": [
                {"start_s": start_s, "end_s": round(start_s + self.plan.crossfade_duration_s, 3)}
                for start_s in self.plan.crossfade_starts_s
            ],
            "crossfade_dropped_frames": self.crossfade_dropped,
            "worst_lateness_ms": round(
                max((r.frames.worst_lateness_ms for r in self.replay.streams), default=0.0), 3
            ),
            "per_stream": [r.metadata() for r in continuous],
            "continuous_mb_s": round(self.replay.continuous_mb_s, 3),
            "windows": [window.metadata() for window in thin_windows(self.windows, MAX_WINDOWS)],
            **(self.throttle.metadata() if self.throttle is not None else {}),
            **(
                {
                    "thermal": self.thermal.model_dump(mode="json"),
                    "thermal_summary": self.thermal.describe(),
                }
                if self.thermal is not None
                else {}
            ),
        }
