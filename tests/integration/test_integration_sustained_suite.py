"""The max-sustained suite end to end with real fio at time scale 0.00125 (9 s per run): windows,
progress lines in a log, the rating fed by the lowest window, Ctrl-C keeping what was measured,
and throttling proven on a real slowdown: the main job runs in a cgroup v1 blkio group whose
read limit is lowered part-way through the sustained read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.conftest import (
    LONG_SUITES_PLANNED_S,
    LONG_SUITES_READ_LIMIT_BYTES_S,
    LONG_SUITES_SCALE,
    TWO_HD_PROFILE,
)

if TYPE_CHECKING:
    from tests.integration.conftest import (
        BlkioCgroup,
        FioWatch,
        LongSuitesRun,
        MainJob,
        MainJobRunner,
    )

pytestmark = pytest.mark.integration

STEADY_BYTES_S = 100_000_000
"""Well below what the disk does, so the run measures the limit, not the neighbours."""
SLOW_BYTES_S = 20_000_000
"""Below the profile's 30.5 MB/s normal playback: throttling and a missed requirement."""
SLOW_FROM_S = 4.5
_PROGRESS = re.compile(r"^qlab sustained (read|write) \[[^\]]+\]: \d+:\d\d of 0:09, ", re.M)


def _profile(tmp_path: Path) -> str:
    path = tmp_path / "two-hd.toml"
    path.write_text(TWO_HD_PROFILE, encoding="utf-8")
    return str(path)


def _args(tmp_path: Path, *only: str) -> list[str]:
    args = ["-m", "sustained", "--qlab-profile", _profile(tmp_path)]
    return [*args, "-k", only[0]] if only else args


def _run_in_group(
    main_job: MainJobRunner,
    volume: Path,
    group: BlkioCgroup,
    args: list[str],
    *,
    during: Any = None,
) -> MainJob:
    """The main job inside `group` from its first instruction; `during(process)` runs while
    it does (e.g. to lower the limit part-way)."""
    return main_job.run_while(
        volume,
        *args,
        during=during or (lambda _process: None),
        scale=LONG_SUITES_SCALE,
        preexec_fn=group.join,
    )


def _entry(job: MainJob, name: str) -> dict[str, Any]:
    (entry,) = [t for t in job.report()["tests"] if f"::{name}[" in t["nodeid"]]
    found: dict[str, Any] = entry
    return found


def _check_progress_lines(job: MainJob, direction: str) -> None:
    lines = [m for m in _PROGRESS.finditer(job.stdout) if m.group(1) == direction]
    assert len(lines) >= 3, f"no progress lines for the {direction} in a log:\n{job.stdout}"


@pytest.mark.timing
@pytest.mark.needs_root
def test_steady_sustained_suite_end_to_end(long_suites_run: LongSuitesRun) -> None:
    """Read and write at a steady limit (the long suites' shared run): every item reports,
    windows and thermal data are in the JSON, progress lines in the log, the lowest window rates
    the volume, and a steady drive is not called throttled."""
    job, volume = long_suites_run.job, long_suites_run.volume

    assert "Traceback" not in job.output, job.output
    outcomes = {
        test["nodeid"].rsplit("::", 1)[-1]: test["outcome"]
        for test in job.report()["tests"]
        if "test_sustained.py::" in test["nodeid"]
    }
    names = sorted(name.split("[")[0] for name in outcomes)
    assert names == [
        "test_sustained_read",
        "test_sustained_read",
        "test_sustained_read_temperature",
        "test_sustained_read_throttling",
        "test_sustained_write",
    ], outcomes
    read = job.test_entry("test_sustained_read", "acceptable")
    assert read["outcome"] == "passed", read
    metadata = read["metadata"]
    assert 0.9 * LONG_SUITES_PLANNED_S <= metadata["read_duration_s"] <= LONG_SUITES_PLANNED_S + 2
    assert 7 <= len(metadata["windows"]) <= 300  # 1 s windows over 9 s
    assert metadata["lowest_window_mb_s"] < LONG_SUITES_READ_LIMIT_BYTES_S / 1e6 * 1.15, (
        "the limit did not hold"
    )
    assert metadata["required_mb_s"] == pytest.approx(30.4, abs=0.2)
    assert set(metadata["thermal"]) == {"summary", "series"}
    assert _entry(job, "test_sustained_read_throttling")["outcome"] == "passed", job.stdout
    assert _entry(job, "test_sustained_read_throttling")["metadata"]["throttled"] is False
    temperature = _entry(job, "test_sustained_read_temperature")
    if temperature["outcome"] == "skipped":
        assert "no drive temperature: " in str(temperature), temperature
    write = _entry(job, "test_sustained_write")
    assert write["outcome"] == "passed", write
    assert write["metadata"]["write_mb_s"] > 0
    _check_progress_lines(job, "read")
    _check_progress_lines(job, "write")

    volume_report = job.volume_report()
    measurements = volume_report["measurements"]
    assert measurements["sustained_read_lowest_mb_s"] == metadata["lowest_window_mb_s"]
    assert measurements["sustained_read_throttled"] is False
    assert any(
        reason.startswith("sustained read (lowest window)")
        for reason in volume_report["rating_reasons"]
    ), volume_report["rating_reasons"]
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"


@pytest.mark.timing
@pytest.mark.needs_root
def test_a_read_slowing_down_part_way_is_throttling_and_fails_the_suite(
    tmp_path: Path,
    main_job: MainJobRunner,
    blkio_cgroup: BlkioCgroup,
    block_device: tuple[int, int],
    fio_watch: FioWatch,
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    blkio_cgroup.limit_read(block_device, STEADY_BYTES_S)

    def slow_down(process: subprocess.Popen[str]) -> None:
        fio_watch.wait_for(process, "sustained-read", timeout_s=120)
        time.sleep(SLOW_FROM_S)
        blkio_cgroup.limit_read(block_device, SLOW_BYTES_S)

    job = _run_in_group(main_job, volume, blkio_cgroup, _args(tmp_path, "read"), during=slow_down)

    assert job.returncode == pytest.ExitCode.TESTS_FAILED, job.output
    assert "Traceback" not in job.output, job.output
    throttling = _entry(job, "test_sustained_read_throttling")
    assert throttling["outcome"] == "failed", job.stdout
    message = throttling["call"]["longrepr"]
    assert "sustained read: throttling: throughput fell more than 20 % below the" in message
    assert "and did not recover" in message
    assert message in job.stdout, "the terminal shows the same sentence as the report"
    (episode,) = throttling["metadata"]["throttle_episodes"]
    assert SLOW_FROM_S - 3 <= episode["start_s"] <= SLOW_FROM_S + 4, episode
    assert episode["lowest_mb_s"] < 0.5 * throttling["metadata"]["baseline_mb_s"]

    acceptable = job.test_entry("test_sustained_read", "acceptable")
    assert acceptable["outcome"] == "failed"
    assert "is below the 30.5 MB/s Acceptable needs" in acceptable["call"]["longrepr"]
    assert "short by" in acceptable["call"]["longrepr"]

    volume_report = job.volume_report()
    assert volume_report["rating"] == "insufficient"
    assert volume_report["measurements"]["sustained_read_throttled"] is True
    assert any("throttling" in reason for reason in volume_report["rating_reasons"])
    assert "NOT READY" in job.stdout


def test_ctrl_c_during_the_sustained_read_keeps_what_was_measured(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    process = main_job.start(volume, *_args(tmp_path, "read"), scale=LONG_SUITES_SCALE)
    try:
        fio_watch.wait_for(process, "sustained-read", timeout_s=120)
        time.sleep(4)  # several windows measured, the read not over yet
        os.kill(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    job = main_job.finished(process.returncode, stdout, stderr)

    assert job.returncode == pytest.ExitCode.INTERRUPTED, job.output
    assert "Traceback" not in job.output, job.output
    assert fio_watch.lingering((volume, main_job.system_temp)) == []
    volume_report = job.volume_report()
    assert volume_report["interrupted"] is True
    assert volume_report["ready"] is False
    measurements = volume_report["measurements"]
    assert measurements["sustained_read_interrupted"] is True
    assert 3 <= measurements["sustained_read_duration_s"] < LONG_SUITES_PLANNED_S
    assert measurements["sustained_read_mb_s"] > 0
    assert measurements["sustained_read_lowest_mb_s"] > 0
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"
