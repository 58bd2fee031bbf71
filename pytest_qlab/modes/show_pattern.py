"""The show pattern's measurements on one volume, usable without pytest: lay out the stream
files once, then play each phase in turn and record what it measured."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from pytest_qlab.core.profiles import PhaseSpec, ShowProfile, StreamSpec
from pytest_qlab.core.progress import ProgressFactory, ProgressStatus, silent_progress
from pytest_qlab.core.scale import MINIMUM_FILE_BYTES, MINIMUM_MEASUREMENT_S, scaled_seconds
from pytest_qlab.core.session import VolumeRecord
from pytest_qlab.core.units import BYTES_PER_MB, format_bytes
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import SEQUENTIAL_BLOCK_BYTES, lay_out
from pytest_qlab.measure.frames import MINIMUM_FRAMES_PER_PASS
from pytest_qlab.measure.replay import (
    ReplayResult,
    ReplayStream,
    StreamResult,
    instance_labels,
    replay,
    stream_count,
)
from pytest_qlab.measure.sustained import WindowBuilder
from pytest_qlab.measure.throttle import (
    ThrottleAnalysis,
    ThroughputWindow,
    detect_throttling,
    thin_windows,
)
from pytest_qlab.modes.sustained import SustainedPlan
from pytest_qlab.safety.volume import ScratchSpace, check_free_space
from pytest_qlab.thermal import ThermalMonitor
from pytest_qlab.thermal.model import ThermalSummary

STREAM_SPAN_S = 60.0
"""Seconds of playback a stream file holds at full scale: no re-read within a minute."""
FREE_SPACE_SHARE = 0.25
"""The most of the volume's free space the show pattern's files may take."""
ACHIEVED_BANDWIDTH_FRACTION = 0.95
"""A phase must read at least this share of what its schedule asks; fio's rate limiter keeps
a healthy drive within about 1 %, a drive that cannot keep up falls well below."""
MAX_WINDOWS = 300
"""Throughput windows kept per phase in the reports: a plot's worth."""
CROSSFADE_RECOVERY_S = 1.0
"""After a crossfade ends the drive still drains its queue: a frame of the continuous streams
due this long after it counts as a crossfade drop, not a normal-playback drop."""


def show_stream_file_name(index: int) -> str:
    return f"show-stream-{index:02d}.bin"


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


def plan_phase(profile: ShowProfile, phase: PhaseSpec, time_scale: float) -> PhasePlan:
    duration_s = scaled_seconds(phase.duration_s, time_scale)
    streams = phase.streams or profile.streams
    starts: tuple[float, ...] = ()
    crossfade_s = scaled_seconds(profile.crossfade.duration_s, time_scale)
    if phase.crossfade_every_s is not None:
        starts = _crossfade_starts(
            duration_s,
            crossfade_s,
            phase.crossfade_every_s,
            profile.crossfade.duration_s,
            time_scale,
        )
    return PhasePlan(
        phase=phase,
        duration_s=duration_s,
        streams=streams,
        crossfade_streams=(phase.crossfade_streams or streams) if starts else (),
        crossfade_starts_s=starts,
        crossfade_duration_s=crossfade_s,
    )


def _crossfade_starts(
    duration_s: float,
    crossfade_s: float,
    every_full_s: float,
    crossfade_full_s: float,
    time_scale: float,
) -> tuple[float, ...]:
    """Crossfade start times within a phase. A scaled run keeps the show's share of crossfade
    time (a 1 s minimum crossfade every 2 s would be a far heavier show than 5 s every 30 s),
    and a phase that has crossfades always gets at least one, in its middle."""
    every_s = max(every_full_s * time_scale, crossfade_s * every_full_s / crossfade_full_s)
    count = math.floor((duration_s - crossfade_s) / every_s)
    if count >= 1:
        return tuple(round(every_s * k, 3) for k in range(1, count + 1))
    if duration_s >= crossfade_s + 2 * MINIMUM_MEASUREMENT_S:
        return (round((duration_s - crossfade_s) / 2, 3),)
    return ()


@dataclass(frozen=True)
class ShowPatternPlan:
    time_scale: float
    phases: tuple[PhasePlan, ...]
    file_bytes: tuple[int, ...]
    """Size of each stream file, in file order."""
    span_s: float
    """Seconds of playback the fastest stream finds in its file before it re-reads."""

    @classmethod
    def for_profile(
        cls, profile: ShowProfile, time_scale: float, free_bytes: int
    ) -> ShowPatternPlan:
        """Files sized for `STREAM_SPAN_S` of each file's fastest stream, shrunk together when
        they would take more than `FREE_SPACE_SHARE` of `free_bytes`."""
        phases = tuple(plan_phase(profile, phase, time_scale) for phase in profile.show_phases)
        files = max(phase.files_needed for phase in phases)
        rates = [0] * files
        frames = [0] * files
        for phase in phases:
            specs = _file_specs(phase)
            for index, spec in enumerate(specs):
                rates[index] = max(rates[index], spec.rate_bytes_s)
                frames[index] = max(frames[index], spec.frame_bytes)
        wanted_span_s = STREAM_SPAN_S * time_scale
        budget = FREE_SPACE_SHARE * free_bytes
        span_s = min(wanted_span_s, budget / sum(rates)) if sum(rates) else wanted_span_s
        sizes = tuple(
            _file_size(rate * span_s, frame_bytes)
            for rate, frame_bytes in zip(rates, frames, strict=True)
        )
        return cls(time_scale, phases, sizes, span_s)

    @property
    def scratch_bytes(self) -> int:
        return sum(self.file_bytes)

    @property
    def layout_files(self) -> tuple[tuple[str, int], ...]:
        return tuple(
            (show_stream_file_name(index), size)
            for index, size in enumerate(self.file_bytes, start=1)
        )

    def phase(self, name: str) -> PhasePlan:
        return next(phase for phase in self.phases if phase.name == name)

    def describe_files(self) -> str:
        return (
            f"{len(self.file_bytes)} stream files, {format_bytes(self.scratch_bytes)}: "
            f"{self.span_s:.1f} s of playback each before a stream re-reads"
        )


def _file_specs(phase: PhasePlan) -> list[StreamSpec]:
    continuous = [s for s in phase.streams for _ in range(s.count)]
    if not phase.crossfade_starts_s:
        return continuous
    return continuous + [s for s in phase.crossfade_streams for _ in range(s.count)]


def _file_size(wanted_bytes: float, frame_bytes: int) -> int:
    """At least the minimum file and enough whole frames to tell passes apart, in whole MiB."""
    size = max(wanted_bytes, MINIMUM_FILE_BYTES, 8 * frame_bytes)
    return math.ceil(size / SEQUENTIAL_BLOCK_BYTES) * SEQUENTIAL_BLOCK_BYTES


def phase_streams(plan: PhasePlan, file_bytes: Sequence[int]) -> list[ReplayStream]:
    """The phase's replay: continuous streams on the first files, then each crossfade's
    incoming streams on the next files, each crossfade starting where the last one stopped."""
    specs = _file_specs(plan)
    continuous = stream_count(plan.streams)
    labels = instance_labels(specs[:continuous])
    peaks_ms = tuple(
        (start_s * 1000, (start_s + plan.crossfade_duration_s + CROSSFADE_RECOVERY_S) * 1000)
        for start_s in plan.crossfade_starts_s
    )
    streams = [
        ReplayStream(
            label,
            spec,
            show_stream_file_name(index + 1),
            file_bytes[index],
            peak_windows_ms=peaks_ms,
        )
        for index, (label, spec) in enumerate(zip(labels, specs[:continuous], strict=True))
    ]
    incoming = specs[continuous:]
    incoming_labels = instance_labels(incoming)
    for number, start_s in enumerate(plan.crossfade_starts_s, start=1):
        for offset, (label, spec) in enumerate(zip(incoming_labels, incoming, strict=True)):
            index = continuous + offset
            streams.append(
                ReplayStream(
                    label=f"crossfade {number} at {start_s:g} s: {label}",
                    spec=spec,
                    file_name=show_stream_file_name(index + 1),
                    file_bytes=file_bytes[index],
                    start_s=start_s,
                    play_s=plan.crossfade_duration_s,
                    offset_bytes=_crossfade_offset(
                        number - 1, spec, plan.crossfade_duration_s, file_bytes[index]
                    ),
                )
            )
    return streams


def _crossfade_offset(
    crossfade_index: int, spec: StreamSpec, duration_s: float, file_bytes: int
) -> int:
    """Crossfade k starts reading where crossfade k-1 stopped, wrapping so that at least the
    minimum frames per pass remain after the offset."""
    frames_in_file = file_bytes // spec.frame_bytes
    starts = frames_in_file - MINIMUM_FRAMES_PER_PASS + 1
    if starts <= 1:
        return 0
    frames_per_crossfade = math.ceil(duration_s * spec.fps)
    return (crossfade_index * frames_per_crossfade) % starts * spec.frame_bytes


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
            f"phase {self.plan.name}, against the {self.plan.continuous_mb_s:.1f} MB/s its "
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
    def bandwidth_held(self) -> bool:
        return self.achieved_mb_s >= ACHIEVED_BANDWIDTH_FRACTION * self.plan.scheduled_mb_s

    def bandwidth_message(self) -> str:
        return (
            f"phase {self.plan.name} read {self.achieved_mb_s:.1f} MB/s on average of the "
            f"{self.plan.scheduled_mb_s:.1f} MB/s its streams and crossfades need "
            f"(at least {ACHIEVED_BANDWIDTH_FRACTION:.0%} required)"
        )

    def metadata(self) -> dict[str, JsonValue]:
        continuous = [r for r in self.replay.streams if r.stream.start_s == 0]
        return {
            "phase": self.plan.name,
            "description": self.plan.describe(),
            "duration_s": round(self.plan.duration_s, 3),
            "scheduled_mb_s": round(self.plan.scheduled_mb_s, 3),
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
            "continuous_mb_s": round(self.plan.continuous_mb_s, 3),
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


class ShowPatternCheck:
    """Phases share the stream files; each phase is measured once, a failed layout is not
    retried by every later phase."""

    def __init__(
        self,
        runner: FioRunner,
        scratch: ScratchSpace,
        plan: ShowPatternPlan,
        profile: ShowProfile,
        record: VolumeRecord,
        *,
        thermal: ThermalMonitor | None = None,
        progress: ProgressFactory = silent_progress,
        windows: SustainedPlan | None = None,
    ) -> None:
        self.runner = runner
        self.scratch = scratch
        self.plan = plan
        self.profile = profile
        self.record = record
        self.thermal = thermal
        self.progress = progress
        # Windows and the throttling rule of the max-sustained run, at this run's time scale.
        self.windows = windows or SustainedPlan.for_scale(plan.time_scale)
        self._layout_error: Exception | None = None
        self._laid_out = False

    def layout(self) -> None:
        if self._layout_error is not None:
            raise self._layout_error
        if self._laid_out:
            return
        try:
            check_free_space(self.scratch.volume, self.plan.scratch_bytes)
            result = lay_out(self.runner, self.scratch.run_dir, self.plan.layout_files)
        except Exception as exc:
            self._layout_error = exc
            raise
        self._laid_out = True
        self.record.measurements.update(
            show_layout_duration_s=round(result.duration_s, 3),
            show_layout_bytes=result.size_bytes,
            show_stream_span_s=round(self.plan.span_s, 3),
        )

    def phase(self, name: str) -> PhaseResult:
        self.layout()
        plan = self.plan.phase(name)
        what = f"show pattern {name} [{self.record.target.name}]"
        live = self.progress(what, plan.duration_s)
        builder = WindowBuilder("read", self.windows.window_s, self.windows.status_interval_s)
        since_s = self.thermal.elapsed_s() if self.thermal is not None else 0.0

        def on_status(status: FioResult) -> None:
            builder.add(status)
            progress = builder.progress(plan.duration_s, None)
            live.update(self._status(what, progress.elapsed_s, plan.duration_s, progress.mb_s_now))

        try:
            result = replay(
                self.runner,
                self.scratch.run_dir,
                phase_streams(plan, self.plan.file_bytes),
                duration_s=plan.duration_s,
                buffer_frames=self.profile.player_buffer_frames,
                label=f"show-{name}",
                status_interval_s=self.windows.status_interval_s,
                on_status=on_status,
            )
        except BaseException:
            live.finish()
            raise
        builder.finish()
        outcome = PhaseResult(
            plan,
            result,
            windows=tuple(builder.windows),
            throttle=detect_throttling(
                builder.windows, self.windows.throttle, baseline_mb_s=plan.continuous_mb_s
            ),
            thermal=(
                self.thermal.summary(since_s=since_s, until_s=self.thermal.elapsed_s())
                if self.thermal is not None
                else None
            ),
        )
        live.finish(
            self._status(
                what, plan.duration_s, plan.duration_s, outcome.achieved_mb_s, outcome.dropped
            )
        )
        key = f"show_{name.replace('-', '_')}"
        self.record.measurements.update(
            {
                f"{key}_normal_dropped_frames": outcome.normal_dropped,
                f"{key}_crossfade_dropped_frames": outcome.crossfade_dropped,
                f"{key}_achieved_mb_s": round(outcome.achieved_mb_s, 3),
            }
        )
        if outcome.normal_dropped:
            self.record.add_finding(
                "normal_playback",
                f"show pattern, {name}: {outcome.normal_dropped} frames dropped in normal playback",
            )
        if not outcome.bandwidth_held:
            self.record.add_finding("normal_playback", outcome.bandwidth_message())
        if outcome.throttled:
            self.record.add_finding("normal_playback", outcome.throttle_message())
        critical = outcome.critical_failure()
        if critical is not None:
            self.record.add_finding("normal_playback", critical)
        if outcome.crossfade_dropped:
            self.record.add_finding(
                "crossfade_peak",
                f"show pattern, {name}: {outcome.crossfade_dropped} frames dropped during "
                "crossfades",
            )
        return outcome

    def _status(
        self,
        what: str,
        elapsed_s: float,
        planned_s: float,
        mb_s_now: float,
        dropped_frames: int | None = None,
    ) -> ProgressStatus:
        latest = self.thermal.latest() if self.thermal is not None else None
        return ProgressStatus(
            what=what,
            elapsed_s=elapsed_s,
            planned_s=planned_s,
            mb_s_now=mb_s_now,
            dropped_frames=dropped_frames,
            temperature=latest.label() if latest is not None else None,
        )
