"""The real monitor on this machine's drive: the disk holding tmp_path, probed for real, watched
for a couple of seconds through whatever source it offers. On the project's VM (a virtio disk,
no hwmon) nothing is readable, and the reason must name the disk and say why; where a sensor
exists, the samples must be plausible temperatures at the requested cadence.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from pytest_qlab.drive import probe_drive
from pytest_qlab.thermal import ThermalMonitor, ThermalReport

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith(("linux", "darwin")), reason="reads this machine's own drive"
)
INTERVAL_S = 0.25
WATCH_S = 2.0


def test_monitor_on_the_drive_holding_tmp_path(tmp_path: Path) -> None:
    drive = probe_drive(tmp_path)

    started = time.monotonic()
    monitor = ThermalMonitor.for_drive(drive, interval_s=INTERVAL_S)
    selection_s = time.monotonic() - started
    with monitor:
        time.sleep(WATCH_S if monitor.backend is not None else 0.1)
    summary = monitor.summary()
    report = ThermalReport.model_validate_json(monitor.report().model_dump_json())

    assert selection_s < 60, "choosing a source must not hang the run"
    assert not monitor.running
    if monitor.backend is None:
        reason = monitor.unavailable_reason
        assert reason is not None
        where = drive.whole_disk or drive.device or str(drive.mount_point)
        assert where in reason, f"the reason must name the disk: {reason!r}"
        if drive.bus == "virtual":
            assert "has no temperature sensor of its own" in reason
            assert "virtual" in reason or "no drive of its own" in reason
        assert summary.unavailable_reason == reason
        assert summary.temperature_reason == reason
        assert (summary.samples, report.series) == (0, [])
        assert summary.describe() == f"no thermal readings: {reason}"
        return

    samples = monitor.samples()
    assert len(samples) >= 2, summary.describe()
    assert summary.samples == len(samples)
    elapsed = [sample.elapsed_s for sample in samples]
    assert elapsed == sorted(elapsed)
    assert elapsed[-1] <= monitor.elapsed_s()
    if monitor.backend.measures == "drive temperature":
        assert monitor.temperature_reason is None
        for sample in samples:
            assert sample.temperature_c is not None
            assert 5.0 < sample.temperature_c < 100.0, sample
            assert not sample.at_or_above_critical, f"the drive is critically hot: {sample}"
        assert summary.temperature_max_c is not None
        assert summary.temperature_min_c is not None
        assert summary.temperature_max_c - summary.temperature_min_c < 15.0  # in two seconds
    else:
        assert monitor.temperature_reason is not None
        assert summary.temperature_reason == monitor.temperature_reason
    assert len(report.series) == len(samples)
