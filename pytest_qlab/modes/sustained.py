"""The max-sustained measurements on one volume, usable without pytest: the read file laid out
once, a sustained read and a sustained write, each with live progress, the thermal monitor's
view of the same minutes, and the drive's NVMe thermal counters before and after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import JsonValue

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.progress import ProgressFactory, ProgressStatus, silent_progress
from pytest_qlab.core.scale import scaled_bytes, scaled_seconds
from pytest_qlab.core.session import VolumeRecord
from pytest_qlab.core.units import BYTES_PER_GIB
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import lay_out
from pytest_qlab.measure.probe import (
    CANDIDATES,
    REFERENCE,
    ProbeResult,
    probe_read_config,
    probe_s_for_scale,
)
from pytest_qlab.measure.sustained import (
    Direction,
    SustainedInterruptedError,
    SustainedProgress,
    SustainedResult,
    measure_sustained,
)
from pytest_qlab.measure.throttle import (
    DEFAULT_DROP_FRACTION,
    ThrottleSettings,
    thin_windows,
)
from pytest_qlab.safety.volume import ScratchSpace, check_free_space
from pytest_qlab.thermal import ThermalMonitor, ThermalPoint, ThermalReport, ThermalSample
from pytest_qlab.thermal.model import COUNTER_NAMES
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
MAX_POINTS = 300
"""Windows and thermal samples kept per test in the reports: enough for a plot of two hours."""

DriveProbe = Callable[[], DriveInfo | None]


def drive_counters(drive: DriveInfo | None) -> dict[str, int]:
    """The NVMe lifetime thermal counters the drive reports; empty when it reports none."""
    if drive is None:
        return {}
    found = {name: getattr(drive, name, None) for name in COUNTER_NAMES}
    return {name: value for name, value in found.items() if isinstance(value, int)}


def counter_increases(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        name: after[name] - before[name]
        for name in before
        if name in after and after[name] > before[name]
    }


def temperature_near(samples: list[ThermalSample], elapsed_s: float) -> float | None:
    """The drive temperature of the sample closest to `elapsed_s` (monitor seconds)."""
    readings = [sample for sample in samples if sample.temperature_c is not None]
    if not readings:
        return None
    nearest = min(readings, key=lambda sample: abs(sample.elapsed_s - elapsed_s))
    return nearest.temperature_c


@dataclass(frozen=True)
class SustainedOutcome:
    """A sustained run with what the thermal monitor and the drive's counters said about it."""

    result: SustainedResult
    thermal: ThermalReport
    temperature_reason: str | None
    """Why there is no drive temperature (temperature assertions skip with it), else None."""
    counters_before: dict[str, int] = field(default_factory=dict)
    counters_after: dict[str, int] = field(default_factory=dict)
    episode_start_temperatures_c: tuple[float | None, ...] = ()
    """The drive temperature when each throttle episode began, where a sensor exists."""
    probe: ProbeResult | None = None
    """How the read's block size and queue depth were chosen; None for the write."""

    @property
    def counter_increases(self) -> dict[str, int]:
        """From re-probing the drive, else from the monitor's own readings."""
        found = counter_increases(self.counters_before, self.counters_after)
        return found or dict(self.thermal.summary.counter_increases)

    def critical_failure(self) -> str | None:
        return self.thermal.summary.critical_failure()

    def counters_sentence(self) -> str | None:
        increases = self.counter_increases
        if not increases:
            return None
        rose = ", ".join(f"{name} +{value}" for name, value in increases.items())
        return f"the drive's NVMe thermal counters rose during the run: {rose}"

    def throttle_message(self) -> str:
        """The throttle sentence, with the temperature at each episode's start and counters."""
        parts = [f"sustained {self.result.direction}: {self.result.throttle.sentence()}"]
        temperatures = [
            f"{episode.start_s:.0f} s: {temperature:.0f} °C"
            for episode, temperature in zip(
                self.result.throttle.episodes, self.episode_start_temperatures_c, strict=False
            )
            if temperature is not None
        ]
        if temperatures:
            parts.append("drive temperature when throttling began: " + ", ".join(temperatures))
        elif self.result.throttle.throttled and self.temperature_reason:
            parts.append(f"no drive temperature to correlate ({self.temperature_reason})")
        counters = self.counters_sentence()
        if counters:
            parts.append(counters)
        return "; ".join(parts)

    def metadata(self) -> dict[str, JsonValue]:
        data = self.result.metadata()
        data["windows"] = [
            window.metadata() for window in thin_windows(self.result.windows, MAX_POINTS)
        ]
        data["windows_total"] = len(self.result.windows)
        data["thermal"] = self.thermal.model_dump(mode="json")
        data["thermal_summary"] = self.thermal.summary.describe()
        data["nvme_counters_before"] = dict(self.counters_before)
        data["nvme_counters_after"] = dict(self.counters_after)
        data["nvme_counter_increases"] = dict(self.counter_increases)
        data["throttle_episode_start_temperatures_c"] = list(self.episode_start_temperatures_c)
        if self.probe is not None:
            data.update(self.probe.metadata())
            data["probe_summary"] = self.probe.sentence()
        return data


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
        self._results: dict[str, SustainedOutcome | Exception] = {}
        self._laid_out = False
        self._probe: ProbeResult | None = None

    @property
    def scratch_bytes(self) -> int:
        """Both files exist at once: the read file stays while the write test writes."""
        return self.plan.read_file_bytes + self.plan.write_file_bytes

    def read(self) -> SustainedOutcome:
        return self._once("read")

    def write(self) -> SustainedOutcome:
        return self._once("write")

    def _once(self, direction: Direction) -> SustainedOutcome:
        if direction not in self._results:
            try:
                self._results[direction] = self._measure(direction)
            except Exception as exc:
                self._results[direction] = exc
                raise
        result = self._results[direction]
        if isinstance(result, Exception):
            raise result
        return result

    def _layout(self) -> None:
        if self._laid_out:
            return
        check_free_space(self.scratch.volume, self.scratch_bytes)
        result = lay_out(
            self.runner, self.scratch.run_dir, [(READ_FILE, self.plan.read_file_bytes)]
        )
        self._laid_out = True
        self.record.measurements.update(
            sustained_layout_duration_s=round(result.duration_s, 3),
            sustained_layout_bytes=result.size_bytes,
        )

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
        self.record.measurements.update(
            sustained_read_configuration=probe.best.label(),
            sustained_read_probe_summary=probe.sentence(),
        )
        return probe

    def _measure(self, direction: Direction) -> SustainedOutcome:
        if direction == "read":
            self._layout()
            self._probe = self._probe_read()
        else:
            check_free_space(self.scratch.volume, self.plan.write_file_bytes)
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
        result = outcome.result
        prefix = f"sustained_{result.direction}"
        lowest = result.lowest_window
        values: dict[str, JsonValue] = {
            f"{prefix}_mb_s": round(result.mb_s, 3),
            f"{prefix}_duration_s": round(result.runtime_s, 3),
            f"{prefix}_throttled": result.throttle.throttled,
            f"{prefix}_throttle_summary": result.throttle.sentence(),
            f"{prefix}_interrupted": result.interrupted,
        }
        if lowest is not None:
            values[f"{prefix}_lowest_mb_s"] = round(lowest.mb_s, 3)
        if outcome.counter_increases:
            values[f"{prefix}_nvme_counter_increases"] = dict(outcome.counter_increases)
        self.record.measurements.update(values)
        if result.direction == "read" and result.throttle.throttled:
            self.record.add_finding("normal_playback", outcome.throttle_message())
        critical = outcome.critical_failure()
        if critical is not None:
            self.record.add_finding("normal_playback", f"sustained {result.direction}: {critical}")
