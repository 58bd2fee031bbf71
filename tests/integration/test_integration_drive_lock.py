"""One run per drive: a second run on another folder of the same disk is refused while the first
measures, with real runs of the main job and real fio."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import FioWatch, MainJobRunner

pytestmark = pytest.mark.integration

SLOW_SCALE = "0.5"
"""The first run's write then lasts seconds: long enough for the second to start meanwhile."""


def test_a_second_run_on_another_folder_of_the_same_drive_is_refused(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    """Two folders of one disk: the second run would halve the first's figures and its own.
    It is refused before testing, naming the first run's folder and process; the first run
    goes on untouched and, once it ends, leaves no lock behind."""
    show, backup = tmp_path / "Show", tmp_path / "Backup"
    show.mkdir()
    backup.mkdir()
    first = main_job.start(show, "-k", "test_sequential_write", scale=SLOW_SCALE)
    try:
        fio_watch.wait_for(first, "sequential-write")
        second = main_job.run(backup, "-k", "test_sequential_write")
        first_still_running = first.poll() is None
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGINT)
            first.communicate(timeout=60)

    error = second.refusal()
    assert f"the drive holding {backup} (" in error
    assert f"is being measured by another pytest-qlab run on {show} (pid {first.pid} " in error
    assert socket.gethostname() in error
    assert "two runs on one drive measure each other" in error
    assert first_still_running, "the refusal must come while the first run is still testing"
    assert list(backup.iterdir()) == [], "the refused run wrote on its volume"
    first_run = main_job.finished(first.returncode, stdout, stderr)
    assert list(first_run.outcomes().values()) == ["passed"], first_run.output
    assert first_run.leftovers_in_system_temp() == [], "a drive lock was left in the temp folder"

    third = main_job.run(backup, "-k", "test_sequential_write")

    assert list(third.outcomes().values()) == ["passed"], third.output
