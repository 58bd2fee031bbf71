"""What fio hands back: pydantic models of its JSON output, exposing the figures in explicit
units, and FioRun, one invocation's documents with how it ended.

fio's `bw` is KiB/s; everything here is derived from `bw_bytes`, `io_bytes` and `runtime` (ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pytest_qlab.core.units import BYTES_PER_MB, NS_PER_MS

_LENIENT = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class LatencyStats(BaseModel):
    model_config = _LENIENT

    min_ns: int = Field(default=0, alias="min")
    max_ns: int = Field(default=0, alias="max")
    mean_ns: float = Field(default=0.0, alias="mean")
    samples: int = Field(default=0, alias="N")
    percentile_ns: dict[str, int] = Field(default_factory=dict, alias="percentile")

    def percentile_ms(self, percent: float) -> float | None:
        """fio keys percentiles as strings like "99.900000"; None when fio did not report it."""
        value = self.percentile_ns.get(f"{percent:.6f}")
        return None if value is None else value / NS_PER_MS

    @property
    def max_ms(self) -> float:
        return self.max_ns / NS_PER_MS

    @property
    def mean_ms(self) -> float:
        return self.mean_ns / NS_PER_MS


class DirectionStats(BaseModel):
    """Read or write figures of one job, cumulative since the job started."""

    model_config = _LENIENT

    io_bytes: int = 0
    bw_bytes: int = 0
    iops: float = 0.0
    runtime_ms: int = Field(default=0, alias="runtime")
    total_ios: int = 0
    clat: LatencyStats = Field(default_factory=LatencyStats, alias="clat_ns")
    lat: LatencyStats = Field(default_factory=LatencyStats, alias="lat_ns")

    @property
    def mb_s(self) -> float:
        return self.bw_bytes / BYTES_PER_MB

    @property
    def runtime_s(self) -> float:
        return self.runtime_ms / 1000


class JobResult(BaseModel):
    model_config = _LENIENT

    jobname: str
    groupid: int = 0
    error: int = 0
    elapsed_s: int = Field(default=0, alias="elapsed")
    job_options: dict[str, Any] = Field(default_factory=dict, alias="job options")
    read: DirectionStats = Field(default_factory=DirectionStats)
    write: DirectionStats = Field(default_factory=DirectionStats)


class FioResult(BaseModel):
    """One fio JSON document: the final report, or one status snapshot of a running job."""

    model_config = _LENIENT

    fio_version: str = Field(default="", alias="fio version")
    timestamp_ms: int = 0
    jobs: tuple[JobResult, ...] = ()

    def job(self, name: str) -> JobResult:
        for job in self.jobs:
            if job.jobname == name:
                return job
        raise KeyError(f"fio result has no job named {name!r}")

    @property
    def failed_jobs(self) -> tuple[JobResult, ...]:
        return tuple(job for job in self.jobs if job.error)

    @property
    def read_bytes(self) -> int:
        return sum(job.read.io_bytes for job in self.jobs)

    @property
    def write_bytes(self) -> int:
        return sum(job.write.io_bytes for job in self.jobs)


@dataclass(frozen=True)
class FioRun:
    """The outcome of one fio invocation."""

    result: FioResult
    """The last document fio wrote: the final report (or what it had when stopped)."""
    snapshots: tuple[FioResult, ...]
    """Status documents written before the final one (--status-interval), oldest first."""
    diagnostics: tuple[str, ...]
    exit_code: int
    wall_s: float
    output_file: Path
