"""The setup check's synthetic replays with real fio read regions of one read pool: fio's own
per-I/O logs show no offset of the pool read twice across the normal and the crossfade replay
when the pool holds both, and the distinct bytes the results report are what fio read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_qlab.core.profiles import CrossfadeSpec, ShowProfile, StreamSpec
from pytest_qlab.fio import FioRunner, locate_fio
from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.fio.results import FioRun
from pytest_qlab.fio.runner import StatusCallback
from pytest_qlab.measure.frames import read_completions
from pytest_qlab.modes.setup_check import SetupCheck, SetupCheckPlan
from tests.helpers import scenarios

pytestmark = pytest.mark.integration

HD = StreamSpec(name="HD", mb_s=10, fps=25, count=2)
PROFILE = ShowProfile(
    name="pool check", streams=(HD,), crossfade=CrossfadeSpec(streams=(HD, HD), duration_s=5)
)
TIME_SCALE = 0.05
"""One-second replays (60 MB together) from a 166 MiB pool: it holds both."""


class LogKeepingRunner(FioRunner):
    """The real runner, keeping each run's per-I/O logs before the replay removes them, with
    the file each job read."""

    def __init__(self, runner: FioRunner, keep: Path) -> None:
        super().__init__(runner.fio, runner.work_dir)
        self.keep = keep
        self.files: dict[str, dict[str, str]] = {}

    def run(
        self,
        job_file: FioJobFile,
        *,
        label: str,
        status_interval_s: int | None = None,
        on_status: StatusCallback | None = None,
        hang_timeout_s: float | None = None,
    ) -> FioRun:
        run = super().run(
            job_file,
            label=label,
            status_interval_s=status_interval_s,
            on_status=on_status,
            hang_timeout_s=hang_timeout_s,
        )
        prefixes = [job.lat_log_prefix for job in job_file.jobs if job.lat_log_prefix]
        if prefixes:
            shutil.copytree(Path(prefixes[0]).parent, self.keep / label)
            self.files[label] = {job.name: job.filename for job in job_file.jobs}
        return run


def _reads(runner: LogKeepingRunner, label: str) -> list[tuple[str, int, int]]:
    """(file, offset, bytes) of every I/O fio logged in the run `label`."""
    reads = []
    for job, file_name in runner.files[label].items():
        (log,) = (runner.keep / label).glob(f"{job}_lat.*.log")
        reads += [(file_name, c.offset_bytes, c.block_bytes) for c in read_completions(log)]
    return reads


def test_normal_and_crossfade_replays_read_no_offset_twice(tmp_path: Path) -> None:
    volume_dir = tmp_path / "volume"
    volume_dir.mkdir()
    volume = scenarios.target_volume(volume_dir)
    runner = LogKeepingRunner(FioRunner(locate_fio(), tmp_path / "control"), tmp_path / "logs")
    plan = SetupCheckPlan.for_profile(PROFILE, TIME_SCALE)
    check = SetupCheck(
        runner, scenarios.scratch_space(volume), plan, PROFILE, scenarios.volume_record(volume)
    )

    check.sequential_read()
    normal = check.normal_replay()
    crossfade = check.crossfade_replay()

    reads = _reads(runner, "normal_playback") + _reads(runner, "crossfade_peak")
    offsets = [(file_name, offset) for file_name, offset, _ in reads]
    assert len(reads) == normal.frames_read + crossfade.frames_read > 0
    assert len(set(offsets)) == len(offsets), "a frame of the pool was read twice"
    assert {file_name for file_name, _ in offsets} <= {"sequential-read.bin", "read-pool-01.bin"}
    bytes_read = sum(size for _, _, size in reads)
    assert normal.bytes_read + crossfade.bytes_read == bytes_read
    assert normal.distinct_bytes == normal.bytes_read
    assert crossfade.distinct_bytes == crossfade.bytes_read
    measurements = check.record.measurements()
    assert measurements["replays_distinct_bytes"] == bytes_read, "no byte shared by the two"
    assert measurements["read_pool_bytes"] == plan.pool_bytes
    layout_s = measurements["read_pool_layout_s"]
    assert isinstance(layout_s, float)
    assert layout_s > 0, "fio's time to lay out the pool's own file"
    for file_name, offset, size in reads:
        assert offset % 4096 == 0
        assert offset + size <= dict(plan.layout_files)[file_name]
