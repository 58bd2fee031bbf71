"""The show pattern's measurements on one volume, usable without pytest: lay out the stream
files once, then play each phase in turn and record what it measured."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_qlab.core.evidence import LayoutKind, VolumeRecord
from pytest_qlab.core.profiles import PhaseSpec, ShowProfile, StreamSpec
from pytest_qlab.core.progress import ProgressFactory, ProgressStatus, silent_progress
from pytest_qlab.core.scale import MINIMUM_FILE_BYTES, MINIMUM_MEASUREMENT_S, scaled_seconds
from pytest_qlab.core.units import format_bytes
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import SEQUENTIAL_BLOCK_BYTES, LayoutResult, lay_out
from pytest_qlab.measure.frames import MINIMUM_FRAMES_PER_PASS
from pytest_qlab.measure.frametimes import FrameTimes
from pytest_qlab.measure.movies import with_movies
from pytest_qlab.measure.phase import PhasePlan, PhaseResult
from pytest_qlab.measure.replay import (
    ReplayStream,
    instance_labels,
    replay,
    stream_count,
)
from pytest_qlab.measure.throttle import (
    detect_throttling,
)
from pytest_qlab.measure.windows import WindowBuilder
from pytest_qlab.modes.once import Once
from pytest_qlab.modes.sustained import SustainedPlan
from pytest_qlab.safety.volume import ScratchSpace, check_free_space
from pytest_qlab.thermal import ThermalMonitor

STREAM_SPAN_S = 60.0
"""Seconds of playback a stream file holds at full scale: no re-read within a minute."""
FREE_SPACE_SHARE = 0.25
"""The most of the volume's free space the show pattern's files may take."""
CROSSFADE_RECOVERY_S = 1.0
"""After a crossfade ends the drive still drains its queue: a frame of the continuous streams
due this long after it counts as a crossfade drop, not a normal-playback drop."""


def show_stream_file_name(index: int) -> str:
    return f"show-stream-{index:02d}.bin"


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
        frame_times: FrameTimes | None = None,
    ) -> None:
        self.runner = runner
        self.scratch = scratch
        self.plan = plan
        self.profile = profile
        self.record = record
        self.thermal = thermal
        self.progress = progress
        self.frame_times = frame_times
        # Windows and the throttling rule of the max-sustained run, at this run's time scale.
        self.windows = windows or SustainedPlan.for_scale(plan.time_scale)
        self._once = Once()

    def check_room(self, files_bytes: int) -> None:
        """Refuse before writing when the files do not fit (a fleet host asks its host)."""
        check_free_space(self.scratch.volume, files_bytes)

    def layout(self) -> LayoutResult:
        def measure() -> LayoutResult:
            self.check_room(self.plan.scratch_bytes)
            result = lay_out(self.runner, self.scratch.run_dir, self.plan.layout_files)
            self.record.add_layout(LayoutKind.SHOW_PATTERN, result)
            self.record.show_stream_span_s = self.plan.span_s
            return result

        return self._once("layout", measure)

    def phase(self, name: str) -> PhaseResult:
        """Each phase is played once: a fleet host's item finds it played with every host's."""
        return self._once(("phase", name), lambda: self._play(name))

    def _play(self, name: str) -> PhaseResult:
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
                with_movies(phase_streams(plan, self.plan.file_bytes), self.record.frame_sources),
                duration_s=plan.duration_s,
                buffer_frames=self.profile.player_buffer_frames,
                label=f"show-{name}",
                status_interval_s=self.windows.status_interval_s,
                on_status=on_status,
                frame_times=self.frame_times,
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
                builder.windows, self.windows.throttle, baseline_mb_s=result.continuous_mb_s
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
        self.record.show_phases[name] = outcome
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
