"""The read-configuration probe's pure parts: candidates within macOS's AIO limit, jobs split
into regions, each configuration's jobs summed, the fastest chosen and described."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.core.units import BYTES_PER_GIB, BYTES_PER_MIB
from pytest_qlab.fio.results import FioResult
from pytest_qlab.measure.probe import (
    CANDIDATES,
    POSIXAIO_IODEPTH_PER_JOB,
    REFERENCE,
    ProbeResult,
    ReadConfig,
    probe_job_file,
    probe_s_for_scale,
    read_jobs,
    read_mb_s,
)
from pytest_qlab.measure.sustained import sustained_job

DEEP = ReadConfig(4 * BYTES_PER_MIB, 32)


def test_candidates_start_at_the_reference_and_stay_within_macos_aio_limits() -> None:
    assert CANDIDATES[0] == REFERENCE == ReadConfig(BYTES_PER_MIB, 8)
    assert len(set(CANDIDATES)) == len(CANDIDATES)
    for config in CANDIDATES:
        per_job = config.iodepth // config.jobs("posixaio")
        assert per_job <= POSIXAIO_IODEPTH_PER_JOB
        assert config.jobs("posixaio") * per_job == config.iodepth
    assert max(config.iodepth for config in CANDIDATES) <= 32, "90 AIO requests system-wide"


def test_a_deep_queue_is_one_job_on_linux_and_two_on_macos() -> None:
    assert DEEP.jobs("libaio") == 1
    assert DEEP.jobs("posixaio") == 2
    assert DEEP.label() == "4 MiB x QD32"
    assert ReadConfig(256 * 1024, 1).label() == "256 KiB x QD1"
    assert DEEP.metadata("posixaio") == {
        "block_size_bytes": 4 * BYTES_PER_MIB,
        "iodepth": 32,
        "jobs": 2,
        "configuration": "4 MiB x QD32",
    }


def test_split_jobs_read_equal_whole_block_regions_one_after_the_other() -> None:
    file_bytes = BYTES_PER_GIB + 3 * BYTES_PER_MIB

    first, second = read_jobs("r", "f.bin", file_bytes, DEEP, 5000, engine="posixaio")

    assert (first.name, second.name) == ("r.0", "r.1")
    assert first.size_bytes == second.size_bytes == 128 * 4 * BYTES_PER_MIB
    assert (first.offset_bytes, second.offset_bytes) == (0, first.size_bytes)
    assert second.offset_bytes + second.size_bytes <= file_bytes
    assert first.iodepth == second.iodepth == 16
    assert first.runtime_ms == second.runtime_ms == 5000


def test_a_file_too_small_for_the_blocks_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be split into 2 regions"):
        read_jobs("r", "f.bin", 6 * BYTES_PER_MIB, DEEP, 1000, engine="posixaio")


def test_the_probe_runs_candidates_one_after_the_other_in_one_fio_run(tmp_path: Path) -> None:
    job_file = probe_job_file(tmp_path, "f.bin", BYTES_PER_GIB, 2.5)

    text = job_file.render()

    groups = [job for job in job_file.jobs if job.stonewall]
    assert len(groups) == len(CANDIDATES)
    assert {job.runtime_ms for job in job_file.jobs} == {2500}
    assert text.count("stonewall") == len(CANDIDATES)
    assert all(job.rw == "read" and job.direct for job in job_file.jobs)


def _status(*jobs: tuple[str, int, int]) -> FioResult:
    return FioResult.model_validate(
        {
            "jobs": [
                {"jobname": name, "read": {"io_bytes": io_bytes, "runtime": runtime_ms}}
                for name, io_bytes, runtime_ms in jobs
            ]
        }
    )


def test_a_configuration_is_its_jobs_together_over_the_longest_runtime() -> None:
    result = _status(
        ("probe-0", 500_000_000, 1000),
        ("probe-1.0", 600_000_000, 1000),
        ("probe-1.1", 400_000_000, 1002),
        ("probe-10", 1, 1000),
    )

    assert read_mb_s("probe-0", result) == pytest.approx(500.0)
    assert read_mb_s("probe-1", result) == pytest.approx(1_000_000_000 / 1.002 / 1e6)
    assert read_mb_s("probe-2", result) == 0.0


def test_the_fastest_configuration_wins_and_is_described() -> None:
    probe = ProbeResult(
        figures=((REFERENCE, 700.0), (DEEP, 1100.0), (ReadConfig(BYTES_PER_MIB, 16), 900.0)),
        probe_s=5.0,
        engine="libaio",
    )

    assert probe.best == DEEP
    assert probe.sentence() == (
        "fastest read: 4 MiB x QD32 (1 MiB x QD8 700 MB/s, 4 MiB x QD32 1100 MB/s, "
        "1 MiB x QD16 900 MB/s; 5 s each)"
    )
    metadata = probe.metadata()
    assert metadata["probe_s"] == 5.0
    assert metadata["probe"][1] == {  # type: ignore[index]
        "block_size_bytes": 4 * BYTES_PER_MIB,
        "iodepth": 32,
        "jobs": 1,
        "configuration": "4 MiB x QD32",
        "read_mb_s": 1100.0,
    }


def test_the_probe_is_five_seconds_a_candidate_scaled_but_never_below_one() -> None:
    assert probe_s_for_scale(1.0) == 5.0
    assert probe_s_for_scale(0.5) == 2.5
    assert probe_s_for_scale(0.0025) == 1.0


def test_the_sustained_read_takes_the_probed_configuration_and_the_write_the_reference(
    tmp_path: Path,
) -> None:
    read = sustained_job(tmp_path, "r.bin", "read", BYTES_PER_GIB, 10, DEEP)
    write = sustained_job(tmp_path, "w.bin", "write", BYTES_PER_GIB, 10, DEEP)

    assert sum(job.iodepth for job in read.jobs) == 32
    assert {job.block_size_bytes for job in read.jobs} == {4 * BYTES_PER_MIB}
    (write_job,) = write.jobs
    assert (write_job.block_size_bytes, write_job.iodepth) == (BYTES_PER_MIB, 8)
