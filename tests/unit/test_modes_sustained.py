"""SustainedCheck against fio output recorded with --status-interval 1 (tests/fixtures/fio/
sustained and sustained-throttled, the latter held to 100 MB/s after 3 s): the layout, the
read probe and the read it configures, windows and throttling, thermal correlation, caching,
failures, early stops and interruption. No fio runs here."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_qlab.core.evidence import LayoutKind
from pytest_qlab.core.proof import Finding, Measurement
from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.core.verdict import RequirementKey
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.fio.errors import FioError, FioHangError, FioKilledError
from pytest_qlab.measure.probe import CANDIDATES, ReadConfig
from pytest_qlab.measure.sustained import SustainedInterruptedError
from pytest_qlab.modes.sustained import SustainedCheck, SustainedPlan
from pytest_qlab.thermal import ThermalMonitor
from tests.helpers import scenarios
from tests.helpers.fake_fio import FakeFioRunner, Fault, Hang, Interrupt, Kill, recording
from tests.helpers.mode_fakes import LineSink, no_sensor, progress_into, started_monitor

READ_FILE_BYTES = 163 * BYTES_PER_MIB
"""16 GiB at the 0.01 time scale, in whole MiB."""
PROBED = ReadConfig(4 * BYTES_PER_MIB, 16)
"""What the recorded probe found fastest on the recording disk."""


@dataclasses.dataclass
class Sustained:
    check: SustainedCheck
    runner: FakeFioRunner
    lines: LineSink


def _sustained(
    tmp_path: Path,
    *,
    scenario: str = "sustained",
    plan: SustainedPlan | None = None,
    faults: dict[str, Fault] | None = None,
    thermal: ThermalMonitor | None = None,
    counters: Iterator[DriveInfo] | None = None,
    hang_timeout_s: float | None = None,
) -> Sustained:
    volume_dir = tmp_path / "volume"
    volume_dir.mkdir()
    volume = scenarios.target_volume(volume_dir)
    runner = FakeFioRunner(tmp_path / "control", scenario, faults=faults)
    lines = LineSink()
    check = SustainedCheck(
        runner,
        scenarios.scratch_space(volume),
        plan or scenarios.sustained_plan(),
        scenarios.volume_record(volume),
        thermal or no_sensor(),
        progress=progress_into(lines),
        probe=None if counters is None else lambda: next(counters),
        hang_timeout_s=hang_timeout_s,
    )
    return Sustained(check, runner, lines)


def test_the_read_lays_out_its_file_probes_then_reads_with_the_fastest_configuration(
    tmp_path: Path,
) -> None:
    sustained = _sustained(tmp_path, hang_timeout_s=12.0)

    outcome = sustained.check.read()

    runner = sustained.runner
    assert runner.labels == ["layout", "read-probe", "sustained-read"]
    (layout,) = runner.only_call("layout").jobs
    assert (layout.filename, layout.rw, layout.size_bytes) == (
        "sustained-read.bin",
        "write",
        READ_FILE_BYTES,
    )
    probe_jobs = runner.only_call("read-probe").jobs
    assert [(job.block_size_bytes, job.iodepth) for job in probe_jobs] == [
        (config.block_size_bytes, config.iodepth) for config in CANDIDATES
    ]
    assert all(job.stonewall and job.runtime_ms == 1000 for job in probe_jobs), "one at a time"
    read = runner.only_call("sustained-read")
    assert (read.status_interval_s, read.watched, read.hang_timeout_s) == (1, True, 12.0)
    (job,) = read.jobs
    assert (job.filename, job.rw, job.runtime_ms) == ("sustained-read.bin", "read", 5000)
    assert (job.block_size_bytes, job.iodepth) == (PROBED.block_size_bytes, PROBED.iodepth)
    assert outcome.probe is not None
    assert outcome.probe.best == PROBED
    assert outcome.probe.sentence().startswith("fastest read: 4 MiB x QD16 (1 MiB x QD8 683 MB/s")


def test_the_read_returns_one_second_windows_from_the_status_documents(tmp_path: Path) -> None:
    sustained = _sustained(tmp_path)

    result = sustained.check.read().result

    final = recording("sustained", "sustained-read").final.job("sustained-read").read
    assert (result.io_bytes, result.runtime_s) == (final.io_bytes, 5.048)
    assert result.mb_s == pytest.approx(final.io_bytes / 5.048 / 1e6)
    assert [round(window.mb_s) for window in result.windows] == [1433, 1266, 1464, 1464, 1304]
    assert result.windows[0].start_s == 0.0
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(result.windows))
    lowest = result.lowest_window
    assert lowest is not None
    assert lowest.mb_s == pytest.approx(1304.428544), "the slowest window after the warm-up"
    assert (result.block_size_bytes, result.iodepth, result.jobs) == (4 * BYTES_PER_MIB, 16, 1)
    assert result.ran_full_time
    assert not result.interrupted
    assert result.throttle.judged
    assert not result.throttle.throttled


def test_the_read_shows_live_progress_from_each_document(tmp_path: Path) -> None:
    sustained = _sustained(tmp_path)

    sustained.check.read()

    read_lines = [line for line in sustained.lines.lines if "sustained read" in line]
    assert len(read_lines) >= 6, "one line per status document and the final report"
    assert "MB/s now" in read_lines[-1]


def test_the_write_writes_its_own_file_with_the_reference_configuration(tmp_path: Path) -> None:
    sustained = _sustained(tmp_path)

    outcome = sustained.check.write()

    assert sustained.runner.labels == ["sustained-write"], "no layout, no probe for a write"
    (job,) = sustained.runner.only_call("sustained-write").jobs
    assert (job.filename, job.rw, job.block_size_bytes, job.iodepth) == (
        "sustained-write.bin",
        "write",
        BYTES_PER_MIB,
        8,
    )
    assert job.end_fsync
    assert outcome.probe is None
    result = outcome.result
    assert result.direction == "write"
    assert len(result.windows) == 5
    assert result.runtime_s == 5.063
    assert result.ran_full_time
    assert not result.throttle.throttled
    assert result.throttle.brief_dips, "the recorded 2057 MB/s second is a brief dip"


def test_a_drive_held_to_a_third_of_its_speed_is_throttling_at_its_temperature(
    tmp_path: Path,
) -> None:
    monitor = started_monitor(71.0)
    counters = iter([DriveInfo(thermal_transitions=1), DriveInfo(thermal_transitions=4)])
    try:
        sustained = _sustained(
            tmp_path,
            scenario="sustained-throttled",
            plan=scenarios.sustained_plan(scenarios.THROTTLED_FULL_S),
            thermal=monitor,
            counters=counters,
        )
        outcome = sustained.check.read()
    finally:
        monitor.stop()

    result = outcome.result
    assert [round(window.mb_s) for window in result.windows] == [1069, 1334, 1120, 96, 101, 101, 17]
    assert result.throttle.throttled
    (episode,) = result.throttle.episodes
    assert episode.start_s == pytest.approx(3.0, abs=0.2)
    assert not episode.recovered
    assert outcome.episode_start_temperatures_c == (71.0,)
    assert outcome.counter_increases == {"thermal_transitions": 3}
    assert outcome.temperature_reason is None
    message = outcome.throttle_message()
    assert message.startswith("sustained read: throttling: throughput fell more than 20 %")
    assert "drive temperature when throttling began: 3 s: 71 °C" in message
    assert "thermal_transitions +3" in message
    assert outcome.thermal.summary.temperature_max_c == 71.0
    assert outcome.thermal.summary.samples == 1


def test_without_a_sensor_the_throttling_says_why_nothing_is_correlated(tmp_path: Path) -> None:
    sustained = _sustained(
        tmp_path,
        scenario="sustained-throttled",
        plan=scenarios.sustained_plan(scenarios.THROTTLED_FULL_S),
    )

    outcome = sustained.check.read()

    assert outcome.result.throttle.throttled
    assert outcome.episode_start_temperatures_c == (None,)
    assert "no drive temperature to correlate (no sensor in a unit test)" in (
        outcome.throttle_message()
    )


def test_read_and_write_each_run_once_and_return_the_same_outcome(tmp_path: Path) -> None:
    sustained = _sustained(tmp_path)

    first = (sustained.check.read(), sustained.check.write())
    second = (sustained.check.read(), sustained.check.write())

    assert first[0] is second[0]
    assert first[1] is second[1]
    assert sustained.runner.labels == ["layout", "read-probe", "sustained-read", "sustained-write"]


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [(Kill("SIGKILL", after_documents=2), FioKilledError), (Hang(after_documents=3), FioHangError)],
    ids=["killed", "hung"],
)
def test_a_failed_read_is_kept_and_raised_again_without_a_second_fio_run(
    tmp_path: Path, fault: Fault, error_type: type[FioError]
) -> None:
    sustained = _sustained(tmp_path, faults={"sustained-read": fault})

    with pytest.raises(error_type) as first:
        sustained.check.read()
    with pytest.raises(error_type) as second:
        sustained.check.read()

    assert second.value is first.value
    assert first.value.result is not None, "what fio had reported before it failed"
    assert first.value.result.read_bytes > 0
    assert sustained.runner.labels == ["layout", "read-probe", "sustained-read"]


def test_a_failed_probe_fails_the_read_before_it_starts(tmp_path: Path) -> None:
    sustained = _sustained(tmp_path, faults={"read-probe": Kill()})

    with pytest.raises(FioKilledError):
        sustained.check.read()
    with pytest.raises(FioKilledError):
        sustained.check.read()

    assert sustained.runner.labels == ["layout", "read-probe"]


def test_a_read_fio_ends_early_is_flagged_with_the_early_stop_message(tmp_path: Path) -> None:
    """The 5 s recording stands for fio stopping halfway through a planned 10 s read."""
    sustained = _sustained(tmp_path, plan=scenarios.sustained_plan(1000.0))

    result = sustained.check.read().result

    assert sustained.runner.only_call("sustained-read").jobs[0].runtime_ms == 10_000
    assert not result.ran_full_time
    assert result.early_stop_message() == (
        "the sustained read ran 5.0 s of the planned 10.0 s: fio stopped early, "
        "the figures are not a measurement"
    )


def test_an_interrupted_read_keeps_the_windows_measured_until_then(tmp_path: Path) -> None:
    sustained = _sustained(
        tmp_path, faults={"sustained-read": Interrupt(after_documents=3, signal_name="SIGTERM")}
    )

    with pytest.raises(SustainedInterruptedError) as caught:
        sustained.check.read()

    error = caught.value
    assert isinstance(error, KeyboardInterrupt)
    assert error.signal_name == "SIGTERM"
    measured = error.measured
    assert measured.interrupted
    status = recording("sustained", "sustained-read").documents
    assert measured.io_bytes == status[3].job("sustained-read").read.io_bytes
    assert len(measured.windows) == 4, "three delivered documents and fio's last on stopping"
    assert not measured.ran_full_time
    assert measured.early_stop_message().startswith("the sustained read ran 3.9 s of the planned")
    assert sustained.lines.lines[-1].startswith("qlab sustained read"), "progress finished"


def test_the_read_and_the_write_are_recorded_in_their_typed_fields(tmp_path: Path) -> None:
    """The rating reads the sustained read's lowest window from the record; the probe and the
    layout are recorded beside it for the JSON report."""
    check = _sustained(tmp_path).check
    record = check.record

    read = check.read()
    write = check.write()

    assert record.sustained_read is read
    assert record.sustained_write is write
    assert record.read_probe is not None
    assert record.read_probe.best == PROBED
    assert [layout.size_bytes for layout in record.layouts[LayoutKind.SUSTAINED]] == [
        READ_FILE_BYTES
    ]
    lowest = read.result.lowest_window
    assert lowest is not None
    (figure,) = record.evidence().bandwidth
    assert (figure.measurement, figure.mb_s) == (Measurement.SUSTAINED_READ, lowest.mb_s)
    measurements = record.measurements()
    assert measurements["sustained_read_lowest_mb_s"] == round(lowest.mb_s, 3)
    assert measurements["sustained_read_configuration"] == PROBED.label()
    assert measurements["sustained_write_mb_s"] == round(write.result.mb_s, 3)


def test_a_throttled_read_is_a_finding_against_normal_playback(tmp_path: Path) -> None:
    check = _sustained(tmp_path, scenario="sustained-throttled").check

    outcome = check.read()

    findings = check.record.findings()[RequirementKey.NORMAL_PLAYBACK]
    assert findings == (Finding(Measurement.SUSTAINED_READ, outcome.throttle_message()),)
