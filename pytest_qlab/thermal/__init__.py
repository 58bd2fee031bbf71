"""Drive temperature and the machine's thermal state, watched by a background thread during long
tests. No pytest here: the plugin starts a `ThermalMonitor` and asserts on its summary.

    monitor = ThermalMonitor.for_drive(probe_drive(volume))   # picks a source now
    if monitor.temperature_reason:                              # why no drive temperature
        ...
    with monitor:
        run_the_test()
    summary = monitor.summary()                                 # exact min/max/last, limits
    if summary.critical_failure(): fail(summary.critical_failure())
"""

from __future__ import annotations

from pytest_qlab.thermal.backend import Measure, ThermalBackend
from pytest_qlab.thermal.model import (
    PRESSURE_LEVELS,
    PressureLevel,
    ThermalPoint,
    ThermalReport,
    ThermalSample,
    ThermalSummary,
)
from pytest_qlab.thermal.monitor import DEFAULT_INTERVAL_S, ThermalMonitor
from pytest_qlab.thermal.recorder import DEFAULT_CAPACITY, DEFAULT_SERIES_POINTS
from pytest_qlab.thermal.selection import Selection, select_backend

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_INTERVAL_S",
    "DEFAULT_SERIES_POINTS",
    "PRESSURE_LEVELS",
    "Measure",
    "PressureLevel",
    "Selection",
    "ThermalBackend",
    "ThermalMonitor",
    "ThermalPoint",
    "ThermalReport",
    "ThermalSample",
    "ThermalSummary",
    "select_backend",
]
