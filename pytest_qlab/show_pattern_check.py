"""The show pattern's measurements on one volume, usable without pytest: lay out the stream
files once, then play each phase in turn and record what it measured."""

from __future__ import annotations

from pytest_qlab.bandwidth import lay_out
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.profiles import ShowProfile
from pytest_qlab.progress import ProgressFactory, ProgressStatus, silent_progress
from pytest_qlab.replay import replay
from pytest_qlab.session import VolumeRecord
from pytest_qlab.show_pattern import PhaseResult, ShowPatternPlan, phase_streams
from pytest_qlab.sustained import SustainedPlan, WindowBuilder
from pytest_qlab.thermal import ThermalMonitor
from pytest_qlab.throttle import detect_throttling
from pytest_qlab.volume import ScratchSpace, check_free_space


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
