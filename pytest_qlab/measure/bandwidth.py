"""Sequential bandwidth measurements: lay out a file, then read or write it flat out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from pytest_qlab.core.proof import WindowSpread
from pytest_qlab.core.rows import ReportRow, mb_s_text
from pytest_qlab.core.scale import FILE_BLOCK_BYTES
from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.throttle import ThroughputWindow, window_spread
from pytest_qlab.measure.windows import WindowBuilder
from pytest_qlab.safety.volume import VolumeError

SEQUENTIAL_BLOCK_BYTES = FILE_BLOCK_BYTES
SEQUENTIAL_IODEPTH = 8
"""Deep enough to saturate an NVMe drive with 1 MiB blocks, within macOS's 16 AIO per process."""
SEQUENTIAL_WINDOW_S = 1
"""The sequential read and write keep 1 s throughput windows: how steady the drive is."""


def layout_job(directory: Path, files: Sequence[tuple[str, int]]) -> FioJobFile:
    """Real sequential writes of whole files, one after another: reading fallocated or sparse
    holes would measure nothing."""
    return FioJobFile(
        directory=directory,
        jobs=tuple(
            FioJob(
                name=f"layout-{index:02d}",
                filename=file_name,
                rw="write",
                block_size_bytes=SEQUENTIAL_BLOCK_BYTES,
                size_bytes=size_bytes,
                iodepth=SEQUENTIAL_IODEPTH,
                end_fsync=True,
                stonewall=True,
            )
            for index, (file_name, size_bytes) in enumerate(files, start=1)
        ),
    )


def sequential_job(
    directory: Path,
    file_name: str,
    rw: Literal["read", "write"],
    size_bytes: int,
    duration_s: float,
) -> FioJobFile:
    """Large blocks at full queue depth for a fixed time, looping over the file."""
    return FioJobFile(
        directory=directory,
        jobs=(
            FioJob(
                name=f"sequential-{rw}",
                filename=file_name,
                rw=rw,
                block_size_bytes=SEQUENTIAL_BLOCK_BYTES,
                size_bytes=size_bytes,
                iodepth=SEQUENTIAL_IODEPTH,
                runtime_ms=round(duration_s * 1000),
                end_fsync=rw == "write",
            ),
        ),
    )


MINIMUM_RUNTIME_FRACTION = 0.9


def ran_full_time(runtime_s: float, planned_s: float) -> bool:
    """fio stopping well before the planned time means its figures are not a measurement."""
    return runtime_s >= MINIMUM_RUNTIME_FRACTION * planned_s


def early_stop_message(what: str, runtime_s: float, planned_s: float, figures: str) -> str:
    return (
        f"the {what} ran {runtime_s:.1f} s of the planned {planned_s:.1f} s: "
        f"fio stopped early, {figures} not a measurement"
    )


class BandwidthResult(BaseModel):
    """A read or write at full speed for a planned time: what fio moved, in how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    direction: Literal["read", "write"]
    io_bytes: int
    runtime_s: float
    """fio's own runtime for the job, the denominator of the rate."""
    planned_s: float
    block_size_bytes: int
    iodepth: int
    """Requests in flight over all jobs."""
    windows: tuple[ThroughputWindow, ...] = ()
    """Throughput windows from fio's status documents; empty where none were recorded."""

    @property
    def mb_s(self) -> float:
        return self.io_bytes / self.runtime_s / BYTES_PER_MB if self.runtime_s > 0 else 0.0

    @property
    def ran_full_time(self) -> bool:
        return ran_full_time(self.runtime_s, self.planned_s)

    def early_stop_message(self) -> str:
        return early_stop_message(
            f"sequential {self.direction}", self.runtime_s, self.planned_s, "the figure is"
        )

    def spread(self) -> WindowSpread | None:
        """How far the windows spread: the drive's own variability during the measurement."""
        return window_spread(self.windows, SEQUENTIAL_WINDOW_S)

    def report_row(self) -> ReportRow:
        return ReportRow(f"{self.direction} {mb_s_text(self.mb_s)}", "reported only")

    def metadata(self) -> dict[str, JsonValue]:
        prefix = self.direction
        spread = self.spread()
        return {
            f"{prefix}_mb_s": round(self.mb_s, 3),
            f"{prefix}_bytes": self.io_bytes,
            f"{prefix}_duration_s": round(self.runtime_s, 3),
            "planned_duration_s": round(self.planned_s, 3),
            "block_size_bytes": self.block_size_bytes,
            "iodepth": self.iodepth,
            "windows": [window.metadata() for window in self.windows],
            "window_spread": None if spread is None else spread.sentence(),
        }


@dataclass(frozen=True)
class LayoutResult:
    directory: Path
    files: tuple[tuple[str, int], ...]
    duration_s: float
    file_durations_s: tuple[float, ...] = ()
    """fio's runtime of each file's layout job (its fsync included), in file order."""

    @property
    def size_bytes(self) -> int:
        return sum(size for _, size in self.files)

    def size_of(self, file_name: str) -> int:
        return dict(self.files)[file_name]

    def duration_of(self, file_name: str) -> float:
        names = [name for name, _ in self.files]
        return self.file_durations_s[names.index(file_name)]


def lay_out(runner: FioRunner, directory: Path, files: Sequence[tuple[str, int]]) -> LayoutResult:
    """Write every file in full and check fio really wrote each byte."""
    run = runner.run(layout_job(directory, files), label="layout")
    durations = []
    for index, (file_name, size_bytes) in enumerate(files, start=1):
        written = run.result.job(f"layout-{index:02d}").write
        if written.io_bytes < size_bytes:
            raise VolumeError(
                f"laying out {directory / file_name} wrote {written.io_bytes} of {size_bytes} "
                "bytes; the volume may be full or failing"
            )
        durations.append(written.runtime_s)
    return LayoutResult(
        directory=directory,
        files=tuple(files),
        duration_s=run.wall_s,
        file_durations_s=tuple(durations),
    )


def measure_sequential(
    runner: FioRunner,
    directory: Path,
    file_name: str,
    direction: Literal["read", "write"],
    size_bytes: int,
    duration_s: float,
) -> BandwidthResult:
    """With 1 s windows from fio's status documents, so an unsteady drive shows as such."""
    job_file = sequential_job(directory, file_name, direction, size_bytes, duration_s)
    builder = WindowBuilder(direction, SEQUENTIAL_WINDOW_S, SEQUENTIAL_WINDOW_S)

    def on_status(status: FioResult) -> None:
        builder.add(status)

    run: FioRun = runner.run(
        job_file,
        label=f"sequential-{direction}",
        status_interval_s=SEQUENTIAL_WINDOW_S,
        on_status=on_status,
    )
    builder.finish()
    stats = getattr(run.result.job(f"sequential-{direction}"), direction)
    return BandwidthResult(
        direction=direction,
        io_bytes=stats.io_bytes,
        runtime_s=stats.runtime_s,
        planned_s=duration_s,
        block_size_bytes=SEQUENTIAL_BLOCK_BYTES,
        iodepth=SEQUENTIAL_IODEPTH,
        windows=tuple(builder.windows),
    )
