"""The max-sustained measurements on one volume, usable without pytest: the read file laid out
once, a sustained read and a sustained write, each with live progress, the thermal monitor's
view of the same minutes, and the drive's NVMe thermal counters before and after."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_qlab.core.evidence import LayoutKind, VolumeRecord
from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.progress import ProgressFactory, ProgressStatus, silent_progress
from pytest_qlab.core.scale import scaled_bytes, scaled_seconds
from pytest_qlab.core.units import BYTES_PER_GIB
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import LayoutResult, lay_out
from pytest_qlab.measure.probe import (
    CANDIDATES,
    REFERENCE,
    ProbeResult,
    probe_read_config,
    probe_s_for_scale,
)
from pytest_qlab.measure.sustained import (
    SustainedInterruptedError,
    SustainedResult,
    measure_sustained,
)
from pytest_qlab.measure.sustained_outcome import (
    MAX_POINTS,
    DriveProbe,
    SustainedOutcome,
    drive_counters,
    temperature_near,
)
from pytest_qlab.measure.throttle import (
    DEFAULT_DROP_FRACTION,
    ThrottleSettings,
)
from pytest_qlab.measure.windows import Direction, SustainedProgress
from pytest_qlab.modes.once import Once
from pytest_qlab.safety.volume import ScratchSpace, check_free_space
from pytest_qlab.thermal import ThermalMonitor, ThermalPoint, ThermalReport
from pytest_qlab.thermal.recorder import downsample

SUSTAINED_S = 2 * 3600.0
WINDOW_S = 10.0
WARMUP_S = 30.0
"""Queues filling and fio starting up; three windows at full scale."""
BASELINE_S = 120.0
"""The early period whose mean is the baseline: twelve windows, before any heat builds up."""
THROTTLE_MIN_S = 30.0
"""Garbage collection or a cache flush costs seconds; a drop for half a minute is throttling."""
STATUS_INTERVAL_S = 1
"""One status document a second: live MB/s for progress, and windows of whole seconds."""
SUSTAINED_READ_FILE_BYTES = 16 * BYTES_PER_GIB
"""Larger than any drive's DRAM cache, so repeated passes still read the flash."""
SUSTAINED_WRITE_FILE_BYTES = 16 * BYTES_PER_GIB
MINIMUM_WINDOW_S = 1


@dataclass(frozen=True)
class SustainedPlan:
    """Durations as executed (scaled by --qlab-time-scale) and the throttling rule."""

    time_scale: float
    duration_s: float
    window_s: int
    status_interval_s: int
    throttle: ThrottleSettings
    read_file_bytes: int
    write_file_bytes: int
    probe_s: float
    """Per candidate of the read-configuration probe before the read (saturation.py)."""

    @classmethod
    def for_scale(
        cls,
        time_scale: float,
        *,
        drop_fraction: float = DEFAULT_DROP_FRACTION,
        throttle_min_s: float = THROTTLE_MIN_S,
        duration_s: float = SUSTAINED_S,
        status_interval_s: int = STATUS_INTERVAL_S,
    ) -> SustainedPlan:
        """`throttle_min_s` and `duration_s` are full-scale seconds, compressed like the rest.

        Windows are whole seconds (fio's status interval is), at least one; warm-up, baseline
        and the throttling time never shrink below one, two and two windows, so one odd window
        is never a baseline or an episode.
        """
        window_s = max(MINIMUM_WINDOW_S, round(WINDOW_S * time_scale))
        return cls(
            time_scale=time_scale,
            duration_s=scaled_seconds(duration_s, time_scale),
            window_s=window_s,
            status_interval_s=max(1, min(status_interval_s, window_s)),
            throttle=ThrottleSettings(
                warmup_s=max(window_s, WARMUP_S * time_scale),
                baseline_s=max(2 * window_s, BASELINE_S * time_scale),
                drop_fraction=drop_fraction,
                min_duration_s=max(2 * window_s, throttle_min_s * time_scale),
            ),
            read_file_bytes=scaled_bytes(SUSTAINED_READ_FILE_BYTES, time_scale),
            write_file_bytes=scaled_bytes(SUSTAINED_WRITE_FILE_BYTES, time_scale),
            probe_s=probe_s_for_scale(time_scale),
        )

    @classmethod
    def for_options(cls, options: QlabOptions) -> SustainedPlan:
        """Windows and the throttling rule for the long runs, as the user set them."""
        return cls.for_scale(
            options.time_scale,
            drop_fraction=options.throttle_drop_fraction,
            throttle_min_s=options.throttle_min_s,
        )

    def file_bytes(self, direction: Direction) -> int:
        return self.read_file_bytes if direction == "read" else self.write_file_bytes


READ_FILE = "sustained-read.bin"
WRITE_FILE = "sustained-write.bin"


class SustainedCheck:
    """One read and one write per volume, each measured once (failures too), recorded into the
    volume's record so the rating uses the sustained read's lowest window."""

    def __init__(
        self,
        runner: FioRunner,
        scratch: ScratchSpace,
        plan: SustainedPlan,
        record: VolumeRecord,
        thermal: ThermalMonitor,
        *,
        progress: ProgressFactory = silent_progress,
        probe: DriveProbe | None = None,
        hang_timeout_s: float | None = None,
    ) -> None:
        self.runner = runner
        self.scratch = scratch
        self.plan = plan
        self.record = record
        self.thermal = thermal
        self.progress = progress
        self.probe = probe
        self.hang_timeout_s = hang_timeout_s
        self._once = Once()
        self._probe: ProbeResult | None = None

    @property
    def scratch_bytes(self) -> int:
        """Both files exist at once: the read file stays while the write test writes."""
        return self.plan.read_file_bytes + self.plan.write_file_bytes

    def check_room(self, files_bytes: int) -> None:
        """Refuse before writing when the files do not fit (a fleet host asks its host)."""
        check_free_space(self.scratch.volume, files_bytes)

    def read(self) -> SustainedOutcome:
        return self._once("read", lambda: self._measure("read"))

    def write(self) -> SustainedOutcome:
        return self._once("write", lambda: self._measure("write"))

    def _layout(self) -> LayoutResult:
        def measure() -> LayoutResult:
            self.check_room(self.scratch_bytes)
            files = [(READ_FILE, self.plan.read_file_bytes)]
            result = lay_out(self.runner, self.scratch.run_dir, files)
            self.record.add_layout(LayoutKind.SUSTAINED, result)
            return result

        return self._once("layout", measure)

    def _probe_read(self) -> ProbeResult:
        """The read configuration this drive is fastest with, tried on the laid-out file."""
        planned_s = self.plan.probe_s * len(CANDIDATES)
        what = f"read probe [{self.record.target.name}]"
        live = self.progress(what, planned_s)
        live.update(ProgressStatus(what=what, elapsed_s=0.0, planned_s=planned_s))
        try:
            probe = probe_read_config(
                self.runner,
                self.scratch.run_dir,
                READ_FILE,
                self.plan.read_file_bytes,
                self.plan.probe_s,
            )
        finally:
            live.finish()
        self.record.read_probe = probe
        return probe

    def _measure(self, direction: Direction) -> SustainedOutcome:
        if direction == "read":
            self._layout()
            self._probe = self._probe_read()
        else:
            self.check_room(self.plan.write_file_bytes)
        before = drive_counters(self.probe()) if self.probe else {}
        since_s = self.thermal.elapsed_s()
        what = f"sustained {direction} [{self.record.target.name}]"
        live = self.progress(what, self.plan.duration_s)

        def on_progress(progress: SustainedProgress) -> None:
            latest = self.thermal.latest()
            live.update(
                ProgressStatus(
                    what=what,
                    elapsed_s=progress.elapsed_s,
                    planned_s=progress.planned_s,
                    mb_s_now=progress.mb_s_now,
                    temperature=latest.label() if latest is not None else None,
                )
            )

        try:
            result = measure_sustained(
                self.runner,
                self.scratch.run_dir,
                READ_FILE if direction == "read" else WRITE_FILE,
                direction,
                self.plan,
                on_progress=on_progress,
                hang_timeout_s=self.hang_timeout_s,
                config=self._probe.best if direction == "read" and self._probe else REFERENCE,
            )
        except SustainedInterruptedError as interruption:
            outcome = self._outcome(interruption.measured, since_s, before, after={})
            self._store(outcome)
            raise
        finally:
            live.finish()
        after = drive_counters(self.probe()) if self.probe else {}
        outcome = self._outcome(result, since_s, before, after)
        self._store(outcome)
        return outcome

    def _outcome(
        self,
        result: SustainedResult,
        since_s: float,
        before: dict[str, int],
        after: dict[str, int],
    ) -> SustainedOutcome:
        until_s = self.thermal.elapsed_s()
        samples = [s for s in self.thermal.samples() if since_s <= s.elapsed_s <= until_s]
        report = ThermalReport(
            summary=self.thermal.summary(since_s=since_s, until_s=until_s),
            series=[ThermalPoint.of(sample) for sample in downsample(samples, MAX_POINTS)],
        )
        # fio's clock starts a moment after the monitor's window does; close enough at 5 s.
        temperatures = tuple(
            temperature_near(samples, since_s + episode.start_s)
            for episode in result.throttle.episodes
        )
        return SustainedOutcome(
            result=result,
            probe=self._probe if result.direction == "read" else None,
            thermal=report,
            temperature_reason=self.thermal.temperature_reason,
            counters_before=before,
            counters_after=after,
            episode_start_temperatures_c=temperatures,
        )

    def _store(self, outcome: SustainedOutcome) -> None:
        """Into the volume's record (the rating, the JSON's volume block), interrupted or not."""
        if outcome.result.direction == "read":
            self.record.sustained_read = outcome
        else:
            self.record.sustained_write = outcome
