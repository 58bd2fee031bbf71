"""One run per volume, crashed runs' leftovers cleaned at the next start, and a scratch root that
is not a plain folder on the volume refused: real runs of the main job with real fio (DESIGN 7).

Preconditions use pytest.fail, not assert, so that a broken setup is not mistaken for the product
breaking its promise."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psutil  # type: ignore[import-untyped]
import pytest

from pytest_qlab.core.units import format_bytes

if TYPE_CHECKING:
    from tests.integration.conftest import Entry, FioWatch, MainJobRunner, Mounts

pytestmark = pytest.mark.integration

SCRATCH_ROOT_NAME = ".pytest-qlab"
MARKER_NAME = "pytest-qlab-scratch.json"
LOCK_NAME = "lock"
SLOW_SCALE = "0.5"
"""Each measurement then lasts seconds: long enough to be caught with fio running."""
HOLD_LOCK = """
import sys, time
from pytest_qlab.safety.volume_lock import VolumeLock
from pytest_qlab.safety.volume import resolve_target
VolumeLock(resolve_target(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(120)
"""


def _allocated_bytes(folder: Path) -> int:
    return sum(path.lstat().st_blocks * 512 for path in folder.rglob("*") if path.is_file())


def test_leftovers_of_a_crashed_run_are_cleaned_on_the_next_start(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    crashed = main_job.start(volume, scale=SLOW_SCALE)
    try:
        fio_watch.wait_for(crashed, "sequential-write")
        time.sleep(0.3)
    finally:
        crashed.kill()  # SIGKILL: no handler, no teardown, the crash the design speaks of
        crashed.communicate()
    fio_watch.kill_all()  # fio survives its parent's SIGKILL (own session); stop it here
    psutil.wait_procs(fio_watch.seen, timeout=5)
    leftovers = [path for path in (volume / SCRATCH_ROOT_NAME).glob("*") if path.is_dir()]
    if len(leftovers) != 1 or not (leftovers[0] / MARKER_NAME).is_file():
        pytest.fail(f"the crash did not leave one marked scratch folder: {leftovers}")
    if not (volume / SCRATCH_ROOT_NAME / LOCK_NAME).is_file():
        pytest.fail("the crash did not leave its lock file")
    leftover_bytes = _allocated_bytes(leftovers[0])

    job = main_job.run(volume, "-k", "test_sequential_write")

    assert not leftovers[0].exists(), "a crashed run's marked scratch folder was left on the volume"
    assert not (volume / SCRATCH_ROOT_NAME).exists()
    assert list(job.outcomes().values()) == ["passed"], job.output
    host = socket.gethostname()
    assert (
        f"removed 1 scratch folder left on {volume} by a run that was killed or lost power "
        f"({leftovers[0].name}: pid {crashed.pid} on host {host}): "
        f"{format_bytes(leftover_bytes)} reclaimed"
    ) in job.stdout
    assert f"took over the lock on {volume} from a run that ended without releasing it " in (
        job.stdout
    )
    assert f"(pid {crashed.pid} on host {host}, started " in job.stdout
    volume_report = job.volume_report()  # the report says it too, for whoever reads it later
    assert volume_report["reclaimed_bytes"] == leftover_bytes
    assert any("reclaimed" in line for line in volume_report["cleanup"])


def test_a_second_run_on_a_busy_volume_is_refused(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    """The second run says who holds the volume and exits with a usage error before testing;
    the first run goes on as if nothing happened."""
    volume = tmp_path / "Show"
    volume.mkdir()
    first = main_job.start(volume, "-k", "test_sequential_write", scale=SLOW_SCALE)
    try:
        fio_watch.wait_for(first, "sequential-write")
        second = main_job.run(volume, "-k", "test_sequential_write")
        first_still_running = first.poll() is None
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGINT)
            first.communicate(timeout=60)

    error = second.refusal()
    assert str(volume) in error
    assert f"is in use by another pytest-qlab run (pid {first.pid} on host " in error
    assert socket.gethostname() in error
    assert ", started " in error
    assert f"wait for it to finish, or stop it (kill {first.pid}) and start again" in error
    assert first_still_running, "the refusal must come while the first run is still testing"
    first_run = main_job.finished(first.returncode, stdout, stderr)
    assert list(first_run.outcomes().values()) == ["passed"], first_run.output
    assert "in use" not in first_run.output
    assert not (volume / SCRATCH_ROOT_NAME).exists()
    assert fio_watch.lingering((volume, main_job.system_temp)) == []


def test_the_stale_lock_of_a_killed_process_is_taken_over(
    tmp_path: Path, main_job: MainJobRunner
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(volume)], stdout=subprocess.PIPE, text=True
    )
    try:
        if holder.stdout is None or holder.stdout.readline().strip() != "held":
            pytest.fail("the helper did not take the lock")
    finally:
        holder.kill()  # SIGKILL: the lock file stays, the kernel drops the flock
        holder.communicate()
    if not (volume / SCRATCH_ROOT_NAME / LOCK_NAME).is_file():
        pytest.fail("the killed holder's lock file is gone")

    job = main_job.run(volume, "-k", "test_sequential_write")

    assert list(job.outcomes().values()) == ["passed"], job.output
    assert f"took over the lock on {volume} from a run that ended without releasing it " in (
        job.stdout
    )
    assert f"(pid {holder.pid} on host {socket.gethostname()}, started " in job.stdout
    assert sorted(volume.iterdir()) == [], "the taken-over lock was not removed at the end"


def test_a_foreign_folder_in_the_scratch_root_is_left_byte_identical(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    """Nothing without our marker is ever touched, even inside our own scratch root."""
    volume = tmp_path / "Show"
    root = volume / SCRATCH_ROOT_NAME
    foreign = root / "20260501-193000-1-abcd"
    foreign.mkdir(parents=True)
    (foreign / "show.mov").write_bytes(os.urandom(1 << 20))
    (foreign / "notes").mkdir()
    (foreign / "notes" / "cues.txt").write_text("cue 1: house lights\n", encoding="utf-8")
    (root / "readme.txt").write_text("not ours either\n", encoding="utf-8")
    before = volume_snapshot(foreign), sorted(root.iterdir())
    readme_before = (root / "readme.txt").read_bytes()

    job = main_job.run(volume, "-k", "test_sequential_write")

    assert (volume_snapshot(foreign), sorted(root.iterdir())) == before
    assert (root / "readme.txt").read_bytes() == readme_before
    assert list(job.outcomes().values()) == ["passed"], job.output
    assert f"left {foreign} alone: no pytest-qlab marker in it, so it may not be ours" in (
        job.stdout
    )
    assert f"left {root / 'readme.txt'} alone: a file pytest-qlab did not write" in job.stdout
    assert "removed" not in job.stdout


def test_a_symlinked_scratch_root_is_not_followed(tmp_path: Path, main_job: MainJobRunner) -> None:
    """A .pytest-qlab symlink must not send the test files to another folder (or drive): the
    measurement would be of the wrong place and the free-space check of the wrong volume."""
    volume = tmp_path / "Show"
    volume.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (volume / SCRATCH_ROOT_NAME).symlink_to(elsewhere)
    os.utime(elsewhere, ns=(0, 0))

    job = main_job.run(volume, "-k", "test_sequential_write")

    if not (volume / SCRATCH_ROOT_NAME).is_symlink():
        pytest.fail("the user's symlink was removed")
    assert "Traceback" not in job.output, job.output
    assert os.stat(elsewhere).st_mtime_ns == 0, "the run wrote through the symlink"
    assert job.returncode != 0
    error = job.refusal()
    assert f"{volume / SCRATCH_ROOT_NAME} is a symbolic link (to {elsewhere})" in error
    assert "remove the link" in error
    assert sorted(elsewhere.iterdir()) == []


@pytest.mark.needs_root
def test_a_scratch_root_on_another_device_is_refused(
    main_job: MainJobRunner, mounts: Mounts
) -> None:
    """A drive mounted at <volume>/.pytest-qlab would be measured instead of the volume."""
    mounted = mounts.tmpfs(f"Show/{SCRATCH_ROOT_NAME}", "16m")
    volume = mounted.parent

    job = main_job.run(volume, "-k", "test_sequential_write")

    error = job.refusal()
    assert f"{mounted} is on another device than the volume {volume}" in error
    assert "unmount or remove it" in error
    assert sorted(mounted.iterdir()) == [], "the run wrote onto the other device"


def test_a_folder_kept_with_keep_files_is_not_cleaned_as_a_leftover(
    tmp_path: Path, main_job: MainJobRunner
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    kept = main_job.run(volume, "-k", "test_sequential_write", "--qlab-keep-files")
    folders = [path for path in (volume / SCRATCH_ROOT_NAME).glob("*") if path.is_dir()]
    if len(folders) != 1:
        pytest.fail(f"--qlab-keep-files did not keep one scratch folder: {folders}\n{kept.output}")
    before = {path.name: path.stat().st_size for path in folders[0].iterdir()}

    job = main_job.run(volume, "-k", "test_sequential_write")

    assert {path.name: path.stat().st_size for path in folders[0].iterdir()} == before
    assert f"left {folders[0]} alone: kept on purpose with --qlab-keep-files" in job.stdout
    assert sorted(path.name for path in (volume / SCRATCH_ROOT_NAME).iterdir()) == [folders[0].name]
