"""The sustained read's block size and queue depth, found by a short probe of the drive itself.

"Max sustained" is only a maximum if the drive was kept busy: one drive peaks at 1 MiB blocks
with 8 requests in flight, another only with 4 MiB blocks and 32. A few seconds per candidate,
before the two-hour read, find the configuration this drive reads fastest with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from pytest_qlab.core.units import BYTES_PER_MB, BYTES_PER_MIB
from pytest_qlab.fio.jobs import FioJob, FioJobFile, IoEngine, platform_engine
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import SEQUENTIAL_BLOCK_BYTES, SEQUENTIAL_IODEPTH

POSIXAIO_IODEPTH_PER_JOB = 16
"""macOS allows 16 AIO requests per process: deeper queues are split over more fio jobs."""
PROBE_S = 5.0
"""Per candidate at full scale: past the first second's queue filling, short beside 2 h."""
MINIMUM_PROBE_S = 1.0


@dataclass(frozen=True)
class ReadConfig:
    """Block size and requests in flight, split over jobs where the platform needs it."""

    block_size_bytes: int
    iodepth: int
    """Requests in flight in all, over all jobs."""

    def jobs(self, engine: IoEngine) -> int:
        per_job = POSIXAIO_IODEPTH_PER_JOB if engine == "posixaio" else self.iodepth
        return math.ceil(self.iodepth / per_job)

    def label(self) -> str:
        """As drive benchmarks print it: "4 MiB x QD32"."""
        size_kib = self.block_size_bytes // 1024
        size = f"{size_kib // 1024} MiB" if size_kib % 1024 == 0 else f"{size_kib} KiB"
        return f"{size} x QD{self.iodepth}"

    def metadata(self, engine: IoEngine) -> dict[str, JsonValue]:
        return {
            "block_size_bytes": self.block_size_bytes,
            "iodepth": self.iodepth,
            "jobs": self.jobs(engine),
            "configuration": self.label(),
        }


REFERENCE = ReadConfig(SEQUENTIAL_BLOCK_BYTES, SEQUENTIAL_IODEPTH)
"""1 MiB x QD8, the setup check's read (KDiskMark's SEQ1M Q8T1): where the probe starts."""
CANDIDATES = (
    REFERENCE,
    ReadConfig(BYTES_PER_MIB, 16),
    ReadConfig(BYTES_PER_MIB, 32),
    ReadConfig(4 * BYTES_PER_MIB, 8),
    ReadConfig(4 * BYTES_PER_MIB, 16),
    ReadConfig(4 * BYTES_PER_MIB, 32),
)
"""All within 32 requests: 2 jobs on macOS, well inside its 90 AIO requests system-wide."""


def read_jobs(
    name: str,
    file_name: str,
    file_bytes: int,
    config: ReadConfig,
    runtime_ms: int,
    *,
    engine: IoEngine,
    stonewall: bool = False,
) -> tuple[FioJob, ...]:
    """Jobs reading `file_name` with `config`: with several jobs each loops over its own equal
    region, so together they still read the file sequentially and never the same block twice."""
    jobs = config.jobs(engine)
    region_bytes = file_bytes // jobs // config.block_size_bytes * config.block_size_bytes
    if region_bytes <= 0:
        raise ValueError(
            f"a {file_bytes}-byte file cannot be split into {jobs} regions of whole "
            f"{config.block_size_bytes}-byte blocks"
        )
    return tuple(
        FioJob(
            name=name if jobs == 1 else f"{name}.{index}",
            filename=file_name,
            rw="read",
            block_size_bytes=config.block_size_bytes,
            size_bytes=region_bytes,
            offset_bytes=index * region_bytes,
            iodepth=config.iodepth // jobs,
            runtime_ms=runtime_ms,
            stonewall=stonewall and index == 0,
        )
        for index in range(jobs)
    )


def job_names_of(name: str, result: FioResult) -> tuple[str, ...]:
    """The jobs `read_jobs(name, ...)` made, as they appear in fio's report."""
    return tuple(
        job.jobname
        for job in result.jobs
        if job.jobname == name or job.jobname.startswith(f"{name}.")
    )


def read_mb_s(name: str, result: FioResult) -> float:
    """All of one configuration's jobs together: bytes read over the longest job's runtime."""
    stats = [result.job(job_name).read for job_name in job_names_of(name, result)]
    runtime_s = max((direction.runtime_s for direction in stats), default=0.0)
    if runtime_s <= 0:
        return 0.0
    return sum(direction.io_bytes for direction in stats) / runtime_s / BYTES_PER_MB


@dataclass(frozen=True)
class ProbeResult:
    """Each candidate's read MB/s, in the order tried, and the fastest."""

    figures: tuple[tuple[ReadConfig, float], ...]
    probe_s: float
    engine: IoEngine

    @property
    def best(self) -> ReadConfig:
        config, _ = max(self.figures, key=lambda figure: figure[1])
        return config

    def sentence(self) -> str:
        tried = ", ".join(f"{config.label()} {mb_s:.0f} MB/s" for config, mb_s in self.figures)
        return f"fastest read: {self.best.label()} ({tried}; {self.probe_s:g} s each)"

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "probe_s": self.probe_s,
            "probe": [
                {**config.metadata(self.engine), "read_mb_s": round(mb_s, 3)}
                for config, mb_s in self.figures
            ],
        }


def probe_s_for_scale(time_scale: float) -> float:
    return max(MINIMUM_PROBE_S, PROBE_S * time_scale)


def probe_job_file(
    directory: Path,
    file_name: str,
    file_bytes: int,
    probe_s: float,
    candidates: Sequence[ReadConfig] = CANDIDATES,
) -> FioJobFile:
    """One fio run, each candidate after the last (stonewall), so fio starts only once."""
    engine = platform_engine()
    runtime_ms = round(probe_s * 1000)
    jobs = tuple(
        job
        for index, config in enumerate(candidates)
        for job in read_jobs(
            f"probe-{index}",
            file_name,
            file_bytes,
            config,
            runtime_ms,
            engine=engine,
            stonewall=True,
        )
    )
    return FioJobFile(directory=directory, jobs=jobs, ioengine=engine)


def probe_read_config(
    runner: FioRunner,
    directory: Path,
    file_name: str,
    file_bytes: int,
    probe_s: float,
    candidates: Sequence[ReadConfig] = CANDIDATES,
) -> ProbeResult:
    """Read the laid-out `file_name` with each candidate for `probe_s`; the fastest wins."""
    job_file = probe_job_file(directory, file_name, file_bytes, probe_s, candidates)
    run = runner.run(job_file, label="read-probe")
    figures = tuple(
        (config, read_mb_s(f"probe-{index}", run.result)) for index, config in enumerate(candidates)
    )
    return ProbeResult(figures=figures, probe_s=probe_s, engine=job_file.ioengine)
