"""Live status, sustained read/write windows, fio killed or orphaned, and throttling detected on
a disk that slows down mid-run, all with real fio on a temp folder. Each run takes seconds."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil  # type: ignore[import-untyped]
import pytest

from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.fio.errors import FioKilledError, FioNotFoundError
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioBinary, FioRunner, locate_fio
from pytest_qlab.measure.bandwidth import lay_out
from pytest_qlab.measure.probe import (
    CANDIDATES,
    ReadConfig,
    probe_read_config,
    read_jobs,
    read_mb_s,
)
from pytest_qlab.measure.sustained import measure_sustained
from pytest_qlab.measure.windows import SustainedProgress
from pytest_qlab.modes.sustained import SustainedPlan

if TYPE_CHECKING:
    from tests.integration.conftest import BlkioCgroup, FioWatch

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FILE_BYTES = 64 * BYTES_PER_MIB
"""Small on purpose: the runs loop over it, so seconds of I/O never fill the disk."""
READ_FILE = "sustained-read.bin"


@pytest.fixture(scope="module")
def fio() -> FioBinary:
    try:
        return locate_fio()
    except FioNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    folder = tmp_path / "Show Drive"
    folder.mkdir()
    return folder


@pytest.fixture
def runner(fio: FioBinary, tmp_path: Path) -> FioRunner:
    return FioRunner(fio, tmp_path / "control")


def _our_fio() -> list[psutil.Process]:
    return [child for child in psutil.Process().children(recursive=True) if child.name() == "fio"]


def _read_job(volume: Path, runtime_ms: int) -> FioJobFile:
    return FioJobFile(
        directory=volume,
        jobs=(
            FioJob(
                name="read",
                filename=READ_FILE,
                rw="read",
                block_size_bytes=BYTES_PER_MIB,
                size_bytes=FILE_BYTES,
                iodepth=8,
                runtime_ms=runtime_ms,
            ),
        ),
    )


@pytest.mark.timing
def test_status_documents_arrive_while_fio_runs(runner: FioRunner, volume: Path) -> None:
    lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])
    arrivals: list[tuple[float, int]] = []

    def on_status(status: FioResult) -> None:
        arrivals.append((time.monotonic(), status.read_bytes))

    started = time.monotonic()
    run = runner.run(
        _read_job(volume, 3000), label="live", status_interval_s=1, on_status=on_status
    )
    finished = time.monotonic()

    during = [at for at, _ in arrivals if at < finished - 0.5]
    assert len(during) >= 2, f"status came only at the end: {arrivals} ({started=}, {finished=})"
    read_bytes = [read for _, read in arrivals]
    assert read_bytes == sorted(read_bytes)
    assert read_bytes[-1] == run.result.read_bytes > 0
    assert run.snapshots == ()


@pytest.mark.timing
@pytest.mark.parametrize("direction", ["read", "write"])
def test_sustained_run_produces_contiguous_windows_and_a_verdict(
    runner: FioRunner, volume: Path, direction: str
) -> None:
    if direction == "read":
        lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])
    plan = SustainedPlan.for_scale(0.01, duration_s=400)  # 4 s in 1 s windows
    progress: list[SustainedProgress] = []

    result = measure_sustained(
        runner,
        volume,
        READ_FILE if direction == "read" else "sustained-write.bin",
        "read" if direction == "read" else "write",
        plan,
        on_progress=progress.append,
        size_bytes=FILE_BYTES,
    )

    assert result.ran_full_time, result.early_stop_message()
    assert len(result.windows) >= 3, result.windows
    for before, after in zip(result.windows, result.windows[1:], strict=False):
        assert after.start_s == before.end_s, "windows must be contiguous"
    assert all(0.5 <= window.duration_s <= 2.0 for window in result.windows), result.windows
    assert all(window.mb_s > 0 for window in result.windows)
    assert sum(window.io_bytes for window in result.windows) <= result.io_bytes
    assert result.mb_s > 0
    assert result.lowest_window is not None
    assert result.throttle.judged, result.throttle.sentence()
    assert len(progress) >= 4
    assert [p.elapsed_s for p in progress] == sorted(p.elapsed_s for p in progress)
    assert sum(p.window is not None for p in progress) == len(result.windows)
    metadata = result.metadata()
    assert metadata[f"{direction}_mb_s"] == round(result.mb_s, 3)
    assert isinstance(metadata["windows"], list)
    assert len(metadata["windows"]) == len(result.windows)


def test_fio_sigkilled_mid_run_is_a_fio_error_naming_the_signal(
    runner: FioRunner, volume: Path
) -> None:
    lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])

    def kill_fio(_status: FioResult) -> None:
        for process in _our_fio():
            process.kill()

    started = time.monotonic()
    with pytest.raises(FioKilledError) as caught:
        runner.run(_read_job(volume, 30_000), label="kill", status_interval_s=1, on_status=kill_fio)

    assert time.monotonic() - started < 10
    assert caught.value.signal_name == "SIGKILL"
    assert str(caught.value).startswith("fio was killed by SIGKILL before it finished")
    assert caught.value.result is not None
    assert caught.value.result.read_bytes > 0
    assert _our_fio() == []


CHILD_RUNNER = """
import sys
from pathlib import Path
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.runner import FioRunner, locate_fio

control, directory = Path(sys.argv[1]), Path(sys.argv[2])
job = FioJob(name="orphan", filename=sys.argv[3], rw="read", block_size_bytes=1048576,
             size_bytes=int(sys.argv[4]), iodepth=8, runtime_ms=60_000)
FioRunner(locate_fio(), control).run(
    FioJobFile(directory=directory, jobs=(job,)), label="orphan", status_interval_s=1
)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_fio_does_not_outlive_a_sigkilled_parent(
    runner: FioRunner, volume: Path, tmp_path: Path, fio_watch: FioWatch
) -> None:
    """The crash the design speaks of: the process running fio is SIGKILLed, no handler runs.
    fio (and, being threads, its jobs) must stop reading the show drive at once."""
    lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD_RUNNER,
            str(tmp_path / "child-control"),
            str(volume),
            READ_FILE,
            str(FILE_BYTES),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not fio_watch.running(child.pid, "orphan"):
            assert child.poll() is None, f"the runner ended (exit {child.returncode}) early"
            assert time.monotonic() < deadline, "fio never started"
            time.sleep(0.05)
        time.sleep(1.0)  # fio's jobs are running now, not just starting
        child.send_signal(signal.SIGKILL)
        child.wait()

        assert fio_watch.lingering((volume,), grace_s=3.0) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()


SLOW_LIMIT_BYTES_S = 40_000_000
STEADY_LIMIT_BYTES_S = 200_000_000
SLOW_FROM_S = 5.0
RECOVER_AT_S = 8.0


@pytest.mark.timing
@pytest.mark.needs_root
def test_a_disk_slowing_down_mid_run_is_throttling_and_the_steady_part_is_not(
    runner: FioRunner,
    volume: Path,
    blkio_cgroup: BlkioCgroup,
    block_device: tuple[int, int],
) -> None:
    """fio reads under a cgroup v1 blkio limit: 200 MB/s, then 40 MB/s from 5 s to 8 s, then
    200 MB/s again. The steady limit keeps the baseline independent of whatever else the disk
    is doing; the drop must be one recovered episode, and nothing before it may be flagged."""
    lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])
    plan = SustainedPlan.for_scale(0.01, duration_s=1000)  # 10 s in 1 s windows
    # fio reads unthrottled until the first status document moves it into the group.
    plan = dataclasses.replace(plan, throttle=plan.throttle.model_copy(update={"warmup_s": 2.0}))
    state = {"joined": False, "slow": False, "recovered": False}

    def steer(progress: SustainedProgress) -> None:
        if not state["joined"]:
            blkio_cgroup.limit_read(block_device, STEADY_LIMIT_BYTES_S)
            for process in _our_fio():
                (blkio_cgroup.path / "cgroup.procs").write_text(str(process.pid), "ascii")
            state["joined"] = True
        if progress.elapsed_s >= SLOW_FROM_S and not state["slow"]:
            blkio_cgroup.limit_read(block_device, SLOW_LIMIT_BYTES_S)
            state["slow"] = True
        if progress.elapsed_s >= RECOVER_AT_S and not state["recovered"]:
            blkio_cgroup.limit_read(block_device, STEADY_LIMIT_BYTES_S)
            state["recovered"] = True

    result = measure_sustained(
        runner, volume, READ_FILE, "read", plan, on_progress=steer, size_bytes=FILE_BYTES
    )

    throttle = result.throttle
    summary = f"{throttle.sentence()}\n{[(w.start_s, round(w.mb_s)) for w in result.windows]}"
    assert throttle.baseline_mb_s is not None, summary
    if throttle.baseline_mb_s < 2 * SLOW_LIMIT_BYTES_S / 1e6:
        pytest.skip(f"the disk is too slow or too busy to show a slowdown: {summary}")
    assert throttle.baseline_mb_s < STEADY_LIMIT_BYTES_S / 1e6 * 1.15, "the limit did not hold"
    assert throttle.throttled, summary
    (episode,) = throttle.episodes
    assert SLOW_FROM_S - 0.5 <= episode.start_s <= SLOW_FROM_S + 1.5, summary
    assert RECOVER_AT_S - 0.5 <= episode.end_s <= RECOVER_AT_S + 1.5, summary
    assert episode.recovered, summary
    assert episode.lowest_mb_s < 0.5 * throttle.baseline_mb_s, summary
    assert throttle.sentence().startswith("throttling: throughput fell more than 20 %"), summary
    lowest = result.lowest_window
    assert lowest is not None
    assert lowest.mb_s == episode.lowest_mb_s
    assert result.metadata()["throttled"] is True


PROBE_S = 1.0


def test_the_probe_measures_every_candidate_and_the_sustained_read_uses_its_choice(
    runner: FioRunner, volume: Path
) -> None:
    """One fio run reads with each candidate in turn (each a figure of its own), and the
    sustained read that follows reads with the fastest: its block size and queue depth."""
    lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])

    started = time.monotonic()
    probe = probe_read_config(runner, volume, READ_FILE, FILE_BYTES, probe_s=PROBE_S)
    probe_wall_s = time.monotonic() - started
    plan = SustainedPlan.for_scale(0.001, duration_s=3000)  # 3 s
    result = measure_sustained(
        runner, volume, READ_FILE, "read", plan, size_bytes=FILE_BYTES, config=probe.best
    )

    assert [config for config, _ in probe.figures] == list(CANDIDATES)
    assert all(mb_s > 0 for _, mb_s in probe.figures), probe.sentence()
    assert probe_wall_s >= len(CANDIDATES) * PROBE_S, "the candidates did not run one by one"
    assert (result.block_size_bytes, result.iodepth) == (
        probe.best.block_size_bytes,
        probe.best.iodepth,
    )
    assert result.ran_full_time, result.early_stop_message()
    assert result.mb_s > 0


def test_a_deep_queue_on_macos_is_split_over_jobs_that_each_read_their_half(
    runner: FioRunner, volume: Path
) -> None:
    """macOS's posixaio allows 16 requests per process: 4 MiB x QD32 becomes two jobs of 16,
    each looping over its own half of the file. posixaio exists on Linux too, so the split
    runs here with real fio and the same engine."""
    lay_out(runner, volume, [(READ_FILE, FILE_BYTES)])
    config = ReadConfig(4 * BYTES_PER_MIB, 32)
    jobs = read_jobs("split", READ_FILE, FILE_BYTES, config, 2000, engine="posixaio")
    job_file = FioJobFile(directory=volume, jobs=jobs, ioengine="posixaio")

    run = runner.run(job_file, label="split")

    assert [job.jobname for job in run.result.jobs] == ["split.0", "split.1"]
    halves = [run.result.job(name).read for name in ("split.0", "split.1")]
    assert all(half.io_bytes > 0 for half in halves), halves
    assert run.result.job("split.1").job_options.get("offset") == str(FILE_BYTES // 2)
    total_bytes = sum(half.io_bytes for half in halves)
    longest_s = max(half.runtime_s for half in halves)
    assert read_mb_s("split", run.result) == pytest.approx(total_bytes / longest_s / 1e6)
