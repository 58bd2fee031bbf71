from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import JsonValue

from pytest_qlab.core.proof import WindowSpread
from pytest_qlab.core.rows import ReportRow, mb_s_text
from pytest_qlab.fio.errors import FioInterruptedError
from pytest_qlab.fio.jobs import FioJob, FioJobFile, platform_engine
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import BandwidthResult, early_stop_message
from pytest_qlab.measure.probe import REFERENCE, ReadConfig, read_jobs
from pytest_qlab.measure.throttle import (
    ThrottleAnalysis,
    ThrottleSettings,
    ThroughputWindow,
    after_warmup,
    detect_throttling,
    lowest_window,
    window_spread,
)
from pytest_qlab.measure.windows import Direction, SustainedProgress, WindowBuilder, progress_point


class SustainedSchedule(Protocol):
    """What a sustained run needs of its mode's plan (modes.sustained.SustainedPlan)."""

    @property
    def duration_s(self) -> float: ...
    @property
    def window_s(self) -> int: ...
    @property
    def status_interval_s(self) -> int: ...
    @property
    def throttle(self) -> ThrottleSettings: ...
    def file_bytes(self, direction: Direction) -> int: ...


def sustained_job(
    directory: Path,
    file_name: str,
    direction: Direction,
    size_bytes: int,
    duration_s: float,
    config: ReadConfig = REFERENCE,
) -> FioJobFile:
    """Large blocks at full queue depth for a fixed time, looping over one file. A read uses
    the configuration the probe found fastest; a write always the reference 1 MiB x QD8."""
    name = f"sustained-{direction}"
    runtime_ms = round(duration_s * 1000)
    if direction == "read":
        engine = platform_engine()
        jobs = read_jobs(name, file_name, size_bytes, config, runtime_ms, engine=engine)
        return FioJobFile(directory=directory, jobs=jobs, ioengine=engine)
    return FioJobFile(
        directory=directory,
        jobs=(
            FioJob(
                name=name,
                filename=file_name,
                rw=direction,
                block_size_bytes=REFERENCE.block_size_bytes,
                size_bytes=size_bytes,
                iodepth=REFERENCE.iodepth,
                runtime_ms=runtime_ms,
                end_fsync=True,
            ),
        ),
    )


class SustainedResult(BandwidthResult):
    """One sustained read or write: the totals of any bandwidth run, its windows and the
    throttling verdict."""

    jobs: int = 1
    window_s: float
    status_interval_s: int
    windows: tuple[ThroughputWindow, ...]
    throttle: ThrottleAnalysis
    interrupted: bool = False

    @property
    def lowest_window(self) -> ThroughputWindow | None:
        """The slowest window after the warm-up: what the show would have had at worst."""
        return lowest_window(self.windows, self.throttle.settings.warmup_s)

    def spread(self) -> WindowSpread | None:
        """The windows that count, after the warm-up."""
        return window_spread(
            after_warmup(self.windows, self.throttle.settings.warmup_s), self.window_s
        )

    def early_stop_message(self) -> str:
        return early_stop_message(
            f"sustained {self.direction}", self.runtime_s, self.planned_s, "the figures are"
        )

    def report_row(self) -> ReportRow:
        configuration = ReadConfig(self.block_size_bytes, self.iodepth).label()
        measured = f"{self.direction} {mb_s_text(self.mb_s)} with {configuration}"
        lowest = self.lowest_window
        if lowest is not None:
            measured += f", lowest window {mb_s_text(lowest.mb_s)}"
        return ReportRow(measured, "reported only")

    def metadata(self) -> dict[str, JsonValue]:
        lowest = self.lowest_window
        return {
            **super().metadata(),
            "jobs": self.jobs,
            "configuration": ReadConfig(self.block_size_bytes, self.iodepth).label(),
            "window_s": self.window_s,
            "lowest_window_mb_s": None if lowest is None else round(lowest.mb_s, 3),
            "lowest_window_start_s": None if lowest is None else round(lowest.start_s, 3),
            **self.throttle.metadata(),
            "interrupted": self.interrupted,
            "windows": [window.metadata() for window in self.windows],
        }


class SustainedInterruptedError(FioInterruptedError):
    """Ctrl-C or SIGTERM during a sustained run; `measured` holds the windows until then."""

    def __init__(self, partial: FioRun | None, signal_name: str, measured: SustainedResult) -> None:
        super().__init__(partial, signal_name)
        self.measured = measured


ProgressCallback = Callable[[SustainedProgress], None]


def measure_sustained(
    runner: FioRunner,
    directory: Path,
    file_name: str,
    direction: Direction,
    plan: SustainedSchedule,
    *,
    on_progress: ProgressCallback | None = None,
    size_bytes: int | None = None,
    hang_timeout_s: float | None = None,
    config: ReadConfig = REFERENCE,
) -> SustainedResult:
    """Run the sustained job, building windows from fio's status documents as they arrive.

    A read needs `file_name` laid out first (bandwidth.lay_out); a write creates it. Raises
    FioHangError when fio stops moving data, SustainedInterruptedError (with what was measured)
    on Ctrl-C or SIGTERM.
    """
    file_bytes = plan.file_bytes(direction) if size_bytes is None else size_bytes
    job_file = sustained_job(directory, file_name, direction, file_bytes, plan.duration_s, config)
    builder = WindowBuilder(direction, plan.window_s, plan.status_interval_s)

    def on_status(status: FioResult) -> None:
        window = builder.add(status)
        if on_progress is not None:
            on_progress(builder.progress(plan.duration_s, window))

    try:
        run = runner.run(
            job_file,
            label=f"sustained-{direction}",
            status_interval_s=plan.status_interval_s,
            on_status=on_status,
            hang_timeout_s=hang_timeout_s,
        )
    except FioInterruptedError as interruption:
        if interruption.partial is not None:
            builder.add(interruption.partial.result)
        builder.finish()
        measured = _result(plan, direction, job_file, builder, None, interrupted=True)
        raise SustainedInterruptedError(
            interruption.partial, interruption.signal_name, measured
        ) from None
    builder.finish()
    return _result(plan, direction, job_file, builder, run.result, interrupted=False)


def _result(
    plan: SustainedSchedule,
    direction: Direction,
    job_file: FioJobFile,
    builder: WindowBuilder,
    final: FioResult | None,
    *,
    interrupted: bool,
) -> SustainedResult:
    runtime_s, io_bytes = (
        progress_point(final, direction)
        if final is not None
        else (builder.elapsed_s, builder.io_bytes)
    )
    return SustainedResult(
        direction=direction,
        io_bytes=io_bytes,
        runtime_s=runtime_s,
        planned_s=plan.duration_s,
        block_size_bytes=job_file.jobs[0].block_size_bytes,
        iodepth=sum(job.iodepth for job in job_file.jobs),
        jobs=len(job_file.jobs),
        window_s=plan.window_s,
        status_interval_s=plan.status_interval_s,
        windows=tuple(builder.windows),
        throttle=detect_throttling(builder.windows, plan.throttle),
        interrupted=interrupted,
    )
