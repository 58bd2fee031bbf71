"""Ctrl-C, SIGTERM and SIGHUP while fio is running: the run stops with pytest's "interrupted" exit
code, stops fio, removes its scratch and control files, and still writes a JSON report that says it
was interrupted. Only the pytest process is signalled; fio runs in its own session and must be
stopped by the plugin, never left behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import Entry, FioWatch, MainJobRunner

pytestmark = pytest.mark.integration

SCRATCH_ROOT_NAME = ".pytest-qlab"
SLOW_SCALE = "0.5"
"""Each measurement then lasts seconds: long enough to be caught with fio running."""
ONLY_ITEM = {
    "layout": "test_sequential_read",
    "sequential-read": "test_sequential_read",
    "normal_playback": "test_normal_playback",
}
"""For a job that comes after the write, only the item that starts it runs: fio gets there without
measuring what a whole run measures first. The write is the first job of every run."""
LIGHT_PROFILE = """\
name = "one HD stream"
[[streams]]
name = "hd"
codec = "422"
raster = "1920x1080"
fps = 25
"""
"""For the read and the replay: two small stream files instead of the default show's eight large
ones, so less is laid out before them. The layout itself is interrupted with the default show's,
which takes longest."""
LIGHT_PROFILE_JOBS = ("sequential-read", "normal_playback")


@pytest.mark.parametrize(
    ("signum", "job"),
    [
        (signal.SIGINT, "sequential-write"),
        (signal.SIGTERM, "sequential-write"),
        (signal.SIGHUP, "sequential-write"),
        (signal.SIGINT, "layout"),
        (signal.SIGTERM, "sequential-read"),
        (signal.SIGINT, "normal_playback"),
    ],
    ids=[
        "SIGINT-during-write",
        "SIGTERM-during-write",
        "SIGHUP-during-write",
        "SIGINT-during-layout",
        "SIGTERM-during-read",
        "SIGINT-during-replay",
    ],
)
def test_signal_stops_fio_cleans_up_and_reports(
    tmp_path: Path,
    main_job: MainJobRunner,
    fio_watch: FioWatch,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
    signum: signal.Signals,
    job: str,
) -> None:
    volume = tmp_path / "Show"
    (volume / "media").mkdir(parents=True)
    (volume / "media" / "clip-01.mov").write_bytes(os.urandom(256 * 1024))
    (volume / "cue list.txt").write_text("cue 1: house open\n", encoding="utf-8")
    before = volume_snapshot(volume)
    arguments = ["-k", ONLY_ITEM[job]] if job in ONLY_ITEM else []
    if job in LIGHT_PROFILE_JOBS:
        profile = tmp_path / "one-hd.toml"
        profile.write_text(LIGHT_PROFILE, encoding="utf-8")
        arguments += ["--qlab-profile", str(profile)]
    process = main_job.start(volume, *arguments, scale=SLOW_SCALE)
    try:
        fio_watch.wait_for(process, job)
        time.sleep(0.5)  # let fio get under way: files half-written or half-read
        fio_watch.running(process.pid)
        assert (volume / SCRATCH_ROOT_NAME).is_dir(), "fio runs but no scratch folder exists"
        os.kill(process.pid, signum)  # pytest only; fio is in a session of its own
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lingering = fio_watch.lingering((volume, main_job.system_temp))
    run = main_job.finished(process.returncode, stdout, stderr)

    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.output
    assert "Traceback" not in run.output, run.output
    assert lingering == [], "fio outlived the interrupted run"
    assert not (volume / SCRATCH_ROOT_NAME).exists(), "scratch folder left behind"
    assert volume_snapshot(volume) == before, "the user's files changed"
    assert run.leftovers_in_system_temp() == [], "fio control files left behind"
    assert f"INTERRUPTED by {signum.name}" in run.stdout

    document = run.report()
    assert document["exitcode"] == pytest.ExitCode.INTERRUPTED
    qlab = document["qlab"]
    assert qlab["interrupted"] is True
    assert signum.name in qlab["interrupted_by"]
    volume_report = run.volume_report()
    assert volume_report["interrupted"] is True
    assert volume_report["ready"] is False
