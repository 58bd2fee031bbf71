"""DESIGN.md section 7 promises not kept yet, as strict expected failures: each turns into a failure
("XPASS(strict)") once the product keeps the promise, so the marker must then be removed.

Preconditions use pytest.fail, not assert, so that only the promise itself can be the expected
failure (`raises=AssertionError`)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil  # type: ignore[import-untyped]
import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import FioWatch, MainJobRunner

pytestmark = pytest.mark.integration

SCRATCH_ROOT_NAME = ".pytest-qlab"
MARKER_NAME = "pytest-qlab-scratch.json"
SLOW_SCALE = "0.5"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="DESIGN 7: leftovers of a crashed run are cleaned on the next start - not implemented",
)
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

    main_job.run(volume, "-k", "test_sequential_write")

    assert not leftovers[0].exists(), "a crashed run's marked scratch folder was left on the volume"
    assert not (volume / SCRATCH_ROOT_NAME).exists()


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="DESIGN 7: one run per volume at a time (lock) - not implemented",
)
def test_a_second_run_on_a_busy_volume_is_refused(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    first = main_job.start(volume, scale=SLOW_SCALE)
    try:
        fio_watch.wait_for(first, "sequential-write")
        second = main_job.run(volume, "-k", "test_sequential_write")
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGINT)
        first.communicate(timeout=60)

    error = second.refusal()
    assert str(volume) in error


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="volume.py ScratchSpace.create follows a .pytest-qlab symlink off the volume",
)
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
