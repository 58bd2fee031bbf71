from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from pytest_qlab.core.profiles import DEFAULT_PROFILE, CrossfadeSpec, ShowProfile, StreamSpec
from pytest_qlab.core.scale import (
    MINIMUM_FILE_BYTES,
    MINIMUM_MEASUREMENT_S,
    scaled_bytes,
    scaled_seconds,
)
from pytest_qlab.core.units import BYTES_PER_GIB, BYTES_PER_MIB
from pytest_qlab.measure.bandwidth import (
    SEQUENTIAL_BLOCK_BYTES,
    SEQUENTIAL_IODEPTH,
    layout_job,
    sequential_job,
)
from pytest_qlab.modes.setup_check import (
    CAPACITY_MAX_STREAMS,
    CAPACITY_PROBE_S,
    MINIMUM_FRAMES_PER_REGION,
    READ_POOL_EXTRA_BYTES,
    SETUP_READ_S,
    SETUP_REPLAY_S,
    SETUP_WRITE_S,
    SetupCheckPlan,
    minimum_regions_bytes,
    pool_file_name,
)


def test_full_scale_plan() -> None:
    plan = SetupCheckPlan.for_profile(DEFAULT_PROFILE, 1)

    assert plan.time_scale == 1
    assert plan.read_duration_s == SETUP_READ_S == 6.0
    assert plan.write_duration_s == SETUP_WRITE_S == 6.0
    assert plan.read_file_bytes == 2 * BYTES_PER_GIB
    assert plan.write_file_bytes == BYTES_PER_GIB
    assert plan.normal_duration_s == SETUP_REPLAY_S
    assert plan.crossfade_duration_s == DEFAULT_PROFILE.crossfade.duration_s
    assert plan.capacity_probe_s == CAPACITY_PROBE_S
    # The read test's 2 GiB file and 256 MiB more: a pool larger than any drive cache.
    assert plan.pool_extra_bytes == READ_POOL_EXTRA_BYTES
    assert plan.pool_bytes == 2 * BYTES_PER_GIB + 256 * BYTES_PER_MIB
    assert plan.layout_files == (
        ("sequential-read.bin", 2 * BYTES_PER_GIB),
        ("read-pool-01.bin", 256 * BYTES_PER_MIB),
    )


def test_full_scale_plan_fits_in_the_scratch_budget() -> None:
    """Every file, the capacity search's widest pool extension included: less than the
    128 MiB file per stream (32 for the capacity search) the replays once had."""
    plan = SetupCheckPlan.for_profile(DEFAULT_PROFILE, 1)
    heaviest = max(DEFAULT_PROFILE.streams, key=lambda stream: stream.mb_s_each)
    widest = minimum_regions_bytes((heaviest.model_copy(update={"count": CAPACITY_MAX_STREAMS}),))

    assert plan.scratch_bytes == plan.pool_bytes + plan.capacity_extra_bytes + BYTES_PER_GIB
    assert plan.pool_bytes + plan.capacity_extra_bytes >= widest
    laid_out = sum(size for _, size in plan.layout_files)
    assert plan.scratch_bytes >= laid_out + plan.write_file_bytes
    assert plan.scratch_bytes < 2 * BYTES_PER_GIB + BYTES_PER_GIB + 32 * 128 * BYTES_PER_MIB


def test_rehearsal_plan_clamps_to_minimums() -> None:
    plan = SetupCheckPlan.for_profile(DEFAULT_PROFILE, 0.01)

    assert plan.time_scale == 0.01
    assert plan.read_duration_s == MINIMUM_MEASUREMENT_S == 1.0
    assert plan.write_duration_s == 1.0
    assert plan.normal_duration_s == 1.0
    assert plan.crossfade_duration_s == 1.0
    assert plan.capacity_probe_s == 1.0
    assert plan.read_file_bytes == 64 * BYTES_PER_MIB
    assert plan.write_file_bytes == 64 * BYTES_PER_MIB
    assert MINIMUM_FILE_BYTES == 64 * BYTES_PER_MIB


def test_the_pool_holds_each_sets_minimum_regions_side_by_side() -> None:
    """At rehearsal scale 2.25 GiB scales below what 8 streams of 8 frames each need: the pool
    grows so no two streams of a replay read the same bytes."""
    plan = SetupCheckPlan.for_profile(DEFAULT_PROFILE, 0.01)
    crossfade = [s for s in DEFAULT_PROFILE.crossfade_streams for _ in range(s.count)]
    side_by_side = sum(s.frame_bytes * MINIMUM_FRAMES_PER_REGION for s in crossfade)

    assert plan.pool_bytes >= minimum_regions_bytes(DEFAULT_PROFILE.crossfade_streams)
    assert minimum_regions_bytes(DEFAULT_PROFILE.crossfade_streams) > side_by_side
    assert plan.pool_extra_bytes > MINIMUM_FILE_BYTES
    assert plan.pool_extra_bytes % SEQUENTIAL_BLOCK_BYTES == 0


def test_the_pool_is_the_read_file_and_one_more_whatever_the_sets() -> None:
    profile = ShowProfile(
        name="big crossfade",
        streams=(StreamSpec(mb_s=50, fps=25, count=2),),
        crossfade=CrossfadeSpec(streams=(StreamSpec(mb_s=50, fps=25, count=5),), duration_s=3),
    )

    plan = SetupCheckPlan.for_profile(profile, 1)

    assert plan.crossfade_duration_s == 3.0
    assert [name for name, _ in plan.layout_files] == ["sequential-read.bin", "read-pool-01.bin"]
    assert plan.capacity_extra_bytes == 0, "32 streams of 2 MB frames fit in 2.25 GiB"


@pytest.mark.parametrize("scale", [1.0, 0.7, 0.333, 0.25, 0.1, 0.01, 0.0001])
def test_file_sizes_are_whole_blocks_and_never_below_the_minimum(scale: float) -> None:
    plan = SetupCheckPlan.for_profile(DEFAULT_PROFILE, scale)

    for size in (plan.read_file_bytes, plan.write_file_bytes, plan.pool_extra_bytes):
        assert size % BYTES_PER_MIB == 0
        assert size % SEQUENTIAL_BLOCK_BYTES == 0
        assert size >= MINIMUM_FILE_BYTES
    for duration in (
        plan.read_duration_s,
        plan.write_duration_s,
        plan.normal_duration_s,
        plan.crossfade_duration_s,
        plan.capacity_probe_s,
    ):
        assert duration >= MINIMUM_MEASUREMENT_S


def test_scaling_between_the_bounds() -> None:
    assert scaled_seconds(8.0, 0.5) == 4.0
    assert scaled_seconds(8.0, 0.01) == MINIMUM_MEASUREMENT_S
    assert scaled_bytes(2 * BYTES_PER_GIB, 0.5) == BYTES_PER_GIB
    assert scaled_bytes(BYTES_PER_GIB, 0.3) == 307 * BYTES_PER_MIB
    assert scaled_bytes(BYTES_PER_GIB, 0.001) == MINIMUM_FILE_BYTES


def test_pool_file_names() -> None:
    assert pool_file_name(1) == "read-pool-01.bin"
    assert pool_file_name(12) == "read-pool-12.bin"


def test_layout_job_writes_each_whole_file_directly_one_after_another(tmp_path: Path) -> None:
    files = [("read.bin", 64 * BYTES_PER_MIB), ("stream-01.bin", 129 * BYTES_PER_MIB)]

    job_file = layout_job(tmp_path, files)

    assert job_file.directory == tmp_path
    assert [job.name for job in job_file.jobs] == ["layout-01", "layout-02"]
    assert [(job.filename, job.size_bytes) for job in job_file.jobs] == files
    for job in job_file.jobs:
        assert job.rw == "write"
        assert job.direct is True
        assert job.end_fsync is True
        assert job.stonewall is True, "files are written one after another, not concurrently"
        assert job.runtime_ms is None, "a time-based layout could leave holes or loop"
        assert job.rate_bytes_s is None
        assert job.block_size_bytes == SEQUENTIAL_BLOCK_BYTES
        assert job.iodepth == SEQUENTIAL_IODEPTH
    text = job_file.render()
    assert text.count("stonewall\n") == 2
    assert "direct=1" in text
    assert "time_based" not in text


def test_layout_job_for_the_plan_names_every_file(tmp_path: Path) -> None:
    plan = SetupCheckPlan.for_profile(DEFAULT_PROFILE, 0.01)

    job_file = layout_job(tmp_path, plan.layout_files)

    assert len(job_file.jobs) == 2
    assert tuple((job.filename, job.size_bytes) for job in job_file.jobs) == plan.layout_files


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
