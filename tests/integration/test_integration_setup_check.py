"""The setup check end to end with real fio on a folder that already holds the user's files: one
run, whose verdict, reports and clean-up are checked here, and which must leave every file the
volume held exactly as it was. The folder's name is full of what fio's job-file syntax reads
specially, so the run also proves fio never sees the volume's path."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_qlab.drive.advisories import ADVISORY_NAMES

if TYPE_CHECKING:
    from tests.integration.conftest import Entry, MainJob, MainJobRunner

pytestmark = pytest.mark.integration

SCRATCH_ROOT_NAME = ".pytest-qlab"
SETUP_CHECK_ITEMS = {
    "test_preshow_advisory",
    "test_sequential_write",
    "test_sequential_read",
    "test_normal_playback",
    "test_crossfade_playback",
    "test_max_stream_count",
}
VOLUME_NAME = "Show #2; main:A ${HOME}"
"""fio reads # and ; as comments, : as a file separator and ${...} as a variable: the volume's path
must never reach a job file."""
PAST_NS = 1_577_836_800_000_000_000
"""2020-01-01: any rewrite of a user's file during the run shows as a newer mtime."""
USER_FILES: dict[str, bytes] = {
    "notes.txt": b"cue list v3\n",
    "media/clip-01.mov": os.urandom(1024 * 1024),
    "media/stills/poster.png": os.urandom(4096),
    # Named like the scratch root and the files the setup check writes, to catch a sloppy
    # clean-up that matches by name instead of by our own marker and run folder.
    ".pytest-qlab.bak": b"not ours\n",
    ".pytest-qlab-old/keep.txt": b"not ours either\n",
    "sequential-read.bin": b"the user's, not the read test's\n",
    "stream-01.bin": b"the user's, not a replay stream\n",
}


@dataclass(frozen=True)
class VolumeRun:
    volume: Path
    job: MainJob
    before: dict[str, Entry]
    after: dict[str, Entry]


@pytest.fixture(scope="module")
def volume_run(
    tmp_path_factory: pytest.TempPathFactory,
    main_job_in: Callable[[Path], MainJobRunner],
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> VolumeRun:
    """One setup check at time scale 0.02 on a folder holding the user's files."""
    workdir = tmp_path_factory.mktemp("setup-check")
    volume = workdir / VOLUME_NAME
    for name, content in USER_FILES.items():
        path = volume / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (volume / "notes-link").symlink_to("notes.txt")
    for path in sorted(volume.rglob("*"), reverse=True):  # files before their folders
        os.utime(path, ns=(PAST_NS, PAST_NS), follow_symlinks=False)
    before = volume_snapshot(volume)

    job = main_job_in(workdir).run(volume)

    return VolumeRun(volume, job, before, volume_snapshot(volume))


def test_exit_code_follows_the_ready_flag(volume_run: VolumeRun) -> None:
    job = volume_run.job
    assert "Traceback" not in job.output, job.output
    assert job.returncode in (0, 1), job.output
    volume = job.volume_report()
    expected = 0 if volume["ready"] else 1
    assert job.returncode == expected, f"ready={volume['ready']}\n{job.output}"
    assert volume["rating"] in {"insufficient", "acceptable", "excellent"}
    if volume["ready"]:
        assert volume["rating"] in {"acceptable", "excellent"}
    assert job.report()["exitcode"] == job.returncode


def test_report_holds_the_measurements(volume_run: VolumeRun) -> None:
    job = volume_run.job
    document = job.report()
    qlab = document["qlab"]
    assert qlab["rehearsal"] is True
    assert qlab["time_scale"] == pytest.approx(0.02)
    assert qlab["interrupted"] is False
    volume = job.volume_report()
    assert volume["path"] == str(volume_run.volume.resolve())
    measurements = volume["measurements"]
    assert measurements["read_mb_s"] > 0, measurements
    assert measurements["write_mb_s"] > 0, measurements
    assert volume["rating_reasons"], "a verdict must say why"
    ran = {test["nodeid"].rsplit("::", 1)[-1].split("[", 1)[0] for test in document["tests"]}
    assert ran == SETUP_CHECK_ITEMS
    outcomes = job.outcomes()
    assert len(outcomes) == 6 + len(ADVISORY_NAMES), outcomes
    assert "error" not in outcomes.values(), job.output
    html = job.report_path().with_suffix(".html")
    assert html.is_file(), f"no HTML report next to {job.report_path()}"
    assert f"report: {html.resolve()}" in job.stdout


def test_scratch_and_control_files_are_gone(volume_run: VolumeRun) -> None:
    job = volume_run.job
    assert not (volume_run.volume / SCRATCH_ROOT_NAME).exists(), "scratch folder left behind"
    assert job.leftovers_in_system_temp() == [], "fio control files left in the temp folder"


def test_user_files_are_untouched(volume_run: VolumeRun) -> None:
    before, after = volume_run.before, volume_run.after
    assert set(after) == set(before), (
        f"added: {sorted(set(after) - set(before))}, removed: {sorted(set(before) - set(after))}"
    )
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert changed == {}, changed
    for name, content in USER_FILES.items():
        assert before[name].size_bytes == len(content)
        assert before[name].mtime_ns == PAST_NS
