"""Durations and sizes at the run's time scale: --qlab-time-scale compresses both, and no
measurement is shorter than MINIMUM_MEASUREMENT_S, below which fio's figures are noise."""

from __future__ import annotations

from pytest_qlab.core.units import BYTES_PER_MIB

MINIMUM_MEASUREMENT_S = 1.0
MINIMUM_FILE_BYTES = 64 * BYTES_PER_MIB
FILE_BLOCK_BYTES = BYTES_PER_MIB
"""Test files are whole 1 MiB blocks, the sequential block size: every pass reads whole blocks."""


def scaled_seconds(full_scale_s: float, time_scale: float) -> float:
    return max(MINIMUM_MEASUREMENT_S, full_scale_s * time_scale)


def scaled_bytes(full_scale_bytes: int, time_scale: float) -> int:
    scaled = max(MINIMUM_FILE_BYTES, int(full_scale_bytes * time_scale))
    return scaled - scaled % FILE_BLOCK_BYTES
