"""What each qualification mode asks of the drive: durations, file sizes and fio job specs.

Durations are given at full scale and compressed by --qlab-time-scale; no measurement is
shorter than MINIMUM_MEASUREMENT_S, below which fio's figures are noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.units import BYTES_PER_GIB, BYTES_PER_MIB

MINIMUM_MEASUREMENT_S = 1.0
MINIMUM_FILE_BYTES = 64 * BYTES_PER_MIB
SEQUENTIAL_BLOCK_BYTES = BYTES_PER_MIB
SEQUENTIAL_IODEPTH = 8
"""Deep enough to saturate an NVMe drive with 1 MiB blocks, within macOS's 16 AIO per process."""

SETUP_CHECK_BUDGET_S = 30.0
SETUP_READ_S = 8.0
SETUP_WRITE_S = 8.0
SETUP_READ_FILE_BYTES = 2 * BYTES_PER_GIB
"""Larger than any drive's DRAM cache, and laid out in about 2 s on a 1 GB/s drive."""
SETUP_WRITE_FILE_BYTES = BYTES_PER_GIB


def scaled_seconds(full_scale_s: float, time_scale: float) -> float:
    return max(MINIMUM_MEASUREMENT_S, full_scale_s * time_scale)


def scaled_bytes(full_scale_bytes: int, time_scale: float) -> int:
    scaled = max(MINIMUM_FILE_BYTES, int(full_scale_bytes * time_scale))
    return scaled - scaled % SEQUENTIAL_BLOCK_BYTES


@dataclass(frozen=True)
class SetupCheckPlan:
    time_scale: float
    read_file_bytes: int
    write_file_bytes: int
    read_duration_s: float
    write_duration_s: float

    @classmethod
    def for_scale(cls, time_scale: float) -> SetupCheckPlan:
        return cls(
            time_scale=time_scale,
            read_file_bytes=scaled_bytes(SETUP_READ_FILE_BYTES, time_scale),
            write_file_bytes=scaled_bytes(SETUP_WRITE_FILE_BYTES, time_scale),
            read_duration_s=scaled_seconds(SETUP_READ_S, time_scale),
            write_duration_s=scaled_seconds(SETUP_WRITE_S, time_scale),
        )

    @property
    def scratch_bytes(self) -> int:
        return self.read_file_bytes + self.write_file_bytes


def layout_job(directory: Path, file_name: str, size_bytes: int) -> FioJobFile:
    """A real sequential write of the whole file: never read fallocated or sparse holes."""
    return FioJobFile(
        directory=directory,
        jobs=(
            FioJob(
                name="layout",
                filename=file_name,
                rw="write",
                block_size_bytes=SEQUENTIAL_BLOCK_BYTES,
                size_bytes=size_bytes,
                iodepth=SEQUENTIAL_IODEPTH,
                end_fsync=True,
            ),
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
