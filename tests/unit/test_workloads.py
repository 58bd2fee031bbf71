from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from pytest_qlab.units import BYTES_PER_GIB, BYTES_PER_MIB
from pytest_qlab.workloads import (
    MINIMUM_FILE_BYTES,
    SEQUENTIAL_BLOCK_BYTES,
    SEQUENTIAL_IODEPTH,
    SetupCheckPlan,
    layout_job,
    scaled_bytes,
    scaled_seconds,
    sequential_job,
)


def test_full_scale_plan() -> None:
    plan = SetupCheckPlan.for_scale(1)

    assert plan.read_duration_s == 8.0
    assert plan.write_duration_s == 8.0
    assert plan.read_file_bytes == 2 * BYTES_PER_GIB
    assert plan.write_file_bytes == BYTES_PER_GIB
    assert plan.scratch_bytes == 3 * BYTES_PER_GIB


def test_rehearsal_plan_clamps_to_minimums() -> None:
    plan = SetupCheckPlan.for_scale(0.01)

    assert plan.time_scale == 0.01
    assert plan.read_duration_s == 1.0
    assert plan.write_duration_s == 1.0
    assert plan.read_file_bytes == 64 * BYTES_PER_MIB
    assert plan.write_file_bytes == 64 * BYTES_PER_MIB
    assert MINIMUM_FILE_BYTES == 64 * BYTES_PER_MIB


@pytest.mark.parametrize("scale", [1.0, 0.7, 0.333, 0.25, 0.1, 0.01, 0.0001])
def test_file_sizes_are_whole_blocks_and_never_below_the_minimum(scale: float) -> None:
    plan = SetupCheckPlan.for_scale(scale)

    for size in (plan.read_file_bytes, plan.write_file_bytes):
        assert size % BYTES_PER_MIB == 0
        assert size % SEQUENTIAL_BLOCK_BYTES == 0
        assert size >= MINIMUM_FILE_BYTES
    assert plan.read_duration_s >= 1.0


def test_scaling_between_the_bounds() -> None:
    assert scaled_seconds(8.0, 0.5) == 4.0
    assert scaled_bytes(2 * BYTES_PER_GIB, 0.5) == BYTES_PER_GIB
    assert scaled_bytes(BYTES_PER_GIB, 0.3) == 307 * BYTES_PER_MIB


def test_layout_job_writes_the_whole_file_directly(tmp_path: Path) -> None:
    path = tmp_path / "read.bin"

    job_file = layout_job(path.parent, path.name, 64 * BYTES_PER_MIB)
    (job,) = job_file.jobs

    assert job.rw == "write"
    assert job.direct is True
    assert job.end_fsync is True
    assert job.runtime_ms is None, "a time-based layout could leave holes or loop"
    assert job_file.directory / job.filename == path
    assert job.size_bytes == 64 * BYTES_PER_MIB
    assert job.block_size_bytes == SEQUENTIAL_BLOCK_BYTES
    assert job.iodepth == SEQUENTIAL_IODEPTH


@pytest.mark.parametrize(("rw", "fsync"), [("read", False), ("write", True)])
def test_sequential_job(tmp_path: Path, rw: Literal["read", "write"], fsync: bool) -> None:
    path = tmp_path / f"{rw}.bin"

    (job,) = sequential_job(path.parent, path.name, rw, 128 * BYTES_PER_MIB, 8.0).jobs

    assert job.name == f"sequential-{rw}"
    assert job.rw == rw
    assert job.direct is True
    assert job.runtime_ms == 8000
    assert job.end_fsync is fsync
    assert job.size_bytes == 128 * BYTES_PER_MIB
    assert job.iodepth == SEQUENTIAL_IODEPTH
    assert "time_based=1" in job.render()


@pytest.mark.parametrize(("duration_s", "runtime_ms"), [(2.0004, 2000), (2.9996, 3000)])
def test_sequential_job_rounds_duration_to_milliseconds(
    tmp_path: Path, duration_s: float, runtime_ms: int
) -> None:
    (job,) = sequential_job(tmp_path, "r.bin", "read", MINIMUM_FILE_BYTES, duration_s).jobs

    assert job.runtime_ms == runtime_ms
