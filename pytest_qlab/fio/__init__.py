"""The fio engine: job specs, runner and result models, usable without pytest."""

from __future__ import annotations

from pytest_qlab.fio.errors import FioError, FioInterruptedError, FioNotFoundError
from pytest_qlab.fio.jobs import FioJob, FioJobFile, platform_engine
from pytest_qlab.fio.results import DirectionStats, FioResult, JobResult, LatencyStats
from pytest_qlab.fio.runner import FioBinary, FioRun, FioRunner, locate_fio

__all__ = [
    "DirectionStats",
    "FioBinary",
    "FioError",
    "FioInterruptedError",
    "FioJob",
    "FioJobFile",
    "FioNotFoundError",
    "FioResult",
    "FioRun",
    "FioRunner",
    "JobResult",
    "LatencyStats",
    "locate_fio",
    "platform_engine",
]
