"""The show pattern's measurements on one volume, usable without pytest: lay out the stream
files once, then play each phase in turn and record what it measured."""

from __future__ import annotations

from pytest_qlab.bandwidth import lay_out
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.profiles import ShowProfile
from pytest_qlab.replay import replay
from pytest_qlab.session import VolumeRecord
from pytest_qlab.show_pattern import PhaseResult, ShowPatternPlan, phase_streams
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
    ) -> None:
        self.runner = runner
        self.scratch = scratch
        self.plan = plan
        self.profile = profile
        self.record = record
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
        result = replay(
            self.runner,
            self.scratch.run_dir,
            phase_streams(plan, self.plan.file_bytes),
            duration_s=plan.duration_s,
            buffer_frames=self.profile.player_buffer_frames,
            label=f"show-{name}",
        )
        outcome = PhaseResult(plan, result)
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
        if outcome.crossfade_dropped:
            self.record.add_finding(
                "crossfade_peak",
                f"show pattern, {name}: {outcome.crossfade_dropped} frames dropped during "
                "crossfades",
            )
        return outcome
