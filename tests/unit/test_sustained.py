"""Sustained read/write on recorded and synthetic status streams: windows from io_bytes deltas,
jobs summed, the plan's scaling, and measure_sustained end to end with a stand-in runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.units import BYTES_PER_GIB, BYTES_PER_MIB
from pytest_qlab.fio.errors import FioInterruptedError
from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.runner import FioBinary, FioRunner, StatusCallback
from pytest_qlab.fio.stream import split_documents
from pytest_qlab.measure.bandwidth import SEQUENTIAL_BLOCK_BYTES, SEQUENTIAL_IODEPTH
from pytest_qlab.measure.sustained import (
    SustainedInterruptedError,
    measure_sustained,
    sustained_job,
)
from pytest_qlab.measure.windows import SustainedProgress, WindowBuilder, progress_point
from pytest_qlab.modes.sustained import SustainedPlan

FIO_FIXTURES = Path(__file__).parents[1] / "fixtures" / "fio"


def _recorded() -> list[FioResult]:
    """Four status documents a second apart and the final report, one 1 MiB read job."""
    text = (FIO_FIXTURES / "status_interval_stream.json").read_text(encoding="utf-8")
    return [FioResult.model_validate(document) for document in split_documents(text).documents]


def _status(*jobs: tuple[int, int], direction: str = "read") -> FioResult:
    """A status document with one (io_bytes, runtime_ms) per job."""
    return FioResult.model_validate(
        {
            "jobs": [
                {"jobname": f"j{index}", direction: {"io_bytes": io_bytes, "runtime": runtime_ms}}
                for index, (io_bytes, runtime_ms) in enumerate(jobs)
            ]
        }
    )


def test_progress_point_uses_fio_runtime_and_bytes() -> None:
    first = _recorded()[0]

    assert progress_point(first, "read") == (0.891, 296747008)
    assert progress_point(first, "write") == (0.0, 0)


def test_progress_point_sums_the_jobs_and_takes_the_longest_runtime() -> None:
    status = _status((100, 1000), (300, 1002), (0, 0))

    assert progress_point(status, "read") == (1.002, 400)


def test_recorded_stream_in_one_second_windows() -> None:
    builder = WindowBuilder("read", window_s=1, status_interval_s=1)

    closed = [builder.add(status) for status in _recorded()]
    tail = builder.finish()

    assert [w is not None for w in closed] == [True, True, True, True, False]
    assert tail is None, "fio's final report 0.113 s after the last status is too short"
    assert [(w.start_s, w.end_s) for w in builder.windows] == [
        (0.0, 0.891),
        (0.891, 1.891),
        (1.891, 2.893),
        (2.893, 3.893),
    ]
    assert builder.windows[1].io_bytes == 813694976 - 296747008
    assert builder.windows[1].mb_s == pytest.approx(516.947968)
    assert builder.windows[2].mb_s == pytest.approx((1347420160 - 813694976) / 1.002 / 1e6)
    assert builder.elapsed_s == 4.006
    assert builder.io_bytes == 1961885696


def test_windows_longer_than_the_status_interval_span_whole_intervals() -> None:
    builder = WindowBuilder("read", window_s=2, status_interval_s=1)

    for status in _recorded():
        builder.add(status)

    assert [(w.start_s, w.end_s) for w in builder.windows] == [(0.0, 1.891), (1.891, 3.893)]
    assert builder.windows[1].io_bytes == 1903165440 - 813694976


def test_tail_of_at_least_half_a_window_is_kept() -> None:
    builder = WindowBuilder("write", window_s=10, status_interval_s=1)
    for second in range(1, 17):
        builder.add(_status((second * 1_000_000_000, second * 1000), direction="write"))

    tail = builder.finish()

    assert tail is not None
    assert [(w.start_s, w.end_s) for w in builder.windows] == [(0.0, 10.0), (10.0, 16.0)]
    assert tail.mb_s == pytest.approx(1000.0)


def test_repeated_or_empty_documents_change_nothing() -> None:
    builder = WindowBuilder("read", window_s=1, status_interval_s=1)

    assert builder.add(_status((0, 0))) is None
    assert builder.add(_status((500_000_000, 1000))) is not None
    assert builder.add(_status((500_000_000, 1000))) is None
    assert builder.add(_status((400_000_000, 1500))) is None, "bytes never go backwards"
    assert len(builder.windows) == 1


def test_two_jobs_are_summed_into_one_window() -> None:
    builder = WindowBuilder("read", window_s=1, status_interval_s=1)

    builder.add(_status((100_000_000, 1000), (200_000_000, 1000)))
    builder.add(_status((250_000_000, 2000), (450_000_000, 2000)))

    assert [w.mb_s for w in builder.windows] == pytest.approx([300.0, 400.0])


def test_progress_reports_now_rate_and_closed_window() -> None:
    builder = WindowBuilder("read", window_s=2, status_interval_s=1)
    statuses = _recorded()
    builder.add(statuses[0])
    builder.add(statuses[1])

    progress = builder.progress(planned_s=4.0, window=builder.windows[-1])

    assert progress.elapsed_s == 1.891
    assert progress.remaining_s == pytest.approx(2.109)
    assert progress.mb_s_now == pytest.approx(516.947968)
    assert progress.window == builder.windows[0]
    assert progress.windows == 1


def test_full_scale_plan() -> None:
    plan = SustainedPlan.for_scale(1.0)

    assert plan.duration_s == 7200.0
    assert plan.window_s == 10
    assert plan.status_interval_s == 1
    assert plan.throttle.warmup_s == 30.0
    assert plan.throttle.baseline_s == 120.0
    assert plan.throttle.min_duration_s == 30.0
    assert plan.throttle.drop_fraction == 0.2
    assert plan.read_file_bytes == 16 * BYTES_PER_GIB


def test_rehearsal_plan_keeps_whole_windows_and_at_least_two_per_judgement() -> None:
    plan = SustainedPlan.for_scale(0.01, drop_fraction=0.3, throttle_min_s=600)

    assert plan.duration_s == 72.0
    assert plan.window_s == 1
    assert plan.status_interval_s == 1
    assert plan.throttle.warmup_s == 1.0
    assert plan.throttle.baseline_s == 2.0
    assert plan.throttle.min_duration_s == 6.0
    assert plan.throttle.drop_fraction == 0.3
    assert plan.file_bytes("write") == plan.write_file_bytes


def test_status_interval_never_exceeds_the_window() -> None:
    assert SustainedPlan.for_scale(0.2, status_interval_s=5).status_interval_s == 2


def test_sustained_job_is_large_blocks_full_depth_time_based(tmp_path: Path) -> None:
    job_file = sustained_job(tmp_path, "sustained-write.bin", "write", 64 * BYTES_PER_MIB, 12.5)

    (job,) = job_file.jobs
    assert job_file.directory == tmp_path
    assert (job.name, job.rw, job.filename) == ("sustained-write", "write", "sustained-write.bin")
    assert job.block_size_bytes == SEQUENTIAL_BLOCK_BYTES
    assert job.iodepth == SEQUENTIAL_IODEPTH
    assert job.runtime_ms == 12500
    assert job.end_fsync is True
    assert sustained_job(tmp_path, "r.bin", "read", BYTES_PER_MIB, 1).jobs[0].end_fsync is False


class _ReplayRunner(FioRunner):
    """Plays recorded documents through on_status instead of running fio."""

    def __init__(self, documents: list[FioResult], interrupt_after: int | None = None) -> None:
        super().__init__(FioBinary(Path("/usr/bin/fio"), (3, 33), "fio-3.33"), Path("/unused"))
        self.documents = documents
        self.interrupt_after = interrupt_after
        self.calls: list[dict[str, Any]] = []

    def run(
        self,
        job_file: FioJobFile,
        *,
        label: str,
        status_interval_s: int | None = None,
        on_status: StatusCallback | None = None,
        hang_timeout_s: float | None = None,
    ) -> FioRun:
        self.calls.append({"label": label, "status_interval_s": status_interval_s})
        assert on_status is not None
        for index, document in enumerate(self.documents):
            if index == self.interrupt_after:
                partial = FioRun(document, (), (), 128, 1.0, Path("/unused/out.json"))
                raise FioInterruptedError(partial, "SIGTERM")
            on_status(document)
        return FioRun(self.documents[-1], (), (), 0, 4.1, Path("/unused/out.json"))


def test_measure_sustained_builds_windows_and_calls_back(tmp_path: Path) -> None:
    runner = _ReplayRunner(_recorded())
    plan = SustainedPlan.for_scale(0.01, duration_s=400)
    seen: list[SustainedProgress] = []

    result = measure_sustained(runner, tmp_path, "s.bin", "read", plan, on_progress=seen.append)

    assert runner.calls == [{"label": "sustained-read", "status_interval_s": 1}]
    assert [p.elapsed_s for p in seen] == [0.891, 1.891, 2.893, 3.893, 4.006]
    assert [p.window is not None for p in seen] == [True, True, True, True, False]
    assert len(result.windows) == 4
    assert result.io_bytes == 1961885696
    assert result.runtime_s == 4.006
    assert result.mb_s == pytest.approx(1961885696 / 4.006 / 1e6)
    assert result.ran_full_time
    lowest = result.lowest_window
    assert lowest is not None
    assert lowest.start_s >= plan.throttle.warmup_s - 0.05
    assert result.throttle.judged
    assert not result.throttle.throttled
    assert not result.interrupted


def test_sustained_metadata_is_flat_figures_plus_windows(tmp_path: Path) -> None:
    result = measure_sustained(
        _ReplayRunner(_recorded()),
        tmp_path,
        "s.bin",
        "read",
        SustainedPlan.for_scale(0.01, duration_s=400),
    )

    metadata = result.metadata()

    assert metadata["read_mb_s"] == round(result.mb_s, 3)
    assert metadata["read_bytes"] == 1961885696
    assert metadata["planned_duration_s"] == 4.0
    assert metadata["window_s"] == 1
    assert metadata["iodepth"] == SEQUENTIAL_IODEPTH
    assert metadata["lowest_window_mb_s"] == round(result.lowest_window.mb_s, 3)  # type: ignore[union-attr]
    assert metadata["throttled"] is False
    assert metadata["throttle_summary"] == result.throttle.sentence()
    assert metadata["interrupted"] is False
    windows = metadata["windows"]
    assert isinstance(windows, list)
    assert len(windows) == 4
    assert windows[1] == {"start_s": 0.891, "end_s": 1.891, "mb_s": 516.948}


def test_interruption_keeps_what_was_measured(tmp_path: Path) -> None:
    runner = _ReplayRunner(_recorded(), interrupt_after=2)

    with pytest.raises(SustainedInterruptedError) as caught:
        measure_sustained(
            runner, tmp_path, "s.bin", "read", SustainedPlan.for_scale(0.01, duration_s=400)
        )

    error = caught.value
    assert isinstance(error, KeyboardInterrupt), "pytest must still see the user's interruption"
    assert error.signal_name == "SIGTERM"
    measured = error.measured
    assert measured.interrupted
    assert len(measured.windows) == 3, "fio's last document on stopping closes a window too"
    assert measured.io_bytes == 1347420160
    assert not measured.ran_full_time
    assert "ran 2.9 s of the planned 4.0 s" in measured.early_stop_message()
