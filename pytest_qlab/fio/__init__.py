"""The fio engine: job specs, runner and result models, usable without pytest."""

from __future__ import annotations

from pytest_qlab.fio.errors import (
    FioError,
    FioHangError,
    FioInterruptedError,
    FioKilledError,
    FioNotFoundError,
)
from pytest_qlab.fio.jobs import FioJob, FioJobFile, platform_engine
from pytest_qlab.fio.results import DirectionStats, FioResult, FioRun, JobResult, LatencyStats
from pytest_qlab.fio.runner import FioBinary, FioRunner, StatusCallback, locate_fio

__all__ = [
    "DirectionStats",
    "FioBinary",
    "FioError",
    "FioHangError",
    "FioInterruptedError",
    "FioJob",
    "FioJobFile",
    "FioKilledError",
    "FioNotFoundError",
    "FioResult",
    "FioRun",
    "FioRunner",
    "JobResult",
    "LatencyStats",
    "StatusCallback",
    "locate_fio",
    "platform_engine",
]
