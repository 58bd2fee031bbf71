"""Typed results as the modes produce them, built from synthetic figures for the rating and
report tests: a sequential read at a given speed, a replay with a given number of late frames,
a sustained read whose windows hold a given lowest figure, a show phase that drops frames."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.profiles import DEFAULT_PROFILE, ShowProfile, StreamSpec
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.core.verdict import Rating
from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.measure.bandwidth import BandwidthResult
from pytest_qlab.measure.capacity import CapacityResult
from pytest_qlab.measure.frames import Completion, analyse
from pytest_qlab.measure.phase import PhaseResult
from pytest_qlab.measure.replay import ReplayResult, ReplayStream, StreamResult
from pytest_qlab.measure.sustained import SustainedResult
from pytest_qlab.measure.sustained_outcome import SustainedOutcome
from pytest_qlab.measure.throttle import ThrottleSettings, ThroughputWindow, detect_throttling
from pytest_qlab.modes.show_pattern import plan_phase
from pytest_qlab.safety.volume import TargetVolume
from pytest_qlab.thermal.model import ThermalReport, ThermalSummary

HD_STREAM: StreamSpec = DEFAULT_PROFILE.streams[-1].model_copy(update={"count": 1})
ONE_HD_SHOW = ShowProfile.model_validate(
    {"name": "one HD stream", "streams": [HD_STREAM.model_dump(exclude_none=True)]}
)
"""A show of one HD stream, so a synthetic phase of that stream plays all its show needs."""


def session_on(tmp_path: Path, profile: ShowProfile = DEFAULT_PROFILE) -> QlabSession:
    """A run on one folder, with the options a user gives by default."""
    options = QlabOptions(
        volumes=(str(tmp_path),),
        profile="default",
        fio=None,
        time_scale=1.0,
        require=Rating.ACCEPTABLE,
        report_dir=tmp_path,
        keep_files=False,
    )
    target = TargetVolume(tmp_path, str(tmp_path), Path("/"), is_system_default=False)
    fio = FioBinary(Path("/usr/bin/fio"), (3, 33), "fio-3.33")
    return QlabSession(options=options, targets=(target,), fio=fio, profile=profile)


def sequential(
    direction: Literal["read", "write"],
    mb_s: float,
    duration_s: float = 6.0,
    window_mb_s: list[float] | None = None,
) -> BandwidthResult:
    """A sequential run at `mb_s`, with 1 s windows at `window_mb_s` where given."""
    return BandwidthResult(
        direction=direction,
        io_bytes=round(mb_s * BYTES_PER_MB * duration_s),
        runtime_s=duration_s,
        planned_s=duration_s,
        block_size_bytes=1 << 20,
        iodepth=8,
        windows=windows(window_mb_s or [], window_s=1),
    )


def stream_result(
    late_frames: int = 0, spec: StreamSpec = HD_STREAM, duration_s: float = 2.0, start_s: float = 0
) -> StreamResult:
    """A stream whose first `late_frames` frames completed a second after they were due."""
    frames = round(duration_s * spec.fps)
    completions = [
        Completion(
            time_ms=round(index * 1000 / spec.fps) + (1000 if index < late_frames else 1),
            latency_ns=2_000_000,
            block_bytes=spec.frame_bytes,
            offset_bytes=index * spec.frame_bytes,
        )
        for index in range(frames)
    ]
    stats = analyse(
        completions,
        fps=spec.fps,
        buffer_frames=3,
        frame_bytes=spec.frame_bytes,
        file_bytes=frames * spec.frame_bytes,
        run_ms=duration_s * 1000,
    )
    stream = ReplayStream(spec.label, spec, "stream-01.bin", frames * spec.frame_bytes, start_s)
    return StreamResult(stream, stats)


def replay_result(late_frames: int = 0, duration_s: float = 2.0) -> ReplayResult:
    return ReplayResult((stream_result(late_frames, duration_s=duration_s),), duration_s)


def capacity(max_streams: int, needed_streams: int, spec: StreamSpec = HD_STREAM) -> CapacityResult:
    return CapacityResult(spec, max_streams, 32, (), needed_streams=needed_streams)


def windows(mb_s: list[float], window_s: int = 10) -> tuple[ThroughputWindow, ...]:
    return tuple(
        ThroughputWindow(
            start_s=index * window_s,
            end_s=(index + 1) * window_s,
            io_bytes=round(rate * BYTES_PER_MB * window_s),
            mb_s=rate,
        )
        for index, rate in enumerate(mb_s)
    )


THROTTLE = ThrottleSettings(warmup_s=10, baseline_s=20, drop_fraction=0.2, min_duration_s=20)


def sustained_read(window_mb_s: list[float], window_s: int = 10) -> SustainedOutcome:
    """A sustained read whose windows moved `window_mb_s`; the first is its warm-up."""
    measured = windows(window_mb_s, window_s)
    duration_s = float(len(window_mb_s) * window_s)
    io_bytes = sum(window.io_bytes for window in measured)
    result = SustainedResult(
        direction="read",
        io_bytes=io_bytes,
        runtime_s=duration_s,
        planned_s=duration_s,
        block_size_bytes=4 << 20,
        iodepth=32,
        jobs=1,
        window_s=window_s,
        status_interval_s=1,
        windows=measured,
        throttle=detect_throttling(measured, THROTTLE),
        interrupted=False,
    )
    summary = ThermalSummary(backend=None, measures=None, interval_s=1.0)
    return SustainedOutcome(
        result=result, thermal=ThermalReport(summary=summary), temperature_reason="no sensor"
    )


def show_phase(name: str, late_frames: int = 0, duration_s: float = 2.0) -> PhaseResult:
    """A phase of the one-stream show, its first frames late as asked."""
    spec = next(phase for phase in ONE_HD_SHOW.show_phases if phase.name == name)
    plan = plan_phase(ONE_HD_SHOW, spec, duration_s / spec.duration_s)
    return PhaseResult(plan, replay_result(late_frames, duration_s))
